"""Paired comparisons of two arms with the USER as the unit (pure: predictions in, numbers out).

A test split in the D3 layout holds sliding windows: one user can have many test rows (on
MovieLens-100K's global chronological split, 5,000 evenly spread rows come from 161 users, one
of them with 208 rows). Rows of one user are not independent, so:

- each user's value is their metric averaged over their rows and over the seeds both arms
  share; the two-sided sign test (scipy.stats.binomtest) counts users up / down, ties dropped;
- the 95% interval of the mean per-row difference is a cluster bootstrap: users are resampled
  with replacement, each bringing all their rows (scipy.stats.bootstrap, paired, on each user's
  summed difference and row count; the statistic is their ratio);
- the per-seed differences show how much of the effect one seed carries.

With one row per user all of this equals the row-level test (the same bootstrap call as before
users were counted), so datasets with one test row per user keep their numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED = 2000, 0
TIE = 1e-12  # a user whose rows' differences cancel is a tie, not a float-rounding win


def row_values(predictions: Sequence[Mapping], metric: str) -> dict[int, float]:
    """user_index (a test row) -> HR@K (0/1) or NDCG@K (1/log2(rank+1)) of one run."""
    name, k = metric.split("@")
    if name not in ("hr", "ndcg"):
        raise ValueError(f"metric {metric!r}: paired tests take hr@K or ndcg@K")

    def value(rank: int | None) -> float:
        if rank is None or rank > int(k):
            return 0.0
        return 1.0 if name == "hr" else 1.0 / math.log2(rank + 1)

    return {int(p["user_index"]): value(p["rank"]) for p in predictions}


def _cluster_ci(diff, index) -> tuple[float, float]:
    """95% percentile interval of the mean row difference, users resampled (rows go with them).
    `index`: each row's user, numbered 0..users-1."""
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(BOOTSTRAP_SEED)
    if np.all(diff == diff[0]):  # no spread to resample
        return float(diff[0]), float(diff[0])
    if index.max() + 1 == len(diff):  # one row per user: the plain paired bootstrap
        ci = stats.bootstrap((diff,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                             random_state=rng).confidence_interval
        return float(ci.low), float(ci.high)
    sums, counts = np.bincount(index, weights=diff), np.bincount(index).astype(float)
    if np.all(sums / counts == sums[0] / counts[0]):
        return float(diff.mean()), float(diff.mean())

    def ratio(s, n, axis=-1):
        return s.sum(axis=axis) / n.sum(axis=axis)

    ci = stats.bootstrap((sums, counts), ratio, paired=True, vectorized=True, n_resamples=BOOTSTRAP_RESAMPLES,
                         method="percentile", random_state=rng).confidence_interval
    return float(ci.low), float(ci.high)


def paired(base: Mapping[int, Sequence[Mapping]], arm: Mapping[int, Sequence[Mapping]], metric: str) -> dict:
    """`base` and `arm`: seed -> that run's predictions (user_index, user_id, rank). Compares the
    seeds both have, on the test rows every one of them has."""
    import numpy as np
    from scipy import stats

    seeds = sorted(set(base) & set(arm))
    if not seeds:
        raise ValueError("no seed evaluated under both arms")
    per_seed = [(row_values(base[s], metric), row_values(arm[s], metric)) for s in seeds]
    rows = sorted(set.intersection(*[set(a) & set(b) for a, b in per_seed]))
    if not rows:
        raise ValueError("no per-user predictions stored for both arms")
    owner_of = {int(p["user_index"]): str(p["user_id"]) for p in base[seeds[0]]}
    a_seed = np.array([[pa[r] for r in rows] for pa, _ in per_seed])
    b_seed = np.array([[pb[r] for r in rows] for _, pb in per_seed])
    a, b = a_seed.mean(axis=0), b_seed.mean(axis=0)
    diff = b - a
    users, index = np.unique([owner_of[r] for r in rows], return_inverse=True)
    by_user = np.bincount(index, weights=diff) / np.bincount(index)
    wins, losses = int((by_user > TIE).sum()), int((by_user < -TIE).sum())
    p_sign = stats.binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
    low, high = _cluster_ci(diff, index)
    mean_a, mean_b = float(a.mean()), float(b.mean())
    return {"metric": metric, "seeds": seeds, "rows": len(rows), "users": len(users), "base": mean_a, "arm": mean_b,
            "relative": (mean_b - mean_a) / mean_a if mean_a else float("nan"), "wins": wins,
            "losses": losses, "p_sign": float(p_sign), "ci_low": low, "ci_high": high,
            "per_seed": [float(d) for d in (b_seed - a_seed).mean(axis=1)],
            "evidence": tuple(np.round(diff, 12))}


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment over the p-values given (None: no test, kept None)."""
    from statsmodels.stats.multitest import multipletests

    tested = [i for i, p in enumerate(pvalues) if p is not None]
    out: list[float | None] = [None] * len(pvalues)
    if tested:
        adjusted = multipletests([pvalues[i] for i in tested], method="holm")[1]
        for i, p in zip(tested, adjusted):
            out[i] = float(p)
    return out


def identical_sets(base: Mapping[int, Sequence[Mapping]], arm: Mapping[int, Sequence[Mapping]]) -> dict | None:
    """Over the seeds and test rows both arms have: the share of rows whose top-K SETS are the
    same (order aside) and the users all of whose rows are; None when the stored lists (or
    their digests, igd.store_schema.set_digest) are gone for either arm."""
    seeds = sorted(set(base) & set(arm))
    same, total, user_rows = 0, 0, {}
    for s in seeds:
        digests = {int(p["user_index"]): (p.get("top_set"), str(p["user_id"])) for p in base[s]}
        for p in arm[s]:
            mine, (theirs, user) = p.get("top_set"), digests.get(int(p["user_index"]), (None, None))
            if mine is None or theirs is None:
                continue
            total += 1
            same += mine == theirs
            user_rows.setdefault(user, []).append(mine == theirs)
    if not total:
        return None
    return {"rows": total, "same_rows": same, "users": len(user_rows),
            "same_users": sum(all(v) for v in user_rows.values()), "seeds": seeds}
