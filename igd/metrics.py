"""Ranking and diversity metrics (README: Runs; IGD paper appendix F)."""

from __future__ import annotations

import math
from collections import Counter
from typing import Mapping, Sequence

import numpy as np

KS = (1, 3, 5, 10, 20)
# Head items: the most frequent training targets that together cover 80% of the training
# interactions (by count, not the top 20% of items); every other item is tail.
HEAD_SHARE = 0.8


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


def most_frequent_share(keys: Sequence) -> float:
    """Share of the most frequent key in a list (0 for an empty list)."""
    return Counter(keys).most_common(1)[0][1] / len(keys) if len(keys) else 0.0


def first_token_ratio(titles: Sequence[str], first_token: Mapping[str, int]) -> float:
    """FWR as the paper defines it (appendix F): the share of the most frequent first TOKEN
    (under the run's tokenizer) among one user's top list. Lower = more diverse."""
    return most_frequent_share([first_token[t] for t in titles])


def first_word_ratio(titles: Sequence[str]) -> float:
    """FWR by first whitespace word (case-folded): a tokenizer-free variant, `fwr_word`."""
    return most_frequent_share([t.split()[0].lower() if t.split() else "" for t in titles])


def score_entropy(scores: Sequence[float], base: float = 2.0) -> float:
    """ISE of one user's top list: entropy of the softmax of the final item scores, in bits by
    default. The paper's Table 7 reports 2.65-3.08 for 10 items, above ln 10 = 2.30 nats, so
    its figure is in bits (log2 10 = 3.32 at most); `base=math.e` gives nats."""
    x = np.asarray(scores, dtype=np.float64)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        return 0.0
    p = np.exp(x - x.max())
    p /= p.sum()
    return float(-(p * np.log(np.where(p > 0, p, 1.0))).sum() / math.log(base))


def _mean_over_lists(values: list[float]) -> float:
    return float(np.mean(values)) if values else 0.0


def summarize(ranks: Sequence[int | None], top_titles: Sequence[Sequence[str]],
              top_scores: Sequence[Sequence[float]], num_beams: int, invalid: int,
              first_token: Mapping[str, int] | None = None) -> dict[str, float]:
    """All metrics of one evaluation run; K is limited to the number of beams. `fwr` (first
    token, the paper's) needs `first_token` (title -> its first token id): recommenders
    without a tokenizer get `fwr_word` only. `ise` is in bits, `ise_nats` in nats."""
    metrics = hit_ndcg(ranks, [k for k in KS if k <= num_beams])
    lists = [t for t in top_titles if t]
    if first_token is not None:
        metrics["fwr"] = _mean_over_lists([first_token_ratio(t, first_token) for t in lists])
    metrics["fwr_word"] = _mean_over_lists([first_word_ratio(t) for t in lists])
    scored = [s for s in top_scores if len(s)]
    metrics["ise"] = _mean_over_lists([score_entropy(s) for s in scored])
    metrics["ise_nats"] = _mean_over_lists([score_entropy(s, math.e) for s in scored])
    metrics["invalid"] = float(invalid)
    metrics["users"] = float(len(ranks))
    metrics["empty_lists"] = float(sum(1 for t in top_titles if not t))
    return metrics


def head_titles(counts: Mapping[str, int], share: float = HEAD_SHARE) -> set[str]:
    """The head: titles by training-target count, most frequent first (ties by title), until
    they cover `share` of all training targets."""
    total, covered, head = sum(counts.values()), 0, set()
    for title, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if covered >= share * total or n <= 0:
            break
        head.add(title)
        covered += n
    return head


def head_tail(ranks: Sequence[int | None], targets: Sequence[str], head: set[str], k: int = 10) -> dict[str, float]:
    """HR@k and NDCG@k of the users whose target is a head item and of the others (tail),
    with their user counts (`users_head`, `users_tail`); a group without users has no HR."""
    out: dict[str, float] = {}
    for name, inside in (("head", True), ("tail", False)):
        group = [r for r, t in zip(ranks, targets) if (t in head) == inside]
        out[f"users_{name}"] = float(len(group))
        if group:
            out |= {f"{m}_{name}": v for m, v in hit_ndcg(group, [k]).items()}
    return out
