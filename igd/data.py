"""Datasets in the D3 layout (and the MiniOneRec layout with semantic IDs).

D3 layout (README: Datasets): ``info.txt`` with ``title<TAB>item_id`` per line (split on the
LAST tab: titles may contain tabs) and ``train/valid/test.csv`` whose ``history_*`` columns
are Python list literals. MiniOneRec layout: ``info.txt`` is ``sid<TAB>title<TAB>item_id``
and the CSVs carry ``history_item_sid`` / ``item_sid``. The layout is decided once per
dataset, from the CSV headers, never from how a title looks (a D3 title may start with
``<3>`` and hold a tab). Without CSVs (``read_info`` alone) it is MiniOneRec only if EVERY
line is ``sid<TAB>title<TAB>id`` with a sid of 2+ codes (``<a_1><b_2>``).

Files are UTF-8 (a leading byte-order mark is ignored). A title may not be empty, hold a
control character other than TAB, or hold the text of a built-in tokenizer's special token
(``<|endoftext|>``, ``<|im_end|>``, ``<tool_call>``...), which the tokenizer would read as
the token itself. A split CSV that is present must hold rows. A folder written by
``igd data`` is checked against its ``igd_dataset.json`` before use (sizes before parsing,
sha256 from the same read that parses and fingerprints). Text parsing: igd.d3_format.

Every error names the file, the line and the fix. List cells are parsed with
``ast.literal_eval`` only (never ``eval``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Mapping, Sequence

SPLITS = ("train", "valid", "test")
INFO_FILE = "info.txt"
DATA_FILES = (INFO_FILE, *(f"{s}.csv" for s in SPLITS))
MANIFEST = "igd_dataset.json"  # written last by `igd data` (igd.prepare): sizes and sha256 of DATA_FILES
# C0 controls except TAB, DEL and C1: NUL and \x03 are the char tokenizer's pad/EOS, \r and
# \x85 break lines in other readers.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
# Special-token text of the built-in tokenizers (igd.tokenization: qwen2.5, llama3, smollm2):
# every `<|name|>`, plus Qwen's tool-call tags and SmolLM2's StarCoder names.
_SPECIAL_RE = re.compile(
    r"<\|[A-Za-z0-9_]+\|>|</?tool_call>|<(repo_name|reponame|file_sep|filename|gh_stars|"
    r"issue_start|issue_comment|issue_closed|jupyter_start|jupyter_text|jupyter_code|"
    r"jupyter_output|jupyter_script|empty_output)>")


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
    names: tuple[str, ...] | None = None  # readable titles when `titles` are semantic IDs (items="sid")

    def __post_init__(self) -> None:
        for extra in ("sids", "names"):
            if getattr(self, extra) is not None and len(getattr(self, extra)) != len(self.titles):
                raise ValueError(f"{extra} has {len(getattr(self, extra))} entries for {len(self.titles)} titles")

    def name(self, item_id: int) -> str:
        """What a reader calls the item: its title (also when the model sees its semantic ID)."""
        return self.titles[item_id] if self.names is None else self.names[item_id]

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

    def parsed_splits(self) -> tuple[str, ...]:
        """The splits whose rows are parsed (all, unless loaded with `lazy=True`)."""
        return tuple(getattr(self.splits, "parsed_names", lambda: tuple(self.splits))())

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
    if cut == 0 or cut == len(rows):
        raise DataError(dataset.root / "valid.csv", None,
                        f"{len(rows)} row(s) are too few for --train-on-valid (the first 90% "
                        "train, the last 10% stop early)", "add rows to valid.csv (at least 2)")
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


def fingerprint_of(digests: Mapping[str, str]) -> str:
    """sha256 over the names and sha256s of info.txt and the split CSVs present."""
    h = hashlib.sha256()
    for name in DATA_FILES:
        if name in digests:
            h.update(name.encode() + b"\0" + digests[name].encode() + b"\0")
    return h.hexdigest()


def dataset_fingerprint(root: Path) -> str:
    """`load_dataset(root).fingerprint`, without parsing the files."""
    return fingerprint_of({n: file_sha256(root / n) for n in DATA_FILES if (root / n).exists()})


def read_bytes(path: Path) -> bytes:
    """The bytes of a dataset file; an unreadable one is a DataError naming it."""
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise DataError(path, None, "is a directory, not a file",
                        f"replace it with the {Path(path).name} file of the dataset") from None
    except PermissionError:
        raise DataError(path, None, "cannot be read (permission denied)",
                        "make it readable (chmod a+r) or copy the dataset somewhere you own") from None
    except FileNotFoundError:
        raise DataError(path, None, "does not exist", "add the file or rebuild the dataset") from None
    except OSError as e:
        raise DataError(path, None, f"cannot be read ({e.strerror or e})",
                        "copy the dataset to a readable disk") from None


def decode(path: Path, data: bytes) -> str:
    """UTF-8 text of a dataset file, without a leading byte-order mark."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1
        raise DataError(path, line, f"not UTF-8 (byte 0x{data[e.start]:02x} at byte {e.start})",
                        "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8, or "
                        "'Save as UTF-8' in the editor)") from None


def title_problem(title: str) -> str | None:
    """Why `title` cannot be an item title, or None. `igd data` never writes such a title."""
    if not title.strip():
        return "empty title"
    if m := _CONTROL_RE.search(title):
        return f"title contains the control character U+{ord(m.group()):04X}"
    if m := _SPECIAL_RE.search(title):
        return (f"title contains {m.group()!r}, the text of a tokenizer special token (the "
                "tokenizer would read it as that token, not as text)")
    return None


def load_dataset(root: Path | str, lazy: bool = False, items: str = "title") -> Dataset:
    """Load a D3- or MiniOneRec-layout directory (layout: from the CSV headers).

    `items="sid"` (MiniOneRec layout) names every item by its semantic ID (igd.config.ITEMS): the
    catalogue's `titles` are the IDs, its `names` the titles; trie, IG and training run unchanged.

    Each file is read once: its bytes give the fingerprint, the manifest check and the text.
    `lazy` parses a split's rows on its first use (the app: a history needs only info.txt, and
    parsing MovieLens' ~100k training rows took 3 s of its first use); the bytes are still read,
    hashed and checked against the manifest up front, and a malformed row is the same
    DataError, raised where the split is first used.
    """
    root = Path(root)
    try:
        dataset = _load(root, lazy)
    except OSError as e:  # e.g. a folder without read permission: still a clear error, no traceback
        raise DataError(e.filename or root, None, f"cannot be read ({e.strerror or e})",
                        "make the dataset folder and its files readable") from None
    return dataset if items == "title" else sid_items(dataset)


def sid_items(dataset: Dataset) -> Dataset:
    """The dataset with items named by their semantic IDs (see `load_dataset`)."""
    from dataclasses import replace
    cat = dataset.catalogue
    if cat.sids is None:
        raise DataError(dataset.root / INFO_FILE, None, "has no semantic IDs (D3 layout: title<TAB>item_id)",
                        f"build them with `igd sid build --data {dataset.root} --out DIR` and pass DIR")
    return replace(dataset, catalogue=Catalogue(titles=cat.sids, sids=cat.sids, names=cat.titles))


def _load(root: Path, lazy: bool = False) -> Dataset:
    from igd import d3_format as fmt  # (here, not at the top: d3_format imports this module)
    from igd.lazy_splits import LazySplits

    if not root.is_dir():
        raise DataError(root, None, "is not a directory" if root.exists() else "dataset directory does not exist",
                        "pass a directory holding info.txt and train/valid/test.csv "
                        "(e.g. build one with `igd data movielens --out DIR`)")
    manifest = read_manifest(root)
    if manifest is not None:
        check_sizes(root, manifest)  # a half-written or edited file fails before any parsing
    info = root / INFO_FILE
    if not info.exists():
        raise DataError(info, None, "missing info.txt", "add info.txt (title<TAB>item_id per line)")
    present = [n for n in DATA_FILES if (root / n).exists()]
    if present == [INFO_FILE]:
        raise DataError(root, None, "no train.csv, valid.csv or test.csv",
                        "add at least one split CSV in the D3 layout")
    raw = {name: read_bytes(root / name) for name in present}
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in raw.items()}
    if manifest is not None:
        check_hashes(root, manifest, digests)
    texts = {n[:-4]: decode(root / n, raw[n]) for n in present[1:]}
    tables = {s: fmt.csv_records(root / f"{s}.csv", t) for s, t in texts.items()} if not lazy else \
        {s: [fmt.csv_header(root / f"{s}.csv", t)] for s, t in texts.items()}  # layout reads headers only
    info_text = decode(info, raw[INFO_FILE])
    layout = fmt.dataset_layout(root, tables, info_text)
    catalogue = fmt.parse_info(info, info_text, layout)

    def parse(split: str) -> tuple[tuple[Sample, ...], int]:
        path = root / f"{split}.csv"
        rows = tables[split] if not lazy else fmt.csv_records(path, texts[split])
        # Fully duplicated rows: a known defect of some shared samples, reported, not hidden.
        dups = sum(n - 1 for n in Counter(tuple(r) for _, r in rows).values() if n > 1)
        return fmt.parse_samples(path, rows, catalogue, layout), dups

    pending = LazySplits({s: partial(parse, s) for s in texts})
    if lazy:
        return Dataset(root.resolve().name, root, layout, catalogue, pending, fingerprint_of(digests),
                       pending.duplicates)
    parsed = {s: pending.parsed(s) for s in texts}  # every row checked now, errors raised here
    return Dataset(root.resolve().name, root, layout, catalogue, {s: v[0] for s, v in parsed.items()},
                   fingerprint_of(digests), {s: v[1] for s, v in parsed.items()})


def read_info(path: Path, layout: str | None = None) -> tuple[Catalogue, str]:
    """Parse info.txt. Returns the catalogue and the layout ("d3" or "minionerec"); without a
    `layout` it is MiniOneRec only if every line is `sid<TAB>title<TAB>id` (d3_format.all_sid_lines)."""
    from igd import d3_format as fmt

    text = decode(Path(path), read_bytes(Path(path)))
    layout = layout or ("minionerec" if fmt.all_sid_lines(text) else "d3")
    return fmt.parse_info(Path(path), text, layout), layout


# --- igd_dataset.json: the manifest `igd data` writes last --------------------------------

def read_manifest(root: Path) -> dict | None:
    """The manifest of an igd-written folder (None for hand-made ones), its shape checked."""
    path = root / MANIFEST
    if not path.exists():
        return None
    try:
        record = json.loads(read_bytes(path).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise DataError(path, None, "is not valid JSON", _rebuild_fix(root, {})) from None
    files = record.get("files") if isinstance(record, dict) else None
    if not (isinstance(files, dict) and files and all(
            name in DATA_FILES and (_is_sha(entry) or isinstance(entry, dict) and _is_sha(entry.get("sha256"))
                                    and type(entry.get("bytes")) is int) for name, entry in files.items())):
        raise DataError(path, None, "does not list the dataset files with their bytes and sha256",
                        _rebuild_fix(root, record if isinstance(record, dict) else {}))
    return record


def _is_sha(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64


def _expected(record: dict) -> dict[str, tuple[int | None, str]]:
    """name -> (bytes, sha256) in DATA_FILES order. igd 0.1.0 recorded the sha256 alone."""
    files = record["files"]
    return {name: (None, files[name]) if isinstance(files[name], str) else (files[name]["bytes"], files[name]["sha256"])
            for name in DATA_FILES if name in files}


def check_sizes(root: Path, record: dict) -> None:
    """Every listed file exists with its recorded size, and no split CSV was added."""
    expected = _expected(record)
    for name, (size, _) in expected.items():
        path = root / name
        if not path.is_file():
            raise DataError(path, None, f"is listed in {MANIFEST} but {'is not a file' if path.exists() else 'missing'}",
                            _rebuild_fix(root, record))
        actual = path.stat().st_size
        if size is not None and actual != size:
            raise DataError(path, None, f"has {actual:,} bytes but {MANIFEST} records {size:,}: the file "
                            "was changed or only partly written", _rebuild_fix(root, record))
    for name in DATA_FILES:
        if name not in expected and (root / name).exists():
            raise DataError(root / name, None, f"is not listed in {MANIFEST}: it was added after igd "
                            "wrote the dataset", _rebuild_fix(root, record))


def check_hashes(root: Path, record: dict, digests: Mapping[str, str]) -> None:
    for name, (_, sha) in _expected(record).items():
        if digests.get(name) != sha:
            raise DataError(root / name, None, f"does not match its sha256 in {MANIFEST}: the file was "
                            "changed after igd wrote it", _rebuild_fix(root, record))


def dataset_intact(root: Path) -> bool:
    """True if `root` holds a manifest and every file matches it (sizes, then sha256)."""
    try:
        record = read_manifest(root)
        if record is None:
            return False
        check_sizes(root, record)
        check_hashes(root, record, {n: file_sha256(root / n) for n in _expected(record)})
        return True
    except (DataError, OSError):
        return False


def _rebuild_fix(root: Path, record: dict) -> str:
    how = {"movielens": f"igd data movielens --out {root}",
           "amazon": f"igd data amazon --reviews FILE --meta FILE --out {root}"}
    command = how.get(record.get("builder"), f"igd data movielens|amazon ... --out {root}")
    return (f"rebuild it with `{command}`; if you changed the files on purpose, delete {MANIFEST} "
            "(the folder then loads as a hand-made dataset)")
