"""Ranking and diversity metrics (METHOD.md §6; IGD paper appendix F)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

KS = (1, 3, 5, 10, 20)


def rank_of(target: str, predicted: Sequence[str]) -> int | None:
    """1-based position of the first prediction equal to the target title; None if absent.
    Items sharing a title are one generative item, so a hit is counted by title."""
    for i, title in enumerate(predicted):
        if title == target:
            return i + 1
    return None


def hit_ndcg(ranks: Sequence[int | None], ks: Sequence[int]) -> dict[str, float]:
    """HR@K = share of users with rank <= K; NDCG@K = mean of 1 / log2(rank + 1) over users
    with rank <= K (one relevant item, so the ideal DCG is 1)."""
    n = len(ranks)
    if n == 0:
        raise ValueError("no users to evaluate")
    out = {}
    for k in ks:
        hits = [r for r in ranks if r is not None and r <= k]
        out[f"hr@{k}"] = len(hits) / n
        out[f"ndcg@{k}"] = sum(1.0 / math.log2(r + 1) for r in hits) / n
    return out


def first_word_ratio(titles: Sequence[str]) -> float:
    """FWR of one user's top list: share of the most frequent first word (lower = more diverse)."""
    words = [t.split()[0].lower() if t.split() else "" for t in titles]
    return Counter(words).most_common(1)[0][1] / len(words) if words else 0.0


def score_entropy(scores: Sequence[float]) -> float:
    """ISE of one user's top list: entropy (nats) of the softmax of the final item scores."""
    x = np.asarray(scores, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return 0.0
    p = np.exp(x - x.max())
    p /= p.sum()
    return float(-(p * np.log(np.where(p > 0, p, 1.0))).sum())


def summarize(ranks: Sequence[int | None], top_titles: Sequence[Sequence[str]],
              top_scores: Sequence[Sequence[float]], num_beams: int, invalid: int) -> dict[str, float]:
    """All metrics of one evaluation run; K is limited to the number of beams."""
    metrics = hit_ndcg(ranks, [k for k in KS if k <= num_beams])
    metrics["fwr"] = float(np.mean([first_word_ratio(t) for t in top_titles if t])) if any(top_titles) else 0.0
    metrics["ise"] = float(np.mean([score_entropy(s) for s in top_scores if len(s)])) if any(
        len(s) for s in top_scores) else 0.0
    metrics["invalid"] = float(invalid)
    metrics["users"] = float(len(ranks))
    metrics["empty_lists"] = float(sum(1 for t in top_titles if not t))
    return metrics
