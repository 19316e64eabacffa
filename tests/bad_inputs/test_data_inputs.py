"""Issue 10, datasets: every bad input is a clear error, never a traceback, and nothing
stored changes.

Each corpus case damages a copy of the fruits dataset (tests/fruits.py) and runs it through
`igd.cli.main` (`igd stats`, or `igd train` where the failure is training-specific), then
checks: the exit code (2, or 0 for inputs that must be accepted such as a BOM or a `<3>`
title), that stderr names the offending file (and line) and says "Fix:", that no traceback
escaped, and that every file under the input folder has the same bytes as before. Further
down: `igd data` on awkward raw inputs, the manifest, and builds killed part-way.
"""

from __future__ import annotations

import ast
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from fruits import TINY, TITLES, write_dataset
from igd.cli import main
from igd.data import DataError, load_dataset, title_problem
from igd.prepare import MANIFEST, Interaction, chronological_split, clean_text, sliding_windows, write_d3

REPO = Path(__file__).resolve().parents[2]
FIX = REPO / "tests" / "fixtures" / "amazon"
DIGITS = "9" * 5000
BOM = b"\xef\xbb\xbf"


# --- helpers -------------------------------------------------------------------------------

def snapshot(root: Path) -> dict[str, bytes | None]:
    """Bytes of every file under root (None for folders): compared before and after a run."""
    if not root.exists():
        return {}
    if root.is_file():
        return {".": root.read_bytes()}
    return {str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
            for p in sorted(root.rglob("*"))}


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = main([str(a) for a in argv])
    except BaseException as err:  # a traceback escaping main() is the defect under test
        pytest.fail(f"igd {' '.join(map(str, argv))} raised {type(err).__name__}: {err}")
    out, err = capsys.readouterr()
    return code, out, err


def set_file(name: str, data: bytes | str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        path = root / name
        path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return mutate


def set_line(name: str, lineno: int, text: bytes | str) -> Callable[[Path], None]:
    """Replace physical line `lineno` (1-based) of a file."""
    def mutate(root: Path) -> None:
        path = root / name
        lines = path.read_bytes().split(b"\n")
        lines[lineno - 1] = text.encode("utf-8") if isinstance(text, str) else text
        path.write_bytes(b"\n".join(lines))
    return mutate


def train_row(history: str = "[1, 3]", target: str = "5", ts: str = "1000") -> Callable[[Path], None]:
    """Replace the first train.csv row (line 2) with these cells."""
    return set_line("train.csv", 2, f'u0,"{history}",{target},{ts}')


def replace_with_dir(name: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / name).unlink()
        (root / name).mkdir()
        (root / name / "keep.txt").write_text("not a dataset file\n")
    return mutate


def delete(*names: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        for name in names:
            (root / name).unlink()
    return mutate


def prepend(name: str, data: bytes) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / name).write_bytes(data + (root / name).read_bytes())
    return mutate


def info_lines(*titles: str) -> Callable[[Path], None]:
    """info.txt whose first lines carry these titles (ids 0..), the fruits for the rest."""
    rest = TITLES[len(titles):]
    return set_file("info.txt", "".join(f"{t}\t{i}\n" for i, t in enumerate([*titles, *rest])))


def titles_of(root: Path) -> tuple[str, ...]:
    return load_dataset(root).catalogue.titles


@dataclass(frozen=True)
class Case:
    mutate: Callable[[Path], None]
    where: str  # must appear in stderr: "info.txt:3", "train.csv", or "" for accepted inputs
    problem: str  # must appear in stderr (case-insensitive)
    command: str = "stats"  # stats | train | train-on-valid
    code: int = 2
    check: Callable[[Path], None] | None = None  # extra checks on an accepted dataset


def accepted(mutate: Callable[[Path], None], check: Callable[[Path], None] | None = None,
             command: str = "stats") -> Case:
    return Case(mutate, "", "", command, 0, check)


def check_titles(**expected: str) -> Callable[[Path], None]:
    def check(root: Path) -> None:
        titles = titles_of(root)
        for key, title in expected.items():
            assert titles[int(key[1:])] == title, titles[:3]
    return check


def with_layout(layout: str) -> Callable[[Path], None]:
    def check(root: Path) -> None:
        assert load_dataset(root).layout == layout
    return check


TRAIN_ROWS = 134  # fruits: 24 users x 7 targets, the first 80% by time
CASES: dict[str, Case] = {
    # -- the dataset folder itself --
    "data-dir-missing": Case(lambda root: None, "nowhere", "does not exist"),
    "data-is-a-file": Case(lambda root: None, "plain-file", "not a directory"),
    "no-split-csv": Case(delete("train.csv", "valid.csv", "test.csv"), "ds", "no train.csv, valid.csv or test.csv"),
    # -- info.txt: file level --
    "info-missing": Case(delete("info.txt"), "info.txt", "missing info.txt"),
    "info-is-a-directory": Case(replace_with_dir("info.txt"), "info.txt", "is a directory"),
    "info-empty": Case(set_file("info.txt", ""), "info.txt", "lists no items"),
    "info-blank-lines-only": Case(set_file("info.txt", "\n \n\n"), "info.txt", "lists no items"),
    "info-latin1-byte": Case(set_line("info.txt", 3, b"caf\xe9\t2"), "info.txt:3", "not UTF-8"),
    "info-utf16": Case(set_file("info.txt", "apple\t0\n".encode("utf-16")), "info.txt:1", "not UTF-8"),
    # -- info.txt: lines and ids --
    "info-no-tab": Case(set_line("info.txt", 2, "apricot 1"), "info.txt:2", "no TAB"),
    "info-duplicate-id": Case(set_line("info.txt", 3, "banana\t1"), "info.txt:3", "duplicate item id 1"),
    "info-gap-in-ids": Case(set_line("info.txt", 13, "kiwi\t20"), "info.txt:13", "id 12 is missing"),
    "info-negative-id": Case(set_line("info.txt", 1, "apple\t-1"), "info.txt:1", "outside 0..12"),
    "info-id-not-a-number": Case(set_line("info.txt", 2, "apricot\tone"), "info.txt:2", "not an integer"),
    "info-id-float": Case(set_line("info.txt", 2, "apricot\t1.0"), "info.txt:2", "not an integer"),
    "info-id-bool": Case(set_line("info.txt", 2, "apricot\tTrue"), "info.txt:2", "not an integer"),
    "info-id-underscore": Case(set_line("info.txt", 11, "melon\t1_0"), "info.txt:11", "not an integer"),
    "info-id-arabic-digit": Case(set_line("info.txt", 2, "apricot\t\u0661"), "info.txt:2", "not an integer"),
    "info-id-5000-digits": Case(set_line("info.txt", 2, f"apricot\t{DIGITS}"), "info.txt:2", "too long"),
    "info-empty-title": Case(set_line("info.txt", 4, "\t3"), "info.txt:4", "empty title"),
    "info-endoftext-title": Case(set_line("info.txt", 2, "apricot<|endoftext|>\t1"), "info.txt:2", "special token"),
    "info-im-end-title": Case(set_line("info.txt", 5, "<|im_end|> band\t4"), "info.txt:5", "special token"),
    "info-llama-eot-title": Case(set_line("info.txt", 6, "bandana <|eot_id|>\t5"), "info.txt:6", "special token"),
    "info-tool-call-title": Case(set_line("info.txt", 7, "<tool_call>cherry\t6"), "info.txt:7", "special token"),
    "info-nul-in-title": Case(set_line("info.txt", 3, "ban\x00ana\t2"), "info.txt:3", "control character"),
    "info-eot-char-in-title": Case(set_line("info.txt", 3, "ban\x03ana\t2"), "info.txt:3", "control character"),
    "info-lone-cr-in-title": Case(set_line("info.txt", 3, "ban\rana\t2"), "info.txt:3", "control character"),
    "info-all-sids-with-d3-csvs": Case(
        set_file("info.txt", "".join(f"<a_{i}><b_{i}>\t{t}\t{i}\n" for i, t in enumerate(TITLES))),
        "train.csv:1", "history_item_sid"),
    # -- info.txt: must be accepted --
    "info-bom": accepted(prepend("info.txt", BOM), check_titles(t0="apple")),
    "info-crlf": accepted(set_file("info.txt", "".join(f"{t}\t{i}\r\n" for i, t in enumerate(TITLES))),
                          check_titles(t0="apple", t12="kiwi")),
    "info-heart-title-with-tab": accepted(info_lines("<3>\tLove Songs"),
                                          lambda root: (with_layout("d3")(root), check_titles(t0="<3>\tLove Songs")(root))),
    "info-all-heart-titles": accepted(
        set_file("info.txt", "".join(f"<3>\t{t}\t{i}\n" for i, t in enumerate(TITLES))),
        check_titles(t0="<3>\tapple")),
    "info-bare-pipe-title": accepted(info_lines("a <| b |> c"), check_titles(t0="a <| b |> c")),
    # -- split CSVs: file level --
    "train-is-a-directory": Case(replace_with_dir("train.csv"), "train.csv", "is a directory"),
    "valid-is-a-directory": Case(replace_with_dir("valid.csv"), "valid.csv", "is a directory"),
    "train-empty-file": Case(set_file("train.csv", ""), "train.csv", "empty file"),
    "train-header-only": Case(set_file("train.csv", "user_id,history_item_id,item_id,timestamp\n"),
                              "train.csv", "no rows"),
    "train-header-only-train": Case(set_file("train.csv", "user_id,history_item_id,item_id,timestamp\n"),
                                    "train.csv", "no rows", "train"),
    "test-header-only-crlf": Case(set_file("test.csv", "user_id,history_item_id,item_id,timestamp\r\n"),
                                  "test.csv", "no rows"),
    "train-latin1-user": Case(set_line("train.csv", 5, b'Jos\xe9,"[1]",3,1000'), "train.csv:5", "not UTF-8"),
    "test-latin1-header": Case(set_line("test.csv", 1, b"user_id,history_item_id,item_id,timestamp\xa0"),
                               "test.csv:1", "not UTF-8"),
    "train-field-over-csv-limit": Case(train_row("[" + "1, " * 70_000 + "1]"), "train.csv:2", "131,072"),
    "train-unclosed-quote": Case(train_row('[1, 3]",5,1000\nu1,"[2'), "train.csv", "Fix:"),
    # -- split CSVs: header --
    "train-bom": accepted(prepend("train.csv", BOM)),
    "valid-bom-crlf": accepted(lambda root: (root / "valid.csv").write_bytes(
        BOM + (root / "valid.csv").read_bytes().replace(b"\n", b"\r\n"))),
    "train-missing-item-id-column": Case(set_line("train.csv", 1, "user_id,history_item_id,target,timestamp"),
                                         "train.csv:1", "missing column(s) item_id"),
    "train-header-wrong-case": Case(set_line("train.csv", 1, "User_ID,history_item_id,item_id,timestamp"),
                                    "train.csv:1", "missing column(s) user_id"),
    "csv-layouts-disagree": Case(set_line("valid.csv", 1, "user_id,history_item_id,item_id,timestamp,"
                                          "history_item_sid,item_sid"), "valid.csv:1", "layout"),
    "minionerec-csv-with-d3-info": Case(
        lambda root: [set_line(f"{s}.csv", 1, "user_id,history_item_id,item_id,timestamp,history_item_sid,item_sid")(root)
                      for s in ("train", "valid", "test")], "info.txt:1", "sid<TAB>title<TAB>id"),
    # -- split CSVs: rows --
    "train-extra-field": Case(set_line("train.csv", 3, 'u9,"[1]",3,1000,EXTRA'), "train.csv:3", "row has 5 fields"),
    "train-missing-field": Case(set_line("train.csv", 3, 'u9,"[1]",3'), "train.csv:3", "row has 3 fields"),
    "history-not-a-literal": Case(train_row("[1, 3"), "train.csv:2", "not a Python list literal"),
    "history-code": Case(train_row("__import__('os').getcwd()"), "train.csv:2", "not a Python list literal"),
    "history-floats": Case(train_row("[1.0, 3]"), "train.csv:2", "list of integers"),
    "history-strings": Case(train_row("['1']"), "train.csv:2", "list of integers"),
    "history-bools": Case(train_row("[True]"), "train.csv:2", "list of integers"),
    "history-nested": Case(train_row("[[1]]"), "train.csv:2", "list of integers"),
    "history-tuple": Case(train_row("(1, 3)"), "train.csv:2", "list of integers"),
    "history-scalar": Case(train_row("3"), "train.csv:2", "list of integers"),
    "history-out-of-range": Case(train_row("[1, 13]"), "train.csv:2", "item id 13 is not in info.txt (0..12)"),
    "history-negative": Case(train_row("[-1]"), "train.csv:2", "item id -1 is not in info.txt"),
    "history-5000-digits": Case(train_row(f"[{DIGITS}]"), "train.csv:2", "too long"),
    "history-negative-5000-digits": Case(train_row(f"[-{DIGITS}]"), "train.csv:2", "too long"),
    "history-4000-digits-literal": Case(train_row(f"[ -{'9' * 4000} ]"), "train.csv:2", "too long"),
    "target-not-a-number": Case(train_row(target="one"), "train.csv:2", "item_id 'one' is not an integer"),
    "target-float": Case(train_row(target="3.0"), "train.csv:2", "not an integer"),
    "target-bool": Case(train_row(target="True"), "train.csv:2", "not an integer"),
    "target-empty": Case(train_row(target=""), "train.csv:2", "not an integer"),
    "target-out-of-range": Case(train_row(target="13"), "train.csv:2", "item id 13 is not in info.txt"),
    "target-negative": Case(train_row(target="-3"), "train.csv:2", "item id -3 is not in info.txt"),
    "target-5000-digits": Case(train_row(target=DIGITS), "train.csv:2", "too long"),
    "timestamp-text": Case(train_row(ts="yesterday"), "train.csv:2", "timestamp 'yesterday' is not a number"),
    "timestamp-inf": Case(train_row(ts="inf"), "train.csv:2", "finite"),
    "timestamp-minus-inf": Case(train_row(ts="-inf"), "train.csv:2", "finite"),
    "timestamp-nan": Case(train_row(ts="nan"), "train.csv:2", "finite"),
    "timestamp-1e400": Case(train_row(ts="1e400"), "train.csv:2", "finite"),
    "test-target-out-of-range": Case(set_line("test.csv", 2, 'u0,"[1]",99,9000'), "test.csv:2", "item id 99"),
    # -- training-specific --
    "train-without-train-csv": Case(delete("train.csv"), "train.csv", "--train-on-valid", "train"),
    "train-on-valid-with-one-row": Case(
        lambda root: (delete("train.csv")(root), set_file("valid.csv", "user_id,history_item_id,item_id,timestamp\n"
                                                           'u1,"[1]",3,1000\n')(root)),
        "valid.csv", "too few", "train-on-valid"),
    "train-title-with-eot-char": Case(set_line("info.txt", 1, "app\x03le\t0"), "info.txt:1", "control character", "train"),
}


@pytest.fixture
def fruits(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "ds")


def command(case: Case, root: Path, tmp_path: Path) -> list:
    if case.command == "stats":
        return ["stats", "--data", root, "--tokenizer", "char"]
    extra = ["--train-on-valid"] if case.command == "train-on-valid" else []
    return ["train", "--data", root, "--out", tmp_path / "ck", "--db", "", "--max-steps", "1", *TINY, *extra]


@pytest.mark.parametrize("name", list(CASES))
def test_bad_dataset(name: str, fruits: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    case = CASES[name]
    root = fruits
    if name == "data-dir-missing":
        root = tmp_path / "nowhere"
    elif name == "data-is-a-file":
        root = tmp_path / "plain-file"
        root.write_text("apple\t0\n")
    case.mutate(root) if root == fruits else None
    before = snapshot(root)
    code, out, err = run(command(case, root, tmp_path), capsys)
    assert "Traceback" not in err, err
    assert code == case.code, err or out
    if case.code:
        assert err.startswith(f"igd {command(case, root, tmp_path)[0]}: error: "), err
        assert case.where in err and "Fix:" in err, err
        assert case.problem.lower() in err.lower(), err
    if case.check:
        case.check(root)
    assert snapshot(root) == before  # nothing stored changed
    assert not (tmp_path / "ck").exists()  # a failed `igd train` leaves no checkpoint


def test_corpus_size() -> None:
    assert len(CASES) >= 50


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file: permission bits do not apply")
@pytest.mark.parametrize("name", ["info.txt", "train.csv"])
def test_unreadable_file(name: str, fruits: Path, capsys: pytest.CaptureFixture) -> None:
    (fruits / name).chmod(0)
    code, _, err = run(["stats", "--data", fruits, "--tokenizer", "char"], capsys)
    assert code == 2 and name in err and "permission" in err.lower() and "Fix:" in err, err


@pytest.mark.parametrize("name", ["info.txt", "train.csv"])
def test_permission_denied_is_a_data_error(name: str, fruits: Path, monkeypatch, capsys) -> None:
    # The same check as above for root (who bypasses permission bits): the read itself fails.
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    code, _, err = run(["stats", "--data", fruits, "--tokenizer", "char"], capsys)
    assert code == 2 and f"{name}: cannot be read (permission denied)" in err and "Fix:" in err, err


# --- titles: what the loader rejects, `igd data` never writes ---------------------------

def _builtin_special_tokens() -> list[str]:
    from igd.tokenization import LLAMA3_SPECIALS, QWEN_SPECIALS

    # SmolLM2's added tokens (from its tokenizer.json): the StarCoder-style names have no "|".
    smollm2 = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>", "<file_sep>",
               "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>", "<issue_closed>",
               "<jupyter_start>", "<jupyter_text>", "<jupyter_code>", "<jupyter_output>",
               "<jupyter_script>", "<empty_output>"]
    return [*QWEN_SPECIALS, *LLAMA3_SPECIALS, *smollm2]


def test_every_builtin_special_token_is_caught() -> None:
    for token in _builtin_special_tokens():
        assert "special token" in (title_problem(f"Best of {token} 1999") or ""), token
        assert clean_text(f"Best of {token}") == f"Best of {token}"  # kept: the builders drop the item


def test_smollm2_list_matches_its_tokenizer_when_cached() -> None:
    from igd.wheels import cache_root

    path = cache_root() / "tokenizers" / "smollm2" / "tokenizer.json"
    if not path.exists():
        pytest.skip("smollm2 tokenizer not built in this cache")
    added = {t["content"] for t in json.loads(path.read_text())["added_tokens"]}
    assert added <= set(_builtin_special_tokens())


@pytest.mark.parametrize("title", ["I <3 Music", "a < b > c", "<a_1> not a token", "Fish | Chips", "Bach\tCello",
                                   "\u00a0No\u00a0break", "Line\u2028Separator"])
def test_ordinary_titles_pass(title: str) -> None:
    assert title_problem(title) is None


@pytest.mark.parametrize("raw, clean", [
    ("Two\nLines", "Two Lines"), ("Tab\tbed", "Tab bed"), ("Nul\x00byte", "Nul byte"),
    ("a \r\n\t b", "a b"), ("keep  two spaces", "keep  two spaces"), ("End\x03", "End "),
    ("Next\x85Line", "Next Line"), ("Para\u2029graph", "Para graph"), ("del\x7fete", "del ete"),
])
def test_clean_text_collapses_breaks_and_controls(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean
    assert title_problem(clean.strip()) is None


# --- `igd data` on awkward raw inputs --------------------------------------------------

def awkward_meta(tmp_path: Path, titles: dict[str, str]) -> Path:
    """The fixture's meta file with some titles replaced (JSON escapes every control char)."""
    lines = []
    for line in (FIX / "meta.json").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line) if line.startswith("{\"") else ast.literal_eval(line)  # B05: a Python literal
        if rec["asin"] in titles:
            rec["title"] = titles[rec["asin"]]
            line = json.dumps(rec)
        lines.append(line)
    path = tmp_path / "meta.json"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def amazon(reviews: Path, meta: Path, out: Path) -> list:
    return ["data", "amazon", "--reviews", reviews, "--meta", meta, "--out", out, "--min-items", "4"]


def test_amazon_writes_only_titles_its_loader_reads(tmp_path: Path, capsys) -> None:
    meta = awkward_meta(tmp_path, {"B01": "Red\tGuitar\x00Strings", "B02": "Drum\nSticks\r\n& Brushes",
                                   "B03": "<3>\tPiano\u2028Bench\x03", "B05": "\x1fUkulele\x85Tuner",
                                   "B09": "Violin <|endoftext|> Rosin"})
    out = tmp_path / "d3"
    code, stdout, err = run(amazon(FIX / "reviews.json", meta, out), capsys)
    assert code == 0, err
    report = json.loads(stdout)
    assert report["dropped"]["items_title_special_token"] == 1  # B09: the item is dropped, reported
    titles = titles_of(out)
    assert "Red Guitar Strings" in titles and "Drum Sticks & Brushes" in titles
    assert "<3> Piano Bench" in titles and "Ukulele Tuner" in titles
    assert all(title_problem(t) is None for t in titles)
    code, _, err = run(["stats", "--data", out, "--tokenizer", "char"], capsys)
    assert code == 0, err


def test_amazon_inputs_with_a_bom_are_read(tmp_path: Path, capsys) -> None:
    meta, reviews = tmp_path / "meta.json", tmp_path / "reviews.json"
    meta.write_bytes(BOM + (FIX / "meta.json").read_bytes())
    reviews.write_bytes(BOM + (FIX / "reviews.json").read_bytes())
    code, _, err = run(amazon(reviews, meta, tmp_path / "d3"), capsys)
    assert code == 0, err


@pytest.mark.parametrize("name, make, where, problem", [
    ("reviews-is-a-directory", lambda t: (t / "r").mkdir() or t / "r", "r", "not a file"),
    ("reviews-missing", lambda t: t / "nope.json", "nope.json", "does not exist"),
    ("reviews-latin1", lambda t: write(t / "r.json", b'{"asin": "B01"}\n{"asin": "B\xe9"}\n'), "r.json:2", "not UTF-8"),
    ("reviews-inf-time", lambda t: write(t / "r.json", b'{"overall": 4.0, "reviewerID": "U1", "asin": "B01", '
                                                       b'"unixReviewTime": Infinity}\n'), "r.json:1", "whole seconds"),
])
def test_amazon_bad_reviews(name: str, make, where: str, problem: str, tmp_path: Path, capsys) -> None:
    reviews = make(tmp_path)
    before = snapshot(tmp_path)
    code, _, err = run(amazon(reviews, FIX / "meta.json", tmp_path / "out"), capsys)
    assert code == 2 and where in err and problem in err and "Fix:" in err and "Traceback" not in err, err
    assert snapshot(tmp_path) == before  # no output folder, inputs untouched


def test_data_refuses_a_folder_with_foreign_files(tmp_path: Path, capsys) -> None:
    out = write_dataset(tmp_path / "mine")  # a hand-made dataset: no manifest
    (out / "notes.md").write_text("my notes\n")
    before = snapshot(out)
    code, _, err = run(amazon(FIX / "reviews.json", FIX / "meta.json", out), capsys)
    assert code == 2 and "not written by igd" in err and "Fix:" in err, err
    assert snapshot(out) == before


@pytest.mark.parametrize("foreign", ["checkpoint", "train.csv"])
def test_data_refuses_foreign_files_beside_a_manifest(foreign: str, tmp_path: Path, capsys) -> None:
    out = tmp_path / "d3"
    assert run(amazon(FIX / "reviews.json", FIX / "meta.json", out), capsys)[0] == 0
    replace_with_dir(foreign)(out) if (out / foreign).exists() else (out / foreign).mkdir()
    before = snapshot(out)
    code, _, err = run(amazon(FIX / "reviews.json", FIX / "meta.json", out), capsys)
    assert code == 2 and f"files igd did not write ({foreign})" in err and "Fix:" in err, err
    assert snapshot(out) == before


def test_data_out_is_a_file(tmp_path: Path, capsys) -> None:
    out = tmp_path / "file"
    out.write_text("x")
    code, _, err = run(amazon(FIX / "reviews.json", FIX / "meta.json", out), capsys)
    assert code == 2 and "not a directory" in err and out.read_text() == "x", err
    # A parent that is a file: the write itself fails (as on a read-only disk), still no traceback.
    code, _, err = run(amazon(FIX / "reviews.json", FIX / "meta.json", out / "d3"), capsys)
    assert code == 2 and "cannot write the dataset" in err and "Fix:" in err and out.read_text() == "x", err


def test_data_into_a_symlinked_folder_replaces_its_target(tmp_path: Path, capsys) -> None:
    real = tmp_path / "real"
    assert run(amazon(FIX / "reviews.json", FIX / "meta.json", real), capsys)[0] == 0
    (tmp_path / "link").symlink_to(real)
    assert run(amazon(FIX / "reviews.json", FIX / "meta.json", tmp_path / "link"), capsys)[0] == 0
    assert (tmp_path / "link").is_symlink() and load_dataset(tmp_path / "link").fingerprint == load_dataset(real).fingerprint


# --- the manifest: an igd-written dataset is checked before use --------------------------

def igd_written(root: Path, builder: str = "movielens") -> Path:
    """A small dataset written by igd's own writer (with igd_dataset.json)."""
    xs = [Interaction(f"u{u}", f"i{(u + k) % 6}", 4.0, 1000 + 10 * k + u, 7 * u + k)
          for u in range(8) for k in range(6)]
    write_d3(root, {f"i{i}": TITLES[i] for i in range(6)}, chronological_split(sliding_windows(xs)),
             {"builder": builder, "source": {"test": True}})
    return root


def flip_byte(name: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        data = bytearray((root / name).read_bytes())
        data[-3] = ord("0") if data[-3] != ord("0") else ord("1")
        (root / name).write_bytes(bytes(data))
    return mutate


def truncate(name: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        data = (root / name).read_bytes()
        (root / name).write_bytes(data[: len(data) // 2])
    return mutate


def edit_manifest(fn: Callable[[dict], object]) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        record = json.loads((root / MANIFEST).read_text())
        fn(record)
        (root / MANIFEST).write_text(json.dumps(record))
    return mutate


MANIFEST_CASES = {
    "train-truncated": (truncate("train.csv"), "train.csv", "bytes"),
    "valid-byte-changed": (flip_byte("valid.csv"), "valid.csv", "sha256"),
    "info-byte-changed": (flip_byte("info.txt"), "info.txt", "sha256"),
    "test-deleted": (delete("test.csv"), "test.csv", "missing"),
    "valid-and-test-deleted": (delete("valid.csv", "test.csv"), "valid.csv", "missing"),
    "manifest-not-json": (set_file(MANIFEST, "{\"files\": "), MANIFEST, "JSON"),
    "manifest-files-not-a-dict": (edit_manifest(lambda r: r.update(files=["info.txt"])), MANIFEST, "list"),
    "manifest-lists-no-train": (edit_manifest(lambda r: r["files"].pop("train.csv")), "train.csv", "not listed"),
    "manifest-size-not-an-int": (edit_manifest(lambda r: r["files"]["info.txt"].update(bytes="12")), MANIFEST, "list"),
}


@pytest.mark.parametrize("name", list(MANIFEST_CASES))
def test_manifest_mismatch(name: str, tmp_path: Path, capsys) -> None:
    mutate, where, problem = MANIFEST_CASES[name]
    root = igd_written(tmp_path / "ml")
    mutate(root)
    before = snapshot(root)
    code, _, err = run(["stats", "--data", root, "--tokenizer", "char"], capsys)
    assert code == 2 and where in err and problem in err and "Traceback" not in err, err
    assert f"--out {root}`" in err and "Fix:" in err, err  # the rebuild command
    assert snapshot(root) == before


def test_manifest_records_sizes_hashes_version_and_loads(tmp_path: Path, capsys) -> None:
    root = igd_written(tmp_path / "ml")
    record = json.loads((root / MANIFEST).read_text())
    assert set(record["files"]) == {"info.txt", "train.csv", "valid.csv", "test.csv"}
    assert record["files"]["info.txt"]["bytes"] == (root / "info.txt").stat().st_size
    assert record["igd_version"] and record["fingerprint"] == load_dataset(root).fingerprint
    assert run(["stats", "--data", root, "--tokenizer", "char"], capsys)[0] == 0


def test_old_manifest_with_hashes_only_still_loads(tmp_path: Path) -> None:
    # igd 0.1.0 wrote {"files": {name: sha256}}: still verified (by hash), still loadable.
    root = igd_written(tmp_path / "ml")
    edit_manifest(lambda r: r.update(files={n: v["sha256"] for n, v in r["files"].items()}))(root)
    assert len(load_dataset(root).catalogue) == 6
    flip_byte("train.csv")(root)
    with pytest.raises(DataError, match="train.csv.*sha256"):
        load_dataset(root)


def test_app_rebuilds_ml100k_unless_its_manifest_matches(tmp_path: Path, monkeypatch, capsys) -> None:
    import igd.cli
    import igd.movielens

    built: list[Path] = []
    monkeypatch.setattr(igd.movielens, "build_movielens", lambda out: built.append(Path(out)))
    monkeypatch.setattr(igd.cli, "_serve", lambda cmd, env: 0)
    data = igd_written(tmp_path / "ml-100k")
    assert run(["app", "--data", data], capsys)[0] == 0 and built == []  # intact: used as is
    flip_byte("valid.csv")(data)
    assert run(["app", "--data", data], capsys)[0] == 0 and built == [data]  # changed: rebuilt
    (data / MANIFEST).unlink()
    assert run(["app", "--data", data], capsys)[0] == 0 and built == [data, data]  # no manifest


# --- builds killed part-way ------------------------------------------------------------

ITEMS = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
         + "".join(f"{i}\tMovie {i}\t199{i}\tDrama\n" for i in range(1, 7)))
INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         + "".join(f"{u}\t{i}\t4\t{1000 + 10 * i + u}\n" for u in range(1, 7) for i in range(1, 7)))
KILL_SCRIPT = """
import os, sys
import igd.prepare as writer
out, wheel, kill_after, stage = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
calls = []
real = getattr(writer, stage)

def dying(*args, **kwargs):
    result = real(*args, **kwargs)
    calls.append(1)
    if len(calls) == kill_after:
        os._exit(137)  # like SIGKILL: no finally blocks, no cleanup
    return result

setattr(writer, stage, dying)
from igd.movielens import build_movielens
build_movielens(out, wheel=wheel)
"""


def fake_wheel(path: Path, title_suffix: str = "") -> Path:
    from igd.movielens import INTER_FILE, ITEM_FILE

    with zipfile.ZipFile(path, "w") as z:
        z.writestr(ITEM_FILE, ITEMS.replace("\t199", f"{title_suffix}\t199"))
        z.writestr(INTER_FILE, INTER)
    return path


def build_and_die(out: Path, wheel: Path, kill_after: int, stage: str = "_write_file") -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, out, wheel, str(kill_after), stage],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    return proc.returncode


def assert_no_dataset(out: Path, capsys) -> None:
    with pytest.raises(DataError):
        load_dataset(out)
    code, _, err = run(["stats", "--data", out, "--tokenizer", "char"], capsys)
    assert code == 2 and "Fix:" in err, err


# _write_file is called for info.txt, train.csv, valid.csv, test.csv, then the manifest.
@pytest.mark.parametrize("kill_after", [1, 2, 3, 4, 5])
def test_killed_first_build_leaves_no_dataset(kill_after: int, tmp_path: Path, capsys) -> None:
    out = tmp_path / "ml"
    assert build_and_die(out, fake_wheel(tmp_path / "w.whl"), kill_after) == 137
    assert not out.exists()
    assert_no_dataset(out, capsys)
    # The next build cleans up the dead build's temporary folder and succeeds.
    from igd.movielens import build_movielens

    build_movielens(out, wheel=tmp_path / "w.whl")
    assert load_dataset(out).name == "ml" and sorted(p.name for p in tmp_path.iterdir()) == ["ml", "w.whl"]


@pytest.mark.parametrize("kill_after, stage", [(1, "_write_file"), (3, "_write_file"), (5, "_write_file"),
                                               (1, "_fsync_dir")])
def test_killed_rebuild_keeps_the_previous_dataset(kill_after: int, stage: str, tmp_path: Path) -> None:
    from igd.movielens import build_movielens

    out = tmp_path / "ml"
    build_movielens(out, wheel=fake_wheel(tmp_path / "old.whl"))
    before = snapshot(out)
    assert build_and_die(out, fake_wheel(tmp_path / "new.whl", " Noir"), kill_after, stage) == 137
    assert snapshot(out) == before
    assert "Movie 1 (1991)" in titles_of(out)


def test_killed_just_after_the_swap_leaves_the_new_dataset(tmp_path: Path) -> None:
    from igd.movielens import build_movielens

    out = tmp_path / "ml"
    build_movielens(out, wheel=fake_wheel(tmp_path / "old.whl"))
    # _fsync_dir runs on the temporary folder, then on the parent after the swap.
    assert build_and_die(out, fake_wheel(tmp_path / "new.whl", " Noir"), 2, "_fsync_dir") == 137
    assert "Movie 1 Noir (1991)" in titles_of(out)  # complete, verified against its manifest
    build_movielens(out, wheel=tmp_path / "new.whl")  # cleans up the dead build's leftovers
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ml", "new.whl", "old.whl"]


def test_sigkill_of_igd_data_movielens(tmp_path: Path, capsys) -> None:
    """The real command, killed with SIGKILL as soon as its temporary folder holds a file."""
    from igd.wheels import RECBOLE, cache_root

    if not (cache_root() / "wheels" / RECBOLE.filename).exists():
        pytest.skip("recbole wheel not cached (needs PyPI once)")
    out = tmp_path / "ml-100k"
    proc = subprocess.Popen([sys.executable, "-m", "igd.cli", "data", "movielens", "--out", str(out)],
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if any(p.name.startswith(".ml-100k.") and any(p.iterdir()) for p in tmp_path.iterdir()):
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
    finally:
        proc.kill()
        proc.wait()
    if out.exists():  # the build won the race: then it is complete and verified
        assert load_dataset(out).name == "ml-100k"
    else:
        assert_no_dataset(out, capsys)
