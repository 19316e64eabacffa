"""Token weights for semantic-ID targets: "Token-Weighted Multi-Target Learning for Generative
Recommenders with Curriculum Learning" (Chiu, Wang, Cheng, 2026; arXiv 2601.17787).

An item is a code of L levels (one token per level) plus EOS. Two information-gain-based
weightings and their multi-target combination:

- Front-Greater: one weight per level, w_l = L log(1 + g_l) / sum_j log(1 + g_j), where g_l is
  how much level l reduces the spread of the item embeddings: spread(l-1) - spread(l), and
  spread(l) is the mean Euclidean distance of the items to the mean of their group when items
  are grouped by their first l codes (level 0: one group; the item-count-weighted mean over
  groups is the plain mean over items). The authors' code hard-codes g per dataset; here it is
  computed from the data. EOS weight 1.
- Frequency: w = (1 - b) / (1 - b^f), b = 0.9, f = the token's count over training targets (a
  token is a (level, code) pair); per target, the non-EOS weights are rescaled to sum to L;
  EOS weight 1.
- Multi-target: L = sum_k w_k L_k over k in (CE, Front-Greater, Frequency), w_k = exp(-s_k) /
  sum_j exp(-s_j) with learnable s (init 0). With the paper's curriculum pace, the CE and
  Front-Greater precisions exp(-s_k) are multiplied by exp(-c step) and the Frequency one by
  1 - exp(-c step) before normalising (c = 2e-5 in the authors' scripts; their released code
  computes the pace but leaves it switched off: `pace=False`).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from igd.config import PACE_C

TASKS = ("ce", "front_greater", "frequency")
FREQUENCY_BASE = 0.9


def level_spreads(embeddings: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """spread(l) for l = 0..L: mean distance of each item to the mean of its group of items
    sharing the first l codes. `embeddings` [n, d], `codes` [n, L] (ints)."""
    embeddings, codes = np.asarray(embeddings, dtype=np.float64), np.asarray(codes)
    out = []
    for level in range(codes.shape[1] + 1):
        _, group = np.unique(codes[:, :level], axis=0, return_inverse=True) if level else (None, np.zeros(len(codes), int))
        group = np.asarray(group).reshape(-1)
        sums = np.zeros((group.max() + 1, embeddings.shape[1]))
        np.add.at(sums, group, embeddings)
        means = sums / np.bincount(group)[:, None]
        out.append(float(np.linalg.norm(embeddings - means[group], axis=1).mean()))
    return np.array(out)


def front_greater_weights(embeddings: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """w_l for l = 1..L (EOS, weight 1, not included)."""
    return front_greater_from_spreads(level_spreads(embeddings, codes))


def front_greater_from_spreads(spreads: np.ndarray) -> np.ndarray:
    """w_l from spread(0..L) (`level_spreads`)."""
    gains = np.maximum(spreads[:-1] - spreads[1:], 0.0)  # g_l >= 0: a finer grouping never spreads more
    logs = np.log1p(gains)
    if logs.sum() == 0:  # no level separates anything: equal weights
        return np.ones(len(gains))
    return len(gains) * logs / logs.sum()


def frequency_weights(targets: Sequence[Sequence[int]], base: float = FREQUENCY_BASE,
                      counts: Counter | None = None) -> list[list[float]]:
    """Per target (its L codes), the L non-EOS weights, rescaled to sum to L. `counts`: each
    (level, code)'s count over the training targets (default: counted over `targets`)."""
    counts = counts if counts is not None else Counter((level, code) for t in targets for level, code in enumerate(t))
    out = []
    for t in targets:
        # f >= 1: a code that is no training target's (a validation-only item) weighs as a rare one
        raw = [(1 - base) / (1 - base ** max(1, counts[(level, code)])) for level, code in enumerate(t)]
        out.append([len(t) * w / sum(raw) for w in raw])
    return out


# --pace-c auto: the CE and Front-Greater paces fall to this at the run's last optimiser step
# (Frequency's rises to 1 - it), so the curriculum completes within training whatever its length.
PACE_END = 0.05


def auto_pace_c(total_steps: int) -> float:
    """c with exp(-c T) = PACE_END at T = the run's planned optimiser steps: c = ln 20 / T.
    The authors' c = 2e-5 fits ~200 epochs of batch 256; a 2,459-step run with it ends with
    Frequency's pace at 0.048, i.e. with no curriculum to speak of."""
    return -math.log(PACE_END) / max(1, total_steps)


def pace(step: int, c: float = PACE_C) -> tuple[float, float, float]:
    """The curriculum's multipliers of the (CE, Front-Greater, Frequency) precisions at `step`."""
    decay = math.exp(-c * step)
    return decay, decay, 1.0 - decay


def task_weights(s: Sequence[float], step: int | None = None, c: float = PACE_C) -> np.ndarray:
    """w_k = exp(-s_k) [* pace_k(step)] / sum_j (...); `step` None: no curriculum (the released code)."""
    precision = np.exp(-np.asarray(s, dtype=np.float64))
    if step is not None:
        precision = precision * np.array(pace(step, c))
    return precision / precision.sum()
