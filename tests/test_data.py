"""igd.data: D3 and MiniOneRec loading on tiny hand-written datasets, every parse error, and
the shared Amazon samples when they are present."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from igd.data import DataError, MissingSplitError, load_dataset, read_info

REPO = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = REPO.parent / "shared" / "data" / "amazon-d3-samples"

D3_COLUMNS = ["user_id", "item_asins", "item_asin", "history_item_id", "item_id",
              "history_item_title", "item_title", "history_rating", "rating",
              "history_timestamp", "timestamp"]
# Item 0's title holds a TAB (the id follows the LAST tab); items 1 and 2 share a title.
INFO = "Widget\tDeluxe\t0\nGadget\t1\nGadget\t2\nGizmo\t3\n"


def d3_row(user: str, history: list[int], target: int, timestamp: str = "1000") -> list[str]:
    return [user, str([f"A{i}" for i in history]), f"A{target}", str(history), str(target),
            str([f"t{i}" for i in history]), f"t{target}", str([5.0] * len(history)), "5.0",
            str([1] * len(history)), timestamp]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = D3_COLUMNS) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


TRAIN = [d3_row("u1", [0, 1], 3, "1546300800.0"), d3_row("u2", [], 2, "")]
VALID = [d3_row("u1", [0, 1, 3], 2, "1546300900")]
TEST = [d3_row("u2", [2], 0, "1546301000")] * 3  # the same row three times: 2 duplicates


def write_d3(root: Path, info: str = INFO, splits: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "info.txt").write_text(info, encoding="utf-8")
    if splits is None:
        splits = {"train": TRAIN, "valid": VALID, "test": TEST}
    for name, rows in splits.items():
        write_csv(root / f"{name}.csv", rows)
    return root


@pytest.fixture
def d3(tmp_path: Path) -> Path:
    return write_d3(tmp_path / "tiny")


# --- a valid D3 dataset ------------------------------------------------------------------

def test_titles_split_on_the_last_tab(d3):
    ds = load_dataset(d3)
    assert ds.layout == "d3"
    assert ds.catalogue.titles == ("Widget\tDeluxe", "Gadget", "Gadget", "Gizmo")
    assert ds.catalogue.sids is None


def test_title_to_ids_groups_duplicate_titles(d3):
    cat = load_dataset(d3).catalogue
    assert cat.title_to_ids == {"Widget\tDeluxe": (0,), "Gadget": (1, 2), "Gizmo": (3,)}
    assert cat.distinct_titles == ["Widget\tDeluxe", "Gadget", "Gizmo"]
    assert cat.duplicate_titles() == {"Gadget": (1, 2)}


def test_samples_keep_history_target_and_user(d3):
    ds = load_dataset(d3)
    assert [(s.user_id, s.history, s.target) for s in ds.split("train")] == [
        ("u1", (0, 1), 3), ("u2", (), 2)]
    assert [(s.history, s.target) for s in ds.split("valid")] == [((0, 1, 3), 2)]
    assert len(ds.split("test")) == 3


def test_timestamps_are_integer_seconds_or_none(d3):
    ds = load_dataset(d3)
    assert [s.timestamp for s in ds.split("train")] == [1546300800, None]
    assert ds.split("valid")[0].timestamp == 1546300900


def test_duplicate_rows_are_counted_per_split(d3):
    assert load_dataset(d3).duplicate_rows == {"train": 0, "valid": 0, "test": 2}


def test_name_is_the_directory_name(d3):
    assert load_dataset(d3).name == "tiny"


def test_fingerprint_is_stable_and_independent_of_the_location(d3, tmp_path):
    first = load_dataset(d3).fingerprint
    assert load_dataset(d3).fingerprint == first
    copy = shutil.copytree(d3, tmp_path / "elsewhere")
    assert load_dataset(copy).fingerprint == first


@pytest.mark.parametrize("name, old, new", [
    ("info.txt", b"Gizmo", b"Gizmx"),  # a title
    ("train.csv", b"5.0", b"4.0"),  # a rating the loader does not even read
    ("valid.csv", b"t3", b"t4"),
    ("test.csv", b"A0", b"B0"),
])
def test_fingerprint_changes_when_one_byte_changes(d3, name, old, new):
    before = load_dataset(d3).fingerprint
    path = d3 / name
    original = path.read_bytes()
    path.write_bytes(original.replace(old, new, 1))
    assert load_dataset(d3).fingerprint != before
    path.write_bytes(original)
    assert load_dataset(d3).fingerprint == before


def test_unknown_split_name_is_rejected(d3):
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        load_dataset(d3).split("dev")


# --- missing train split (the shared samples ship valid/test only) ------------------------

@pytest.fixture
def no_train(tmp_path: Path) -> Path:
    return write_d3(tmp_path / "valid-test-only", splits={"valid": VALID, "test": TEST[:1]})


def test_missing_train_split_points_to_train_on_valid(no_train):
    ds = load_dataset(no_train)
    with pytest.raises(MissingSplitError, match="--train-on-valid") as err:
        ds.split("train")
    assert "train.csv" in str(err.value) and "Fix:" in str(err.value)
    with pytest.raises(MissingSplitError, match="--train-on-valid"):
        ds.training_split_name()


def test_train_on_valid_uses_the_valid_split(no_train, d3):
    assert load_dataset(no_train).training_split_name(train_on_valid=True) == "valid"
    assert load_dataset(d3).training_split_name() == "train"


# --- MiniOneRec layout -------------------------------------------------------------------

MINIONEREC_COLUMNS = ["user_id", "history_item_title", "item_title", "history_item_id",
                      "item_id", "history_item_sid", "item_sid"]
MINIONEREC_INFO = "<a_1><b_2><c_3>\tGadget\t0\n<a_1><b_2><c_4>\tGizmo\t1\n<a_9><b_0><c_0>\tWidget\t2\n"


def test_minionerec_layout_is_detected_with_its_sids(tmp_path):
    root = tmp_path / "sid"
    root.mkdir()
    (root / "info.txt").write_text(MINIONEREC_INFO, encoding="utf-8")
    write_csv(root / "valid.csv", [
        ["1", "['Gadget']", "Gizmo", "[0]", "1", "['<a_1><b_2><c_3>']", "<a_1><b_2><c_4>"]],
        MINIONEREC_COLUMNS)
    ds = load_dataset(root)
    assert ds.layout == "minionerec"
    assert ds.catalogue.titles == ("Gadget", "Gizmo", "Widget")
    assert ds.catalogue.sids == ("<a_1><b_2><c_3>", "<a_1><b_2><c_4>", "<a_9><b_0><c_0>")
    assert [(s.history, s.target) for s in ds.split("valid")] == [((0,), 1)]


def test_minionerec_csv_needs_the_sid_columns(tmp_path):
    root = tmp_path / "sid"
    root.mkdir()
    (root / "info.txt").write_text(MINIONEREC_INFO, encoding="utf-8")
    write_csv(root / "valid.csv", [d3_row("u", [0], 1)])  # D3 columns: no *_sid
    assert_data_error(lambda: load_dataset(root), "valid.csv", 1, "history_item_sid")


def test_minionerec_line_without_sid_is_an_error(tmp_path):
    # The layout comes from the CSV headers (sid columns), never from how one line looks.
    root = tmp_path / "sid"
    root.mkdir()
    (root / "info.txt").write_text("<a_1><b_2><c_3>\tGadget\t0\nGizmo\t1\n", encoding="utf-8")
    write_csv(root / "valid.csv", [["1", "['Gadget']", "Gizmo", "[0]", "1", "['<a_1><b_2><c_3>']", "<a_1>"]],
              MINIONEREC_COLUMNS)
    assert_data_error(lambda: load_dataset(root), "info.txt", 2, "sid<TAB>title<TAB>id")
    assert read_info(root / "info.txt")[1] == "d3"  # info.txt alone: not every line has a sid


# --- parse errors: each names the file, the line and the fix ----------------------------

def assert_data_error(load, file_name: str, line: int | None, problem: str) -> str:
    with pytest.raises(DataError) as err:
        load()
    message = str(err.value)
    where = f"{file_name}:{line}:" if line is not None else f"{file_name}:"
    assert where in message, message
    assert problem in message, message
    assert "Fix:" in message, message
    return message


def test_row_with_wrong_field_count(tmp_path):
    root = write_d3(tmp_path / "ds", splits={"train": TRAIN})
    with open(root / "train.csv", "a", encoding="utf-8") as f:
        f.write("u3,[],A1,[],1,[],t1,[],5.0,[],1000,EXTRA\n")  # line 4: 12 fields
    assert_data_error(lambda: load_dataset(root), "train.csv", 4, "row has 12 fields, header has 11")


def test_missing_column(tmp_path):
    root = write_d3(tmp_path / "ds", splits={})
    header = [c for c in D3_COLUMNS if c != "item_id"]
    write_csv(root / "valid.csv", [[c for c, h in zip(VALID[0], D3_COLUMNS) if h != "item_id"]], header)
    assert_data_error(lambda: load_dataset(root), "valid.csv", 1, "missing column(s) item_id")


def test_list_cell_that_is_not_a_literal(tmp_path):
    row = d3_row("u2", [], 2)
    row[D3_COLUMNS.index("history_item_id")] = "[1, 2"
    root = write_d3(tmp_path / "ds", splits={"train": [TRAIN[0], row]})
    assert_data_error(lambda: load_dataset(root), "train.csv", 3, "not a Python list literal")


def test_list_cell_with_code_is_never_executed(tmp_path):
    sentinel = tmp_path / "executed"
    code = f"__import__('os').system('touch {sentinel}')"
    row = d3_row("u1", [0], 1)
    row[D3_COLUMNS.index("history_item_id")] = code
    root = write_d3(tmp_path / "ds", splits={"train": [row]})
    assert_data_error(lambda: load_dataset(root), "train.csv", 2, "not a Python list literal")
    assert not sentinel.exists()


@pytest.mark.parametrize("cell", ["[1.0, 2]", "['1']", "[True]", "3", "(1, 2)", "[[1]]"])
def test_list_cell_must_hold_integers(tmp_path, cell):
    row = d3_row("u1", [0], 1)
    row[D3_COLUMNS.index("history_item_id")] = cell
    root = write_d3(tmp_path / "ds", splits={"train": [TRAIN[0], row]})
    assert_data_error(lambda: load_dataset(root), "train.csv", 3, "must be a list of integers")


@pytest.mark.parametrize("row, problem", [
    (d3_row("u1", [0, 9], 1), "item id 9 is not in info.txt (0..3)"),  # history
    (d3_row("u1", [0], 4), "item id 4 is not in info.txt (0..3)"),  # target
    (d3_row("u1", [-1], 1), "item id -1 is not in info.txt (0..3)"),
])
def test_item_ids_must_exist_in_info(tmp_path, row, problem):
    root = write_d3(tmp_path / "ds", splits={"test": [TEST[0], row]})
    assert_data_error(lambda: load_dataset(root), "test.csv", 3, problem)


def test_target_that_is_not_an_integer(tmp_path):
    row = d3_row("u1", [0], 1)
    row[D3_COLUMNS.index("item_id")] = "one"
    root = write_d3(tmp_path / "ds", splits={"train": [row]})
    assert_data_error(lambda: load_dataset(root), "train.csv", 2, "item_id 'one' is not an integer")


@pytest.mark.parametrize("info, line, problem", [
    ("Widget\t0\nGadget 1\n", 2, "no TAB"),
    ("Widget\t0\nGadget\t1\nGizmo\t1\n", 3, "duplicate item id 1"),
    ("Widget\t0\nGadget\t1\nGizmo\t3\n", 3, "item id 3 is outside 0..2: id 2 is missing"),
    ("Widget\t-1\nGadget\t1\n", 1, "item id -1 is outside 0..1: id 0 is missing"),
    ("Widget\t0\nGadget\tone\n", 2, "item id 'one' is not an integer"),
])
def test_info_errors(tmp_path, info, line, problem):
    path = tmp_path / "info.txt"
    path.write_text(info, encoding="utf-8")
    assert_data_error(lambda: read_info(path), "info.txt", line, problem)


def test_empty_info(tmp_path):
    path = tmp_path / "info.txt"
    path.write_text("", encoding="utf-8")
    # An empty file has no line to point at: the message names the file and the fix.
    assert_data_error(lambda: read_info(path), "info.txt", None, "lists no items")


def test_info_errors_surface_through_load_dataset(tmp_path):
    root = write_d3(tmp_path / "ds", info="Widget\t0\nGadget 1\n", splits={"test": TEST})
    assert_data_error(lambda: load_dataset(root), "info.txt", 2, "no TAB")


def test_directory_without_info_or_splits(tmp_path):
    assert_data_error(lambda: load_dataset(tmp_path / "nope"), "nope", None, "does not exist")
    (tmp_path / "empty").mkdir()
    assert_data_error(lambda: load_dataset(tmp_path / "empty"), "info.txt", None, "missing info.txt")
    root = write_d3(tmp_path / "info-only", splits={})
    assert_data_error(lambda: load_dataset(root), "info-only", None, "no train.csv, valid.csv or test.csv")


# --- the shared Amazon samples (../shared/data/amazon-d3-samples), when present ----------

# From the README table of the samples: folder -> (layout, items, valid rows, test rows).
SHARED = {
    "industrial": ("d3", 3686, 4532, 4533),
    "office": ("d3", 3459, 4866, 4866),
    "cds-small": ("d3", 5841, 6156, 6157),
    "games-small": ("d3", 3858, 6142, 6142),
    "movies-small": ("d3", 2653, 2742, 2743),
    "industrial-with-semantic-ids": ("minionerec", 3686, 4532, 4533),
}
# README "Known defects": fully duplicated rows.
SHARED_DUPLICATE_TEST_ROWS = {"cds-small": 42, "games-small": 85}
needs_shared = pytest.mark.skipif(not SHARED_SAMPLES.is_dir(),
                                  reason=f"shared Amazon samples not found at {SHARED_SAMPLES}")


@needs_shared
def test_shared_samples_folders_are_all_covered():
    folders = {p.name for p in SHARED_SAMPLES.iterdir() if p.is_dir()}
    assert folders == set(SHARED) | {"toys-info-only"}


@needs_shared
@pytest.mark.parametrize("folder", sorted(SHARED))
def test_shared_sample_matches_its_readme(folder):
    layout, items, valid_rows, test_rows = SHARED[folder]
    ds = load_dataset(SHARED_SAMPLES / folder)
    assert ds.layout == layout
    assert len(ds.catalogue) == items
    assert (len(ds.split("valid")), len(ds.split("test"))) == (valid_rows, test_rows)
    assert "train" not in ds.splits
    assert ds.training_split_name(train_on_valid=True) == "valid"
    assert ds.duplicate_rows == {"valid": 0, "test": SHARED_DUPLICATE_TEST_ROWS.get(folder, 0)}
    if layout == "minionerec":
        assert all(re.fullmatch(r"<a_\d+><b_\d+><c_\d+>", sid) for sid in ds.catalogue.sids)


@needs_shared
def test_shared_cds_small_has_464_extra_ids_on_repeated_titles():
    cat = load_dataset(SHARED_SAMPLES / "cds-small").catalogue
    assert sum(len(ids) - 1 for ids in cat.duplicate_titles().values()) == 464


@needs_shared
def test_shared_toys_catalogue_only():
    catalogue, layout = read_info(SHARED_SAMPLES / "toys-info-only" / "info.txt")
    assert (layout, len(catalogue)) == ("d3", 11252)  # the paper's Toys catalogue (Table 1)
    assert any("\t" in t for t in catalogue.titles)  # titles with a TAB survive
    with pytest.raises(DataError, match="no train.csv, valid.csv or test.csv"):
        load_dataset(SHARED_SAMPLES / "toys-info-only")


# --- lazy loading (the app): splits parsed on first use ------------------------------------

def test_a_lazy_dataset_equals_the_eager_one(d3):
    lazy, eager = load_dataset(d3, lazy=True), load_dataset(d3)
    assert lazy.parsed_splits() == ()  # nothing parsed yet
    assert lazy.split("test") == eager.split("test") and lazy.parsed_splits() == ("test",)
    assert dict(lazy.duplicate_rows) == {"train": 0, "valid": 0, "test": 2}
    assert lazy == eager and lazy.fingerprint == eager.fingerprint and lazy.catalogue == eager.catalogue


def test_a_lazy_dataset_raises_a_bad_row_where_its_split_is_first_used(d3):
    bad = d3_row("u9", [0], 3)
    bad[3] = "[0, 99]"  # item 99 is not in info.txt (line 3 of train.csv)
    write_csv(d3 / "train.csv", [TRAIN[0], bad])
    with pytest.raises(DataError, match=r"train\.csv:3: item id 99 is not in info\.txt"):
        load_dataset(d3)
    lazy = load_dataset(d3, lazy=True)  # info.txt and test.csv are fine: usable for a history
    assert len(lazy.split("test")) == 3
    with pytest.raises(DataError, match=r"train\.csv:3: item id 99"):
        lazy.split("train")
    with pytest.raises(DataError, match=r"train\.csv:3"):  # raised again, not cached as empty
        dict(lazy.duplicate_rows)


def test_a_lazy_dataset_still_checks_headers_and_bytes_up_front(d3):
    write_csv(d3 / "valid.csv", VALID, header=[c for c in D3_COLUMNS if c != "item_id"])
    with pytest.raises(DataError, match=r"valid\.csv:1: missing column\(s\) item_id"):
        load_dataset(d3, lazy=True).split("valid")
    (d3 / "test.csv").write_bytes(b"\xff\xfe")
    with pytest.raises(DataError, match=r"test\.csv:1: not UTF-8"):
        load_dataset(d3, lazy=True)
