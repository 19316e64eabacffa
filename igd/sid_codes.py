"""Semantic IDs from item embeddings: residual k-means (RQ-KMeans) or random codes, an extra
level that makes colliding codes unique, and the statistics `igd sid build` prints.

RQ-KMeans: level 1 clusters the embeddings, each next level clusters what is left (the residual
after subtracting the item's centroid), so an item's code runs from coarse to fine. k-means is
scikit-learn's (seeded, so codes are deterministic). A small catalogue gets a smaller codebook
than asked for (`codebook_size`), said by the caller: with 256 codes per level, MovieLens'
1,682 items would leave most level-1 codes with one or two items and the later levels empty.
`random` draws each level's code uniformly at random: the control the method's authors report.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np


def codebook_size(n_items: int, levels: int, requested: int) -> int:
    """At most `requested`; for a small catalogue twice the L-th root of its size, so the code
    space (size^L) is about 2^L times the catalogue and level 1 groups several items per code."""
    return max(2, min(requested, 2 * math.ceil(n_items ** (1.0 / levels))))


def rq_kmeans(x: np.ndarray, levels: int, codes: int, seed: int = 0) -> np.ndarray:
    """[n, levels] codes of the rows of `x`, by residual k-means with `codes` clusters per level."""
    from sklearn.cluster import KMeans

    residual = np.asarray(x, dtype=np.float64).copy()
    out = []
    for level in range(levels):
        k = min(codes, len(np.unique(residual.round(12), axis=0)))  # never more clusters than points
        km = KMeans(n_clusters=k, n_init=4, random_state=seed + level).fit(residual)
        out.append(km.labels_.astype(np.int64))
        residual -= km.cluster_centers_[km.labels_]
    return np.stack(out, axis=1)


def random_codes(n_items: int, levels: int, codes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, codes, size=(n_items, levels), dtype=np.int64)


def with_unique_level(codes: np.ndarray) -> np.ndarray:
    """Append a level numbering the items that share a full code (0, 1, ... in item order), so
    every item's code is unique; items alone on their code get 0."""
    seen: Counter[tuple[int, ...]] = Counter()
    extra = []
    for row in map(tuple, codes):
        extra.append(seen[row])
        seen[row] += 1
    return np.concatenate([codes, np.array(extra, dtype=np.int64)[:, None]], axis=1)


@dataclass(frozen=True)
class CodeStats:
    collision_rate: float  # share of items whose full code another item also has
    utilisation: tuple[float, ...]  # per level: distinct codes used / codebook size


def code_stats(codes: np.ndarray, codebook: int) -> CodeStats:
    counts = Counter(map(tuple, codes))
    collided = sum(n for n in counts.values() if n > 1)
    return CodeStats(collided / len(codes),
                     tuple(len(np.unique(codes[:, level])) / codebook for level in range(codes.shape[1])))
