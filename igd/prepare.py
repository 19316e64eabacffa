"""Shared preprocessing of raw interactions into the D3 layout (README: Datasets).

Both builders (`igd data movielens`, `igd data amazon`) parse their raw sources into
`Interaction`s and item titles, then call the functions here: iterative k-core filtering,
sliding windows of at most 10 history items, and the global chronological 80/10/10 split by
target timestamp. Output files are byte-for-byte deterministic and fingerprinted.

A dataset is written like a checkpoint: into a temporary sibling folder, the manifest
(``igd_dataset.json``: every file's bytes and sha256, the igd version, the source) last, then
renamed into place, so a build killed at any point leaves either nothing or the previous
dataset at ``--out``. Only a folder that igd wrote (manifest, nothing foreign) is replaced.
Titles are cleaned before writing (`clean_text`), so whatever `igd data` writes,
`load_dataset` reads.
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import io
import json
import os
import re
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from igd import __version__
from igd.data import DATA_FILES, INFO_FILE, MANIFEST, SPLITS, DataError, fingerprint_of, title_problem

# A run of control characters or line/paragraph separators, with the spaces around it: each
# becomes one space (a tab or newline in a scraped title stands for a space). Runs of plain
# spaces are kept, as D3 keeps them.
_BREAKS = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_BREAK_RUN_RE = re.compile(f"[ {_BREAKS}]*[{_BREAKS}][ {_BREAKS}]*")
D3_COLUMNS = ("user_id", "item_asins", "item_asin", "history_item_id", "item_id",
              "history_item_title", "item_title", "history_rating", "rating",
              "history_timestamp", "timestamp")


@dataclass(frozen=True)
class Interaction:
    user: str
    item: str  # the source's item key (movie id, ASIN)
    rating: float
    timestamp: int
    order: int  # position in the source file: breaks timestamp ties deterministically


@dataclass(frozen=True)
class Window:
    user: str
    history: tuple[Interaction, ...]
    target: Interaction


def k_core(interactions: Sequence[Interaction], k: int) -> list[Interaction]:
    """Keep interactions whose user and item both have >= k interactions, iterated to a
    fixed point (removing an item can push a user below k and vice versa)."""
    kept = list(interactions)
    while True:
        users = Counter(x.user for x in kept)
        items = Counter(x.item for x in kept)
        nxt = [x for x in kept if users[x.user] >= k and items[x.item] >= k]
        if len(nxt) == len(kept):
            return kept
        kept = nxt


def sliding_windows(interactions: Iterable[Interaction], max_history: int = 10) -> list[Window]:
    """Every interaction after a user's first becomes a target; its history is the (at most
    `max_history`) interactions before it in time."""
    by_user: dict[str, list[Interaction]] = {}
    for x in interactions:
        by_user.setdefault(x.user, []).append(x)
    windows = []
    for user in sorted(by_user):
        seq = sorted(by_user[user], key=lambda x: (x.timestamp, x.order))
        for i in range(1, len(seq)):
            windows.append(Window(user, tuple(seq[max(0, i - max_history):i]), seq[i]))
    return windows


def chronological_split(windows: Sequence[Window],
                        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
                        ) -> dict[str, list[Window]]:
    """Global split by target timestamp (D3 protocol, not leave-one-out): the earliest 80% of
    targets train, the next 10% validate, the last 10% test."""
    if abs(sum(fractions) - 1.0) > 1e-9 or min(fractions) < 0:
        raise ValueError(f"split fractions must be >= 0 and sum to 1, got {fractions}")
    ordered = sorted(windows, key=lambda w: (w.target.timestamp, w.target.order, w.user))
    n = len(ordered)
    a = int(n * fractions[0])
    b = int(n * (fractions[0] + fractions[1]))
    return {"train": ordered[:a], "valid": ordered[a:b], "test": ordered[b:]}


def clean_text(text: str) -> str:
    """`text` with every run of control characters, tabs and line breaks made one space."""
    return _BREAK_RUN_RE.sub(" ", text)


def write_d3(out: Path, titles: Mapping[str, str], splits: Mapping[str, Sequence[Window]],
             manifest: dict) -> str:
    """Write info.txt + split CSVs + the manifest into `out`; returns the dataset fingerprint.

    Item ids are assigned 0..N-1 in sorted order of the source item keys that occur in any
    split, so the same input gives the same bytes. Titles must already be clean (the
    builders drop items whose title `title_problem` rejects). Refuses to replace a folder
    that igd did not write (nothing already stored is lost).
    """
    out = Path(out)
    check_replaceable(out)
    keys = sorted({x.item for ws in splits.values() for w in ws for x in (*w.history, w.target)})
    ids = {key: i for i, key in enumerate(keys)}
    for key in keys:
        if problem := title_problem(titles[key]):  # a builder bug, not a data error
            raise ValueError(f"title of item {key!r}: {problem}; clean titles before write_d3")
    for name in SPLITS:
        if not splits.get(name):
            raise DataError(out, None, f"only {sum(len(ws) for ws in splits.values())} sliding windows "
                            f"survive preprocessing: the {name} split would be empty",
                            "use more interactions (a larger input, or a lower k)")
    files = {INFO_FILE: "".join(f"{titles[k]}\t{ids[k]}\n" for k in keys).encode()}
    for name in SPLITS:
        files[f"{name}.csv"] = _csv_text(splits[name], titles, ids).encode()
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    fingerprint = fingerprint_of(digests)
    record = {**manifest, "igd_version": __version__, "items": len(keys),
              "rows": {s: len(splits[s]) for s in SPLITS},
              "files": {n: {"bytes": len(files[n]), "sha256": digests[n]} for n in files},
              "fingerprint": fingerprint}
    files[MANIFEST] = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    write_folder(out, files)
    return fingerprint


def _csv_text(windows: Sequence[Window], titles: Mapping[str, str], ids: Mapping[str, int]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(D3_COLUMNS)
    for w in windows:
        h, t = w.history, w.target
        writer.writerow([
            w.user, repr([x.item for x in h]), t.item, repr([ids[x.item] for x in h]), ids[t.item],
            repr([titles[x.item] for x in h]), titles[t.item], repr([float(x.rating) for x in h]),
            float(t.rating), repr([x.timestamp for x in h]), t.timestamp])
    return buf.getvalue()


def check_replaceable(out: Path) -> None:
    """Raise unless `out` is absent, empty, or a dataset igd wrote (manifest, no other files).

    Builders call it first, so a refused --out fails before minutes of preprocessing."""
    out = Path(os.path.realpath(out))
    if out.exists() and not out.is_dir():
        raise DataError(out, None, "output path exists and is not a directory",
                        "pass a new or empty directory to --out")
    entries = list(out.iterdir()) if out.is_dir() else []
    if entries and not (out / MANIFEST).is_file():
        raise DataError(out, None, f"output directory is not empty and was not written by igd (no {MANIFEST})",
                        "pass a new or empty directory to --out, or move this one away (nothing was changed)")
    ours = {*DATA_FILES, MANIFEST, *(f"{n}.tmp" for n in (*DATA_FILES, MANIFEST))}  # .tmp: igd 0.1.0
    foreign = sorted(p.name for p in entries if p.name not in ours or not p.is_file())
    if foreign:
        raise DataError(out, None, f"output directory holds files igd did not write ({', '.join(foreign[:3])})",
                        "move those files elsewhere or pass another --out (nothing was changed)")


def write_folder(out: Path, files: Mapping[str, bytes]) -> None:
    """Write `files` into a temporary sibling of `out`, then put it in place of `out`.

    The last file written should be the manifest: a folder holding it is complete. A build
    killed before the swap leaves its temporary folder (`.NAME.igd-tmp-PID`, cleaned up by
    the next build) and `out` untouched."""
    out = Path(os.path.realpath(out))  # a symlinked --out: replace the folder it points to
    tmp = _sibling(out, "tmp", os.getpid())
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(out)
        if tmp.exists():
            shutil.rmtree(tmp)  # left by an earlier process with our pid
        tmp.mkdir()
        for name, data in files.items():
            _write_file(tmp / name, data)
        _fsync_dir(tmp)
        check_replaceable(out)  # again: something may have appeared there meanwhile
        _swap_in(tmp, out)
    except OSError as e:  # disk full, read-only or unwritable parent: a clear error, `out` as it was
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(e.filename or out, None, f"cannot write the dataset ({e.strerror or e})",
                        "pass an --out on a writable disk with free space (nothing at --out was changed)") from None


def _swap_in(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.rename(tmp, out)
    elif _exchange(tmp, out):  # atomic swap: there is no moment without a dataset at `out`
        shutil.rmtree(tmp)  # now the previous dataset
    else:  # no renameat2: two renames; _clean_stale restores `old` if we die in between
        old = _sibling(out, "old", os.getpid())
        os.rename(out, old)
        os.rename(tmp, out)
        shutil.rmtree(old)
    _fsync_dir(out.parent)


def _sibling(out: Path, kind: str, pid: int) -> Path:
    return out.with_name(f".{out.name}.igd-{kind}-{pid}")


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())  # the manifest must never be on disk before the data it describes


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _clean_stale(out: Path) -> None:
    """Remove the temporary folders of dead builds into `out`; if one died between the two
    renames of the fallback swap, put the previous dataset back first."""
    prefix = f".{out.name}.igd-"
    for path in sorted(out.parent.iterdir()):
        kind, _, pid = path.name[len(prefix):].partition("-")
        if not path.name.startswith(prefix) or kind not in ("tmp", "old") or not pid.isdigit() or not path.is_dir():
            continue
        if int(pid) != os.getpid() and _alive(int(pid)):
            continue  # another build is running
        if kind == "old" and not out.exists():
            os.rename(path, out)
        elif {p.name for p in path.iterdir()} <= {*DATA_FILES, MANIFEST}:
            shutil.rmtree(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
