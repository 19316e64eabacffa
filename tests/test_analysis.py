"""The stored decoding analyses (igd.analysis): the entropy gap per step (Fig. 3) and log p by
IG bin (Fig. 4), by hand on the tiny catalogue of test_info_gain."""

import math

import numpy as np
import pytest

from igd.analysis import entropy_by_step, ig_logp_summary, returned_token_logp
from igd.data import Catalogue, Sample
from igd.info_gain import build_ig_trie, title_counts
from igd.templates import Template
from igd.tokenization import CharTokenizer

CHAR = CharTokenizer()


def h(p: float) -> float:
    return -p * math.log(p)


# p(ab) = 4/8, p(ac) = 1/8, p(a) = 1/8, p(b) = 2/8, p(z) = 0; targets are title + "\n" + EOS
CATALOGUE = Catalogue(("ab", "ac", "b", "ab", "a", "z"))
TRAIN = [Sample("u", (), t) for t in (0, 0, 0, 3, 1, 4, 2, 2)]
H_AB, H_AC, H_A, H_B = h(4 / 8), h(1 / 8), h(1 / 8), h(2 / 8)
H_UNDER_A = H_AB + H_AC + H_A  # the prefix "a": ab, ac and a below it


def ig_trie(unseen: str = "generable"):
    return build_ig_trie(CATALOGUE, title_counts(TRAIN, CATALOGUE), CHAR, Template(), unseen=unseen)


def test_entropy_by_step_by_hand():
    # paths: ab = a,b,\n,EOS; b = b,\n,EOS; ac = a,c,\n,EOS. After "a": H_UNDER_A; after "ab",
    # "ab\n", "ab\n<EOS>": H_AB (one item left); "b...": H_B; "ac...": H_AC.
    out = entropy_by_step(ig_trie(), [["ab", "b"], ["ac"]], ["b", "ab"])
    assert out["h_pred@1"] == pytest.approx((2 * H_UNDER_A + H_B) / 3) and out["n_pred@1"] == 3
    assert out["h_pred@2"] == pytest.approx((H_AB + H_B + H_AC) / 3)
    assert out["h_pred@3"] == pytest.approx((H_AB + H_B + H_AC) / 3) and out["n_pred@3"] == 3
    assert out["h_pred@4"] == pytest.approx((H_AB + H_AC) / 2) and out["n_pred@4"] == 2  # b has 3 tokens
    assert out["h_truth@1"] == pytest.approx((H_B + H_UNDER_A) / 2)
    assert out["h_truth@4"] == pytest.approx(H_AB) and out["n_truth@4"] == 1
    assert "h_pred@5" not in out and "n_truth@5" not in out


def test_entropy_by_step_keeps_the_top_and_drops_targets_off_the_trie():
    out = entropy_by_step(ig_trie("excluded"), [["b", "ab"]], ["z"], top=1)  # z: never a target
    assert out["h_pred@1"] == pytest.approx(H_B) and out["n_pred@1"] == 1
    assert not any(k.startswith(("h_truth", "n_truth")) for k in out)
    generable = entropy_by_step(ig_trie(), [["b"]], ["z"])  # z is a path, with zero mass
    assert generable["h_truth@1"] == 0.0 and generable["n_truth@1"] == 1


def test_ig_logp_summary_by_hand():
    igs = np.array([0.0, 0.0, 0.0005, 0.5, 2.0, 0.7])
    logps = np.array([-0.1, -2.0, -0.3, -1.0, -3.0, -0.2])
    out = ig_logp_summary(igs, logps)
    assert out["iglogp_n@0"] == 2 and out["iglogp_mean@0"] == pytest.approx(-1.05)
    assert out["iglogp_high@0"] == 0.5  # p = e^-0.1 > 0.5, p = e^-2 < 0.5
    assert out["iglogp_n@(0,0.001]"] == 1 and out["iglogp_mean@(0,0.001]"] == pytest.approx(-0.3)
    assert out["iglogp_n@(0.1,1]"] == 2 and out["iglogp_mean@(0.1,1]"] == pytest.approx(-0.6)
    assert out["iglogp_high@(0.1,1]"] == 0.5  # e^-0.2 > 0.5 > e^-1
    assert out["iglogp_n@(1,inf)"] == 1 and out["iglogp_high@(1,inf)"] == 0.0
    assert out["iglogp_n@(0.001,0.01]"] == 0 and "iglogp_mean@(0.001,0.01]" not in out


def test_returned_token_logp_equals_the_token_path_of_each_title():
    import torch

    from igd.config import TinyConfig
    from igd.decode import explain
    from igd.models import build_tiny

    ig = ig_trie()
    model = build_tiny(CHAR.vocab_size, TinyConfig(hidden_size=32, layers=1, heads=2, intermediate_size=64),
                       CHAR, seed=0).eval()
    prompts = [[120, 121, 10], [122, 10]]  # "xy\n", "z\n": prompts of different lengths
    lists = [["ab", "b"], ["ac", "a", "nope"]]  # an off-trie title is skipped
    igs, logps = returned_token_logp(model, ig, prompts, lists, CHAR.pad_token_id)
    with torch.no_grad():
        want = [(s.ig, s.logprob) for p, items in zip(prompts, lists) for t in items if t != "nope"
                for s in explain(model, ig, p, t)]
    assert len(igs) == len(want) == 4 + 3 + 4 + 3
    np.testing.assert_allclose(igs, [w[0] for w in want], atol=0)
    np.testing.assert_allclose(logps, [w[1] for w in want], atol=1e-5)
