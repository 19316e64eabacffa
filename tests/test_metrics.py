"""Ranking and diversity metrics (README: Runs) on hand-made lists."""

import math

import pytest

from igd.metrics import first_token_ratio, first_word_ratio, hit_ndcg, rank_of, score_entropy, summarize


def test_rank_of_first_match_by_title():
    assert rank_of("a", ["x", "a", "a"]) == 2  # duplicates: the first occurrence counts
    assert rank_of("a", ["a"]) == 1
    assert rank_of("a", ["x", "y"]) is None
    assert rank_of("a", []) is None
    assert rank_of("a", ["A", "a "]) is None  # exact text, no case or space folding


def test_hit_ndcg_by_hand():
    m = hit_ndcg([1, 3, None, 10], [1, 3, 5, 10])
    assert m["hr@1"] == 0.25 and m["ndcg@1"] == 0.25  # 1 / log2(1 + 1) = 1
    assert m["hr@3"] == 0.5 and m["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / 4)  # .375
    assert m["hr@5"] == 0.5 and m["ndcg@5"] == pytest.approx(0.375)
    assert m["hr@10"] == 0.75
    assert m["ndcg@10"] == pytest.approx((1 + 0.5 + 1 / math.log2(11)) / 4)  # .44727
    assert set(m) == {f"{x}@{k}" for x in ("hr", "ndcg") for k in (1, 3, 5, 10)}


def test_hit_ndcg_no_hits_and_no_users():
    assert hit_ndcg([None, None], [1]) == {"hr@1": 0.0, "ndcg@1": 0.0}
    with pytest.raises(ValueError, match="no users"):
        hit_ndcg([], [1, 3])


def test_first_word_ratio():
    assert first_word_ratio(["The Matrix", "the Thing", "Alien", "Heat"]) == 0.5  # case-folded "the"
    assert first_word_ratio(["a", "b", "c", "d"]) == 0.25
    assert first_word_ratio(["Up", "Up 2"]) == 1.0
    assert first_word_ratio([]) == 0.0


def test_first_token_ratio_uses_the_tokenizer_not_words():
    # "Star Wars" and "Stargate" share the first token "Star" but not the first word
    first = {"Star Wars": 7, "Stargate": 7, "Star Trek": 7, "Alien": 3}
    assert first_token_ratio(["Star Wars", "Stargate", "Star Trek", "Alien"], first) == 0.75
    assert first_word_ratio(["Star Wars", "Stargate", "Star Trek", "Alien"]) == 0.5


def test_score_entropy_in_bits_and_nats():
    assert score_entropy([-3.0] * 10) == pytest.approx(math.log2(10))  # uniform: 3.32 bits
    assert score_entropy([-3.0] * 10, base=math.e) == pytest.approx(math.log(10))  # 2.30 nats
    assert score_entropy([0.0] + [-100.0] * 9) == pytest.approx(0.0, abs=1e-12)  # one dominant
    assert score_entropy([-1.0, -1.0, float("-inf")]) == pytest.approx(1.0)  # -inf dropped: 1 bit
    assert score_entropy([]) == score_entropy([float("-inf")]) == 0.0
    # softmax of (0, ln 1/3): p = (3/4, 1/4): 0.81128 bits
    assert score_entropy([0.0, math.log(1 / 3)]) == pytest.approx(0.811278, abs=1e-6)


def test_summarize_limits_k_to_beams():
    titles = [["The A", "The B", "C"], ["X", "Y", "Z"], []]
    scores = [[0.0, 0.0, 0.0], [0.0, -1e4, -1e4], []]
    first = {"The A": 1, "The B": 1, "C": 2, "X": 3, "Y": 4, "Z": 4}
    m = summarize([1, 3, None], titles, scores, num_beams=4, invalid=2, first_token=first)
    assert {k for k in m if "@" in k} == {"hr@1", "ndcg@1", "hr@3", "ndcg@3"}  # 5, 10, 20 > 4 beams
    assert m["hr@1"] == pytest.approx(1 / 3) and m["hr@3"] == pytest.approx(2 / 3)
    assert m["ndcg@3"] == pytest.approx((1 + 0.5) / 3)
    assert m["fwr"] == pytest.approx((2 / 3 + 2 / 3) / 2)  # tokens; the empty list is left out
    assert m["fwr_word"] == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert m["ise"] == pytest.approx((math.log2(3) + 0.0) / 2)  # bits
    assert m["ise_nats"] == pytest.approx((math.log(3) + 0.0) / 2)
    assert (m["invalid"], m["users"], m["empty_lists"]) == (2.0, 3.0, 1.0)


def test_summarize_all_k_with_twenty_beams_and_empty_input():
    m = summarize([1], [["a"]], [[0.0]], num_beams=20, invalid=0)
    assert "fwr" not in m and "fwr_word" in m  # no tokenizer, no first-token FWR
    assert [k for k in m if k.startswith("hr@")] == ["hr@1", "hr@3", "hr@5", "hr@10", "hr@20"]
    with pytest.raises(ValueError, match="no users"):
        summarize([], [], [], num_beams=10, invalid=0)


def test_evaluation_ranks_a_target_spelled_differently_on_the_same_path():
    # "Café" composed and decomposed tokenise alike under an NFC tokenizer (as Qwen's): one trie
    # path, which decoding returns under its first spelling. The decomposed target is still a hit.
    import unicodedata
    from collections import Counter
    from types import SimpleNamespace

    from igd.data import Catalogue, Sample
    from igd.evaluate import EvalConfig, _score
    from igd.info_gain import build_ig_trie
    from igd.templates import Template
    from igd.tokenization import CharTokenizer

    class NFCChar(CharTokenizer):
        def encode(self, text):
            return super().encode(unicodedata.normalize("NFC", text))

    composed, decomposed = unicodedata.normalize("NFC", "Café"), unicodedata.normalize("NFD", "Café")
    catalogue = Catalogue((composed, decomposed, "Tea"))
    ig = build_ig_trie(catalogue, Counter(), NFCChar(), Template())
    assert ig.seq_titles[0] == (composed, decomposed)

    data = SimpleNamespace(catalogue=catalogue)  # all _score reads of a Dataset
    results = [{"items": ["Tea", composed], "scores": [-1.0, -2.0]}]
    metrics, predictions = _score([Sample("u", (), 1)], data, results, EvalConfig(), 0, ig)
    assert predictions[0]["rank"] == 2 and metrics["hr@3"] == 1.0
    # reported under the trie path's spelling, so items[rank - 1] == target_title (the store checks it)
    assert predictions[0]["target_title"] == composed
