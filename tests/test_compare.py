"""igd.compare (what the app shows) on a character-level catalogue and a tiny random Qwen2."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from igd.checkpoint import Checkpoint
from igd.compare import History, Loaded, check_history, common_node, compare, explore, fit_prompt, path_rows
from igd.data import Catalogue
from igd.info_gain import build_ig_trie
from igd.models import CompactTokenizer, TinyConfig, build_tiny
from igd.templates import Template
from igd.tokenization import CharTokenizer

TOK = CompactTokenizer(CharTokenizer(), [10, *range(32, 127)])  # newline and printable ASCII
TITLES = ("ab", "abc", "abd", "ba", "bb", "c", "cab", "cc", "dd", "da", "db", "dc")
COUNTS = Counter({"ab": 4, "abc": 2, "abd": 2, "ba": 3, "c": 1, "cab": 1, "dd": 2})
TEMPLATE = Template(preamble="short", max_history=3)


def loaded(seed: int, max_length: int = 512) -> Loaded:
    model = build_tiny(TOK.vocab_size, TinyConfig(hidden_size=32, layers=1, heads=2, intermediate_size=64),
                       TOK, seed=seed).eval()
    ig = build_ig_trie(Catalogue(TITLES), COUNTS, TOK, TEMPLATE)
    meta = {"config": {"max_length": max_length}}
    return Loaded(Checkpoint(model, TOK, TEMPLATE, meta, Path(f"ckpt{seed}")), ig)


@pytest.fixture(scope="module")
def sft():
    return loaded(0)


@pytest.fixture(scope="module")
def igd():
    return loaded(1)


def test_check_history_skips_unknown_keeps_latest_repeat_and_truncates():
    h = check_history(["ab", " nope ", "c", "", "ab", "dd", "ba", "x"], Catalogue(TITLES), max_history=3)
    # unknown 'nope', 'x' skipped; the first 'ab' dropped (repeated later); last 3 of [c, ab, dd, ba]
    assert h.titles == ("ab", "dd", "ba")
    assert len(h.notes) == 3
    assert "2 title(s) not in the catalogue" in h.notes[0] and "'nope', 'x'" in h.notes[0]
    assert "1 repeated item(s)" in h.notes[1]
    assert "last 3 of 4 items" in h.notes[2]


def test_check_history_of_a_clean_history_says_nothing():
    assert check_history(["ab", "c"], Catalogue(TITLES), 10) == History(("ab", "c"), ())


def test_a_500_item_history_is_cut_to_the_training_window():
    many = [TITLES[i % len(TITLES)] for i in range(500)]
    h = check_history(many, Catalogue(TITLES), max_history=3)
    assert len(h.titles) == 3 and any("last 3 of 12 items" in n for n in h.notes)


def test_fit_prompt_drops_the_oldest_items_to_fit_max_length(sft):
    full, dropped = fit_prompt(sft, ["ab", "ba", "cc"])
    assert dropped == 0 and full == TOK.encode(TEMPLATE.prompt(["ab", "ba", "cc"]))
    longest = int(sft.ig.trie.lengths.max())  # 'abc\n' + EOS = 5
    short = loaded(0, max_length=len(TOK.encode(TEMPLATE.prompt(["cc"]))) + longest)
    prompt, dropped = fit_prompt(short, ["ab", "ba", "cc"])
    assert dropped == 2 and prompt == TOK.encode(TEMPLATE.prompt(["cc"]))


def test_compare_says_once_when_the_history_is_cut_to_fit(sft, igd):
    short = loaded(0, max_length=len(TOK.encode(TEMPLATE.prompt(["cc"]))) + int(sft.ig.trie.lengths.max()))
    c = compare(short, short, ["ab", "ba", "cc"], k=3, beams=3)
    assert c.notes == ("BIGRec, D3, IGD: the 2 oldest item(s) dropped to fit the checkpoint's max_length "
                       f"of {short.max_length} tokens (as training did).",)


def test_compare_gives_three_lists_of_k_distinct_catalogue_items(sft, igd):
    c = compare(sft, igd, ["ab", "ba"], k=5, beams=8, alpha=0.5)
    assert list(c.sides) == ["bigrec", "d3", "igd"]
    for m in c.sides:
        titles = [r.title for r in c.top(m)]
        assert len(titles) == 5 == len(set(titles)) and set(titles) <= set(TITLES)
    assert c.sides["igd"].alpha == 0.5 and c.sides["d3"].alpha == 0.0
    assert c.sides["igd"].loaded is igd and c.sides["bigrec"].loaded is sft
    tops = [{r.title for r in c.top(m)} for m in c.sides]
    assert c.differing() == set.union(*tops) - set.intersection(*tops)
    assert c.seconds > 0


def test_hide_history_leaves_history_items_out(sft, igd):
    shown = compare(sft, igd, ["ab", "ba", "c"], k=8, beams=12)
    hidden = compare(sft, igd, ["ab", "ba", "c"], k=8, beams=12, hide_history=True)
    for m in shown.sides:
        kept = [r.title for r in shown.sides[m].recs if r.title not in {"ab", "ba", "c"}][:8]
        assert [r.title for r in hidden.top(m)] == kept


@pytest.mark.parametrize("kwargs, message", [
    ({"history": []}, "history is empty"),
    ({"history": ["ab"], "k": 11}, "K=11"),
])
def test_compare_refuses_bad_requests(sft, igd, kwargs, message):
    with pytest.raises(ValueError, match=message):
        compare(sft, igd, **kwargs)


@pytest.mark.parametrize("method", ["d3", "igd"])
def test_path_rows_carry_igd_ig_and_sum_to_the_beam_score(sft, igd, method):
    c = compare(sft, igd, ["ab", "ba"], k=5, beams=8, alpha=0.5)
    rec = c.top(method)[0]
    path, candidates = path_rows(c.sides[method], rec.title)
    np.testing.assert_array_equal([r["ig"] for r in path], c.sides[method].loaded.ig.path(rec.title)[1])
    assert [r["token_id"] for r in path] == list(rec.token_ids)
    assert sum(r["score"] for r in path) == pytest.approx(rec.score, abs=1e-4)  # D3/IGD: a sum
    assert all(r["zero_ig"] == (r["ig"] == 0.0) for r in path)
    assert path[-1]["token"] == "<eos>" and path[-2]["token"] == "⏎"
    for r in path:  # each step's candidates: exactly one chosen, the path's token
        chosen = [c for c in candidates if c["step"] == r["step"] and c["chosen"]]
        assert len(chosen) == 1 and chosen[0]["token"] == r["token"]


def test_common_node_is_the_shared_prefix(sft):
    ig = sft.ig
    seqs = [ig.title_to_seq[t] for t in ("ab", "abc", "abd")]
    node = common_node(ig, seqs)  # 'a', 'b' shared; then '\n' / 'c' / 'd' differ
    assert ig.trie.walk(np.array([TOK.encode("ab")]))[0] == node
    assert common_node(ig, [ig.title_to_seq["ab"], ig.title_to_seq["ba"]]) == 0
    assert common_node(ig, []) == 0


def test_explore_a_prefix(sft):
    e = explore(sft, "AB")  # case-insensitive: ab, abc, abd
    assert e["n_matches"] == 3 and e["path"] == ["a", "b"]
    assert sorted(c["token"] for c in e["children"]) == ["c", "d", "⏎"]
    assert {c["token"]: c["train_targets_below"] for c in e["children"]} == {"⏎": 4, "c": 2, "d": 2}
    assert all(c["items_below"] == 1 for c in e["children"])
    assert e["train_targets"] == 8 and e["entropy"] == pytest.approx(
        -sum(p * np.log(p) for p in (4 / 15, 2 / 15, 2 / 15)), abs=1e-12)
    assert [t["title"] for t in e["titles"]] == ["ab", "abc", "abd"]


def test_explore_keeps_only_next_tokens_towards_matches(sft):
    e = explore(sft, "d")  # dd, da, db, dc share 'd'
    assert e["path"] == ["d"] and e["n_matches"] == 4 and len(e["children"]) == 4
    root = explore(sft, "")
    assert root["node"] == 0 and root["n_matches"] == len(TITLES)
    assert sorted(c["token"] for c in root["children"]) == ["a", "b", "c", "d"]
    assert explore(sft, "zzz")["n_matches"] == 0
