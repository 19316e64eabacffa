"""Shared preprocessing of raw interactions into the D3 layout (README: Datasets).

Both builders (`igd data movielens`, `igd data amazon`) parse their raw sources into
`Interaction`s and item titles, then call the functions here: iterative k-core filtering,
sliding windows of at most 10 history items, and the global chronological 80/10/10 split by
target timestamp. Output files are byte-for-byte deterministic and fingerprinted.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from igd.data import INFO_FILE, SPLITS, DataError, dataset_fingerprint, file_sha256

MANIFEST = "igd_dataset.json"
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


def write_d3(out: Path, titles: Mapping[str, str], splits: Mapping[str, Sequence[Window]],
             manifest: dict) -> str:
    """Write info.txt + split CSVs + a manifest into `out`; returns the dataset fingerprint.

    Item ids are assigned 0..N-1 in sorted order of the source item keys that occur in any
    split, so the same input gives the same bytes. Refuses to overwrite a directory that holds
    files not written by igd (nothing already stored is lost).
    """
    _check_writable(out)
    keys = sorted({x.item for ws in splits.values() for w in ws for x in (*w.history, w.target)})
    ids = {key: i for i, key in enumerate(keys)}
    for key in keys:
        if "\n" in titles[key] or "\r" in titles[key]:
            raise ValueError(f"title of item {key!r} contains a line break")
    files = {INFO_FILE: "".join(f"{titles[k]}\t{ids[k]}\n" for k in keys)}
    for name in SPLITS:
        files[f"{name}.csv"] = _csv_text(splits.get(name, ()), titles, ids)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        _atomic_write(out / name, text)
    fingerprint = dataset_fingerprint(out)
    record = {**manifest, "items": len(keys),
              "rows": {s: len(splits.get(s, ())) for s in SPLITS},
              "files": {name: file_sha256(out / name) for name in files},
              "fingerprint": fingerprint}
    _atomic_write(out / MANIFEST, json.dumps(record, indent=2, sort_keys=True) + "\n")
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


def _check_writable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(out, None, "output path exists and is not a directory",
                        "pass a new or empty directory to --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise DataError(out, None, "output directory is not empty and was not written by igd",
                        "pass a new or empty directory to --out (nothing there was changed)")


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)
