"""igd.report_stats: the user, not the test row, is the unit of a paired comparison."""

import numpy as np
import pytest
from scipy import stats

from igd.report_stats import holm, identical_sets, paired


def preds(ranks_by_user: dict[str, list[int | None]], digest: str | None = None) -> list[dict]:
    """One prediction per test row, rows numbered in user order (a sliding-window split)."""
    rows, i = [], 0
    for user, ranks in ranks_by_user.items():
        for rank in ranks:
            rows.append({"user_index": i, "user_id": user, "rank": rank, "top_set": digest})
            i += 1
    return rows


def test_two_users_with_many_rows_do_not_look_like_many_users():
    # u1: IGD hits on all 10 rows where D3 missed; u2: both hit on all 10 rows.
    base = {0: preds({"u1": [None] * 10, "u2": [1] * 10})}
    arm = {0: preds({"u1": [1] * 10, "u2": [1] * 10})}
    t = paired(base, arm, "hr@10")
    assert (t["rows"], t["users"], t["wins"], t["losses"]) == (20, 2, 1, 0)
    assert t["p_sign"] == 1.0  # one user up: no evidence (over rows: 10/0, p = 0.002)
    assert stats.binomtest(10, 10, 0.5).pvalue == pytest.approx(0.00195, abs=1e-5)
    assert (t["base"], t["arm"]) == (0.5, 1.0) and t["relative"] == 1.0


def test_cluster_bootstrap_resamples_users_with_all_their_rows():
    # u1: +1 on 4 rows, u2: 0 on 4 rows. Resampling the 2 users gives a mean row difference of
    # 1 (u1 twice, p 1/4), 1/2 (p 1/2) or 0 (u2 twice, p 1/4): the 95% interval is [0, 1].
    # Resampling the 8 rows instead would give about [0.125, 0.875].
    base = {0: preds({"u1": [None] * 4, "u2": [None] * 4})}
    arm = {0: preds({"u1": [1] * 4, "u2": [None] * 4})}
    t = paired(base, arm, "hr@10")
    assert (t["ci_low"], t["ci_high"]) == (0.0, 1.0)
    assert (t["wins"], t["losses"], t["users"], t["rows"]) == (1, 0, 2, 8)


def test_one_row_per_user_gives_the_row_level_numbers():
    rng = np.random.default_rng(3)
    users = {f"u{i}": [int(r) if r else None] for i, r in enumerate(rng.integers(0, 12, 60))}
    other = {u: [int(r) if r else None] for u, r in zip(users, rng.integers(0, 12, 60))}
    t = paired({0: preds(users)}, {0: preds(other)}, "ndcg@10")
    value = {None: 0.0, **{r: (1 / np.log2(r + 1) if r <= 10 else 0.0) for r in range(1, 12)}}
    diff = np.array([value[other[u][0]] - value[users[u][0]] for u in users])
    ci = stats.bootstrap((diff,), np.mean, n_resamples=2000, method="percentile",
                         random_state=np.random.default_rng(0)).confidence_interval
    assert (t["ci_low"], t["ci_high"]) == pytest.approx((ci.low, ci.high))
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    assert (t["wins"], t["losses"], t["users"], t["rows"]) == (wins, losses, 60, 60)
    assert t["p_sign"] == pytest.approx(stats.binomtest(wins, wins + losses).pvalue)


def test_a_user_is_averaged_over_rows_and_seeds_and_per_seed_differences_are_kept():
    # u1 two rows, u2 one row; seed 0: arm +1 on u1's first row; seed 1: arm -1 on u2's row.
    base = {0: preds({"u1": [None, 1], "u2": [1]}), 1: preds({"u1": [None, 1], "u2": [1]})}
    arm = {0: preds({"u1": [1, 1], "u2": [1]}), 1: preds({"u1": [None, 1], "u2": [None]})}
    t = paired(base, arm, "hr@10")
    # per row over seeds: +0.5, 0, -0.5 -> u1 mean +0.25 (up), u2 -0.5 (down)
    assert (t["wins"], t["losses"]) == (1, 1) and t["p_sign"] == 1.0
    assert t["per_seed"] == pytest.approx([1 / 3, -1 / 3])
    assert t["base"] == pytest.approx(2 / 3) and t["arm"] == pytest.approx(2 / 3)


def test_rows_whose_differences_cancel_make_a_tie():
    base = {0: preds({"u1": [1, None], "u2": [None]})}
    arm = {0: preds({"u1": [None, 1], "u2": [1]})}
    t = paired(base, arm, "ndcg@10")
    assert (t["wins"], t["losses"]) == (1, 0)  # u1: +1 and -1 cancel


def test_holm_by_hand():
    # sorted .005 .01 .03 .04 times 4 3 2 1 = .02 .03 .06 .04, then made non-decreasing
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.2, None, 0.01]) == pytest.approx([0.2, None, 0.02])
    assert holm([0.8, 0.9]) == pytest.approx([1.0, 1.0])  # 0.8 x 2 capped at 1; 0.9 x 1 raised to it
    assert holm([]) == []


def test_identical_sets_counts_rows_and_users_and_needs_both_lists():
    base = {0: preds({"u1": [1, 2], "u2": [3]}, digest="s")}
    arm = {0: preds({"u1": [2, 1], "u2": [3]}, digest="s")}
    arm[0][2]["top_set"] = "t"  # u2 got another set
    found = identical_sets(base, arm)
    assert (found["same_rows"], found["rows"], found["same_users"], found["users"]) == (2, 3, 1, 2)
    assert identical_sets(base, {0: preds({"u1": [1, 2], "u2": [3]})}) is None  # slimmed before digests
