"""Datasets in the D3 layout (and the MiniOneRec layout with semantic IDs).

D3 layout (README: Datasets): ``info.txt`` with ``title<TAB>item_id`` per line (split on the
LAST tab: titles may contain tabs) and ``train/valid/test.csv`` whose ``history_*`` columns
are Python list literals. MiniOneRec layout: ``info.txt`` is ``sid<TAB>title<TAB>item_id``
and the CSVs carry ``history_item_sid`` / ``item_sid``.

Every parse error names the file, the line and the fix. List cells are parsed with
``ast.literal_eval`` only (never ``eval``).
"""

from __future__ import annotations

import ast
import csv
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Mapping, Sequence

SPLITS = ("train", "valid", "test")
INFO_FILE = "info.txt"
_SID_RE = re.compile(r"^(<[^<>\t]+>)+$")
_INT_LIST_RE = re.compile(r"^\s*\[\s*(\d+\s*(,\s*\d+\s*)*)?\]\s*$")

# Columns the loader needs; the other D3 columns (asins, titles, ratings) are kept in the
# files for other tools but not required here.
D3_REQUIRED = ("user_id", "history_item_id", "item_id")
MINIONEREC_REQUIRED = ("user_id", "history_item_id", "item_id", "history_item_sid", "item_sid")


class DataError(ValueError):
    """A dataset file is malformed. The message names file, line and fix."""

    def __init__(self, path: Path | str, line: int | None, problem: str, fix: str):
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {problem}. Fix: {fix}")
        self.path, self.line = str(path), line


class MissingSplitError(DataError):
    """A split (usually train) is absent from a dataset directory."""


@dataclass(frozen=True)
class Catalogue:
    """Item titles indexed by item id (ids are 0..N-1). Several ids may share a title."""

    titles: tuple[str, ...]
    sids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.sids is not None and len(self.sids) != len(self.titles):
            raise ValueError(f"sids has {len(self.sids)} entries for {len(self.titles)} titles")

    def __len__(self) -> int:
        return len(self.titles)

    @cached_property
    def title_to_ids(self) -> dict[str, tuple[int, ...]]:
        out: dict[str, list[int]] = {}
        for item_id, title in enumerate(self.titles):
            out.setdefault(title, []).append(item_id)
        return {t: tuple(ids) for t, ids in out.items()}

    @property
    def distinct_titles(self) -> list[str]:
        """Distinct titles in order of first appearance (deterministic)."""
        return list(self.title_to_ids)

    def duplicate_titles(self) -> dict[str, tuple[int, ...]]:
        return {t: ids for t, ids in self.title_to_ids.items() if len(ids) > 1}


@dataclass(frozen=True)
class Sample:
    """One next-item prediction: up to 10 history item ids -> target item id."""

    user_id: str
    history: tuple[int, ...]
    target: int
    timestamp: int | None = None


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    layout: str  # "d3" or "minionerec"
    catalogue: Catalogue
    splits: Mapping[str, tuple[Sample, ...]]
    fingerprint: str
    duplicate_rows: Mapping[str, int] = field(default_factory=dict)

    def split(self, name: str) -> tuple[Sample, ...]:
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; choose one of {', '.join(SPLITS)}")
        if name not in self.splits:
            raise MissingSplitError(
                self.root / f"{name}.csv", None, f"dataset {self.name!r} has no {name} split",
                _missing_split_fix(name))
        return self.splits[name]

    def training_split_name(self, train_on_valid: bool = False) -> str:
        """The split whose targets train the model and give the item priors (README: Datasets).

        Priors never come from the evaluated split: with ``train_on_valid`` the model trains
        on valid and must be evaluated on test.
        """
        if train_on_valid:
            self.split("valid")
            return "valid"
        self.split("train")
        return "train"


def evenly_spaced(rows: Sequence[Sample], n: int | None) -> list[Sample]:
    """`n` rows spread evenly over `rows` (all when n is None or larger): a deterministic,
    time-representative subsample for demos and smoke runs (rows are in time order)."""
    rows = list(rows)
    if n is None or n >= len(rows):
        return rows
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(n)]


def split_rows(dataset: Dataset, train_on_valid: bool) -> tuple[str, list[Sample], list[Sample]]:
    """(training split name, training rows, early-stopping rows). With --train-on-valid the
    chronologically last 10% of valid.csv is held out for early stopping (rows are sorted by
    target time), and test.csv stays untouched for evaluation."""
    name = dataset.training_split_name(train_on_valid)
    if not train_on_valid:
        return name, list(dataset.split("train")), list(dataset.split("valid"))
    rows = list(dataset.split("valid"))
    cut = int(len(rows) * 0.9)
    return name, rows[:cut], rows[cut:]


def _missing_split_fix(name: str) -> str:
    if name == "train":
        return ("this dataset ships only valid/test (e.g. the shared Amazon samples); pass "
                "--train-on-valid to train (and take item priors) on valid.csv and evaluate "
                "on test.csv")
    return f"add {name}.csv in the D3 layout or choose another split"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dataset_fingerprint(root: Path) -> str:
    """sha256 over the names and bytes of info.txt and the split CSVs present."""
    h = hashlib.sha256()
    for name in (INFO_FILE, *(f"{s}.csv" for s in SPLITS)):
        path = root / name
        if path.exists():
            h.update(name.encode() + b"\0" + file_sha256(path).encode() + b"\0")
    return h.hexdigest()


def load_dataset(root: Path | str) -> Dataset:
    """Load a D3- or MiniOneRec-layout directory; the layout is detected from info.txt."""
    root = Path(root)
    info = root / INFO_FILE
    if not root.is_dir():
        raise DataError(root, None, "dataset directory does not exist",
                        "pass a directory holding info.txt and train/valid/test.csv "
                        "(e.g. build one with `igd data movielens --out DIR`)")
    if not info.exists():
        raise DataError(info, None, "missing info.txt", "add info.txt (title<TAB>item_id per line)")
    catalogue, layout = read_info(info)
    splits, dups = {}, {}
    for name in SPLITS:
        path = root / f"{name}.csv"
        if path.exists():
            splits[name] = read_samples(path, catalogue, layout)
            dups[name] = _count_duplicates(path)
    if not splits:
        raise DataError(root, None, "no train.csv, valid.csv or test.csv",
                        "add at least one split CSV in the D3 layout")
    return Dataset(root.resolve().name, root, layout, catalogue, splits,
                   dataset_fingerprint(root), dups)


def read_info(path: Path) -> tuple[Catalogue, str]:
    """Parse info.txt. Returns the catalogue and the layout ("d3" or "minionerec")."""
    entries: dict[int, tuple[str, str | None]] = {}
    line_of: dict[int, int] = {}
    layout = None
    with open(path, encoding="utf-8", newline="") as f:
        for lineno, raw in enumerate(f, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise DataError(path, lineno, "line has no TAB between title and item id",
                                "write `title<TAB>item_id` (MiniOneRec: `sid<TAB>title<TAB>item_id`)")
            head, id_text = line.rsplit("\t", 1)
            if layout is None:
                first = head.split("\t", 1)
                layout = "minionerec" if len(first) == 2 and _SID_RE.match(first[0]) else "d3"
            sid = None
            if layout == "minionerec":
                sid, sep, head = head.partition("\t")
                if not sep or not _SID_RE.match(sid):
                    raise DataError(path, lineno, f"expected `sid<TAB>title<TAB>id`, got {line[:80]!r}",
                                    "give every line of a MiniOneRec info.txt a semantic id like <a_1><b_2><c_3>")
            item_id = _parse_int(id_text, path, lineno, "item id")
            if item_id in entries:
                raise DataError(path, lineno, f"duplicate item id {item_id}",
                                "give every item a unique id 0..N-1 (titles may repeat, ids may not)")
            entries[item_id] = (head, sid)
            line_of[item_id] = lineno
    if not entries:
        raise DataError(path, None, "info.txt lists no items", "add at least one `title<TAB>item_id` line")
    missing = sorted(set(range(len(entries))) - entries.keys())
    if missing:
        stray = min(i for i in entries if not 0 <= i < len(entries))  # exists: ids are unique
        raise DataError(path, line_of[stray],
                        f"item id {stray} is outside 0..{len(entries) - 1}: id {missing[0]} is missing",
                        "number the items 0..N-1 without gaps, as the D3 layout does")
    titles = tuple(entries[i][0] for i in range(len(entries)))
    sids = tuple(entries[i][1] for i in range(len(entries))) if layout == "minionerec" else None
    return Catalogue(titles, sids), layout or "d3"


def read_samples(path: Path, catalogue: Catalogue, layout: str = "d3") -> tuple[Sample, ...]:
    required = MINIONEREC_REQUIRED if layout == "minionerec" else D3_REQUIRED
    samples = []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise DataError(path, 1, "empty file", "write a header line and one row per sample")
        missing = [c for c in required if c not in header]
        if missing:
            raise DataError(path, 1, f"missing column(s) {', '.join(missing)}",
                            f"the {layout} layout needs columns {', '.join(required)}")
        col = {name: header.index(name) for name in header}
        for row in reader:
            lineno = reader.line_num
            if len(row) != len(header):
                raise DataError(path, lineno, f"row has {len(row)} fields, header has {len(header)}",
                                "quote fields containing commas (\"...\") and keep one sample per row")
            samples.append(_row_to_sample(row, col, path, lineno, len(catalogue)))
    return tuple(samples)


def _row_to_sample(row: list[str], col: dict[str, int], path: Path, lineno: int,
                   n_items: int) -> Sample:
    history = parse_int_list(row[col["history_item_id"]], path, lineno, "history_item_id")
    target = _parse_int(row[col["item_id"]], path, lineno, "item_id")
    for item in (*history, target):
        if not 0 <= item < n_items:
            raise DataError(path, lineno, f"item id {item} is not in info.txt (0..{n_items - 1})",
                            "use ids from the dataset's own info.txt")
    ts = None
    if "timestamp" in col and row[col["timestamp"]].strip():
        ts = int(float(_parse_number(row[col["timestamp"]], path, lineno, "timestamp")))
    return Sample(row[col["user_id"]], tuple(history), target, ts)


def parse_int_list(cell: str, path: Path, lineno: int, column: str) -> list[int]:
    """Parse a Python list literal of ints, e.g. ``[3, 17]`` (ast.literal_eval, never eval).

    Plain lists of non-negative integers take a regex fast path (10x faster than building an
    AST; loading MovieLens parses ~100k cells); anything else goes through literal_eval."""
    if _INT_LIST_RE.match(cell):
        inner = cell.strip()[1:-1]
        return [int(x) for x in inner.split(",")] if inner.strip() else []
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise DataError(path, lineno, f"column {column} is not a Python list literal: {cell[:60]!r}",
                        "write list cells as Python literals, e.g. \"[12, 7, 3]\"") from None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise DataError(path, lineno, f"column {column} must be a list of integers, got {cell[:60]!r}",
                        "write item ids as integers, e.g. \"[12, 7, 3]\"")
    return value


def _parse_int(text: str, path: Path, lineno: int, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise DataError(path, lineno, f"{what} {text[:40]!r} is not an integer",
                        f"write the {what} as a plain integer") from None


def _parse_number(text: str, path: Path, lineno: int, what: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise DataError(path, lineno, f"{what} {text[:40]!r} is not a number",
                        f"write the {what} as a number (unix seconds)") from None


def _count_duplicates(path: Path) -> int:
    """Fully duplicated rows (a known defect of some shared samples: reported, not hidden)."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = Counter(tuple(r) for r in csv.reader(f))
    return sum(n - 1 for n in rows.values() if n > 1)
