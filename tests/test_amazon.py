"""Amazon 2018 -> D3 builder, on the hand-made fixture described in fixtures/amazon/README.md.
All expected values below were worked out by hand from that table."""

from __future__ import annotations

import calendar
import gzip
import json
from pathlib import Path

import pytest

from igd.amazon import AmazonConfig, build_amazon, clean_title
from igd.data import DataError, Sample, load_dataset

FIX = Path(__file__).parent / "fixtures" / "amazon"
REVIEWS, REVIEWS_GZ, META = FIX / "reviews.json", FIX / "reviews.json.gz", FIX / "meta.json"
SMALL = AmazonConfig(min_items=4)
CORE_HISTORY = (4, 0, 1, 2)  # B05, B01, B02, B03 by id


def utc(year: int, month: int, day: int) -> int:
    return calendar.timegm((year, month, day, 0, 0, 0))


def files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir())}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("amazon") / "d3"
    return out, build_amazon(REVIEWS, META, out, SMALL)


def test_gz_fixture_is_the_plain_fixture() -> None:
    assert gzip.decompress(REVIEWS_GZ.read_bytes()) == REVIEWS.read_bytes()


def test_report(built: tuple[Path, dict]) -> None:
    _, report = built
    assert (report["items"], report["users"], report["interactions"]) == (5, 5, 25)
    assert report["rows"] == {"train": 16, "valid": 2, "test": 2}
    assert report["window"] == {
        "start": "2016-10", "end": "2018-11", "min_items": 4, "target_met": True,
        "full_range": False,
        "tries": [{"start": "2017-10", "items": 0}, {"start": "2016-10", "items": 5}]}
    assert report["dropped"] == {
        "items_no_title": 1, "items_title_too_long": 1, "items_title_html": 1,
        "items_title_special_token": 0, "meta_duplicate_asin": 0,
        "reviews_item_without_valid_title": 4,  # U6 x B06-B08, U5 x B00
        "reviews_after_end": 1,                 # U9 on 2018-12-01
        "reviews_before_start": 5,              # U8 in 2015
        "reviews_k_core": 11}                   # 36 in the window, 25 kept
    assert report["duplicate_titles"] == 1 and report["duplicate_reviews_kept"] == 0


def test_output_files(built: tuple[Path, dict]) -> None:
    out, report = built
    # Item ids follow the sorted ASINs; unescaped, stripped, de-quoted titles; the duplicate
    # "Piano Bench" keeps two ids.
    assert (out / "info.txt").read_text(encoding="utf-8") == (
        "Red Guitar Strings\t0\nDrum Sticks & Brushes\t1\nPiano Bench\t2\nPiano Bench\t3\n"
        "Ukulele Tuner\t4\n")
    manifest = json.loads((out / "igd_dataset.json").read_text())
    assert manifest["builder"] == "amazon"
    assert manifest["window"] == report["window"] and manifest["dropped"] == report["dropped"]
    assert manifest["config"] == {"min_items": 4, "end": "2018-11", "start": "2017-10", "k": 5,
                                  "max_title_words": 20, "max_history": 10}
    assert set(manifest["source"]) == {"reviews", "meta"}
    assert manifest["fingerprint"] == report["fingerprint"]


def test_loads_with_load_dataset(built: tuple[Path, dict]) -> None:
    out, report = built
    ds = load_dataset(out)
    assert ds.layout == "d3" and ds.fingerprint == report["fingerprint"]
    assert ds.catalogue.duplicate_titles() == {"Piano Bench": (2, 3)}
    train, valid, test = ds.split("train"), ds.split("valid"), ds.split("test")
    # Only the core users: U6 (3 titled reviews), U7 (iterative k-core), U8 (before the
    # window) and U9 (after it) are gone.
    assert {s.user_id for split in (train, valid, test) for s in split} == {f"U{i}" for i in range(1, 6)}
    # Global chronological order: all B01 targets (Jan 2018), then B02, B03, then B04.
    assert [s.target for s in train] == [0] * 5 + [1] * 5 + [2] * 5 + [3]
    assert [s.user_id for s in train[:5]] == ["U1", "U2", "U3", "U4", "U5"]
    assert train[0] == Sample("U1", (4,), 0, utc(2018, 1, 1))
    assert train[15] == Sample("U1", CORE_HISTORY, 3, utc(2018, 7, 1))
    assert [(s.user_id, s.history, s.target) for s in valid] == [
        ("U2", CORE_HISTORY, 3), ("U3", CORE_HISTORY, 3)]
    assert [(s.user_id, s.history, s.target, s.timestamp) for s in test] == [
        ("U4", CORE_HISTORY, 3, utc(2018, 7, 4)),
        ("U5", CORE_HISTORY, 3, utc(2018, 11, 20))]  # the end month is inclusive
    assert ds.duplicate_rows == {"train": 0, "valid": 0, "test": 0}


def test_full_range_when_target_not_met(tmp_path: Path) -> None:
    report = build_amazon(REVIEWS, META, tmp_path / "d3", AmazonConfig(min_items=6))
    window = report["window"]
    assert [t["start"] for t in window["tries"]] == ["2017-10", "2016-10", "2015-10", "2014-10"]
    assert [t["items"] for t in window["tries"]] == [0, 5, 5, 5]
    assert (window["start"], window["target_met"], window["full_range"]) == ("2014-10", False, True)
    assert (report["items"], report["users"]) == (5, 6)  # U8 joins
    assert report["rows"] == {"train": 19, "valid": 2, "test": 3}
    assert report["dropped"]["reviews_before_start"] == 0


def test_deterministic_bytes(tmp_path: Path, built: tuple[Path, dict]) -> None:
    first, _ = built
    again = tmp_path / "again"
    build_amazon(REVIEWS, META, again, SMALL)
    assert files(again) == files(first)
    build_amazon(REVIEWS, META, again, SMALL)  # rebuilding in place gives the same bytes
    assert files(again) == files(first)


def test_gzip_equals_plain(tmp_path: Path, built: tuple[Path, dict]) -> None:
    plain, report = built
    gz_report = build_amazon(REVIEWS_GZ, META, tmp_path / "gz", SMALL)
    gz_files, plain_files = files(tmp_path / "gz"), files(plain)
    for name in ("info.txt", "train.csv", "valid.csv", "test.csv"):
        assert gz_files[name] == plain_files[name]
    assert gz_report["fingerprint"] == report["fingerprint"]


@pytest.mark.parametrize("raw, expected", [
    ("Drum Sticks &amp; Brushes", ("Drum Sticks & Brushes", "")),
    ("  Red Guitar Strings ", ("Red Guitar Strings", "")),
    ('"Piano Bench"', ("Piano Bench", "")),
    ("Caf&eacute; Songs &#39;n&#39; More", ("Café Songs 'n' More", "")),
    ("I <3 Music", ("I <3 Music", "")),
    ("Two\nLines", ("Two Lines", "")),
    (" ".join(["w"] * 20), (" ".join(["w"] * 20), "")),
    (" ".join(["w"] * 21), (None, "items_title_too_long")),
    ('<span class="a-size-medium a-color-secondary', (None, "items_title_html")),
    ("&lt;div&gt;Boxed Set&lt;/div&gt;", (None, "items_title_html")),
    ("", (None, "items_no_title")),
    ("X", (None, "items_no_title")),
    (None, (None, "items_no_title")),
    (["a", "list"], (None, "items_no_title")),
])
def test_clean_title(raw: object, expected: tuple[str | None, str]) -> None:
    assert clean_title(raw, 20) == expected


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


GOOD = REVIEWS.read_text(encoding="utf-8").splitlines()[0]


def test_malformed_json_line(tmp_path: Path) -> None:
    bad = write_lines(tmp_path / "bad.json", GOOD, '{"reviewerID": "U1", "asin": ')
    with pytest.raises(DataError) as err:
        build_amazon(bad, META, tmp_path / "out", SMALL)
    assert "bad.json:2:" in str(err.value) and "not valid JSON" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_missing_field(tmp_path: Path) -> None:
    line = json.loads(GOOD)
    del line["overall"]
    bad = write_lines(tmp_path / "reviews.json", GOOD, GOOD, json.dumps(line))
    with pytest.raises(DataError, match=r"reviews\.json:3: missing field 'overall'"):
        build_amazon(bad, META, tmp_path / "out", SMALL)
    meta = write_lines(tmp_path / "meta.json", '{"title": "No Asin"}')
    with pytest.raises(DataError, match=r"meta\.json:1: missing field 'asin'"):
        build_amazon(REVIEWS, meta, tmp_path / "out", SMALL)


def test_python_literal_lines_are_never_executed(tmp_path: Path) -> None:
    meta = write_lines(tmp_path / "meta.json", "{'asin': 'B01', 'title': __import__('os').getcwd()}")
    with pytest.raises(DataError, match=r"meta\.json:1: not valid JSON"):
        build_amazon(REVIEWS, meta, tmp_path / "out", SMALL)


def test_unreadable_inputs(tmp_path: Path) -> None:
    truncated = tmp_path / "reviews.json.gz"
    truncated.write_bytes(REVIEWS_GZ.read_bytes()[:60])
    with pytest.raises(DataError, match="reviews.json.gz.*re-download"):
        build_amazon(truncated, META, tmp_path / "out", SMALL)
    with pytest.raises(DataError, match="file does not exist"):
        build_amazon(tmp_path / "nope.json", META, tmp_path / "out", SMALL)
    with pytest.raises(DataError, match="no review of a titled item"):
        build_amazon(REVIEWS, write_lines(tmp_path / "m.json", '{"asin": "Z9", "title": "Zz"}'),
                     tmp_path / "out", SMALL)


@pytest.mark.parametrize("kwargs, field", [
    ({"min_items": 0}, "min_items"), ({"k": True}, "k"), ({"max_history": 2.5}, "max_history"),
    ({"max_title_words": -1}, "max_title_words"), ({"end": "2018-13"}, "end"),
    ({"start": "Oct 2017"}, "start"), ({"start": "2019-01"}, "start"),
])
def test_config_validation(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=rf"AmazonConfig\.{field} .*fix"):
        AmazonConfig(**kwargs)
