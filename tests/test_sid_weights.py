"""Semantic-ID token weights (igd.sid_weights), by hand: Front-Greater gains on a toy embedding,
Frequency weights, the multi-target weights and the curriculum pace."""

import math

import numpy as np
import pytest

from igd.sid_weights import front_greater_weights, frequency_weights, level_spreads, pace, task_weights

# Four items on a 2 x 4 rectangle; level 1 splits bottom (0, 1) from top (2, 3), level 2 is unique.
EMB = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0], [2.0, 4.0]])
CODES = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def test_level_spreads_by_hand():
    # level 0: mean (1, 2), every item sqrt(1 + 4) away; level 1: means (1, 0), (1, 4), every item 1 away
    np.testing.assert_allclose(level_spreads(EMB, CODES), [math.sqrt(5), 1.0, 0.0])


def test_front_greater_weights_by_hand():
    g1, g2 = math.sqrt(5) - 1, 1.0  # 1.23607, 1
    total = math.log(1 + g1) + math.log(1 + g2)  # 0.80472 + 0.69315
    w = front_greater_weights(EMB, CODES)
    np.testing.assert_allclose(w, [2 * math.log(1 + g1) / total, 2 * math.log(1 + g2) / total])  # 1.07450, 0.92550
    assert w.sum() == pytest.approx(2) and w[0] > w[1]  # the front level reduces more: weighed more


def test_frequency_weights_by_hand():
    # level-1 codes: 7 twice, 8 once; level-2 codes: 5 twice, 6 once. f=1: 0.1/0.1 = 1; f=2: 0.1/0.19
    w2 = 0.1 / 0.19  # 0.526316
    got = frequency_weights([[7, 5], [7, 6], [8, 5]])
    np.testing.assert_allclose(got[0], [1.0, 1.0])  # both tokens twice: equal, rescaled to sum 2
    np.testing.assert_allclose(got[1], [2 * w2 / (w2 + 1), 2 / (w2 + 1)])  # 0.689655, 1.310345
    np.testing.assert_allclose(got[2], [2 / (w2 + 1), 2 * w2 / (w2 + 1)])
    assert all(sum(t) == pytest.approx(2) for t in got)


def test_task_weights_sum_to_one():
    np.testing.assert_allclose(task_weights([0, 0, 0]), [1 / 3] * 3)
    w = task_weights([0.0, math.log(2), math.log(4)])  # precisions 1, 1/2, 1/4
    np.testing.assert_allclose(w, [4 / 7, 2 / 7, 1 / 7])
    assert w.sum() == pytest.approx(1)


def test_curriculum_pace_over_three_steps():
    c = 0.5  # large, so the numbers read
    assert pace(0, c) == (1.0, 1.0, 0.0)  # Frequency starts switched off
    np.testing.assert_allclose(task_weights([0, 0, 0], step=0, c=c), [0.5, 0.5, 0.0])
    for step in (1, 2, 3):
        d = math.exp(-c * step)  # 0.60653, 0.36788, 0.22313
        np.testing.assert_allclose(task_weights([0, 0, 0], step=step, c=c), np.array([d, d, 1 - d]) / (1 + d))
    # step 3 with the authors' c = 2e-5: Frequency has 6e-5 of the precision, about 3e-5 of the weight
    w = task_weights([0, 0, 0], step=3)
    assert w[2] == pytest.approx((1 - math.exp(-6e-5)) / (1 + math.exp(-6e-5))) and w.sum() == pytest.approx(1)


def test_auto_pace_completes_the_curriculum_within_the_run():
    from igd.sid_weights import auto_pace_c

    c = auto_pace_c(2459)  # the MovieLens SID study's one-epoch run
    assert c == pytest.approx(math.log(20) / 2459) and c == pytest.approx(1.2183e-3, rel=1e-4)
    assert pace(2459, c) == pytest.approx((0.05, 0.05, 0.95))  # CE and Front-Greater handed over to Frequency
    assert pace(2459, 2e-5)[2] == pytest.approx(0.04799, abs=1e-5)  # the authors' c on that run: barely started
    assert auto_pace_c(0) == pytest.approx(math.log(20))  # no division by zero for an empty plan


def test_pace_c_takes_a_positive_number_or_auto():
    from igd.config import ConfigError, TrainConfig

    assert TrainConfig(data="d", out="o", pace_c="auto").pace_c == "auto"
    for bad in ("fast", 0.0, -1e-5):
        with pytest.raises(ConfigError):
            TrainConfig(data="d", out="o", pace_c=bad)
