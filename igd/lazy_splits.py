"""Splits parsed on first use: `igd.data.load_dataset(root, lazy=True)`.

The app's Recommend page needs info.txt and, for a real test user, test.csv; parsing MovieLens'
~100k training rows cost 3 s of its first use. Training counts for the IG trie come from the
checkpoint (`item_prior.json`), so the training split is often never parsed at all.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable, Iterator, Mapping

if TYPE_CHECKING:
    from igd.data import Sample


class LazySplits(Mapping):
    """Split name -> samples, each split parsed on its first use (once, thread-safe: the app's
    sessions share one loaded dataset). `duplicates` maps a split to its fully duplicated rows."""

    def __init__(self, parsers: Mapping[str, Callable[[], tuple[tuple[Sample, ...], int]]]):
        self._parsers = dict(parsers)
        self._done: dict[str, tuple[tuple[Sample, ...], int]] = {}
        self._lock = threading.Lock()
        self.duplicates: Mapping[str, int] = _Duplicates(self)

    def parsed(self, name: str) -> tuple[tuple[Sample, ...], int]:
        with self._lock:
            if name not in self._done:
                self._done[name] = self._parsers[name]()
            return self._done[name]

    def parsed_names(self) -> tuple[str, ...]:
        return tuple(n for n in self._parsers if n in self._done)

    def __getitem__(self, name: str) -> tuple[Sample, ...]:
        if name not in self._parsers:
            raise KeyError(name)
        return self.parsed(name)[0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parsers)

    def __len__(self) -> int:
        return len(self._parsers)


class _Duplicates(Mapping):
    def __init__(self, splits: LazySplits):
        self._splits = splits

    def __getitem__(self, name: str) -> int:
        if name not in self._splits:
            raise KeyError(name)
        return self._splits.parsed(name)[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._splits)

    def __len__(self) -> int:
        return len(self._splits)
