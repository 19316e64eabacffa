"""igd.compare (what the app shows) on a character-level catalogue and a tiny random Qwen2."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from igd.checkpoint import Checkpoint
from igd.arms_view import divergence, first_difference, item_across_arms, topk_divergence
from igd.compare import (History, Loaded, ViewArm, check_history, common_node, compare_arms, explore, fit_prompt,
                         path_rows, preset_arms, token_text)
from igd.config import DEFAULT_VIEW, VIEW_PRESETS
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


THREE = ("BIGRec", "D3", "IGD-Tuning + IGD-Decoding")  # the app's former fixed columns


def compare(sft, igd, history, k=10, beams=10, alpha=0.2, hide_history=False, labels=THREE):
    return compare_arms(preset_arms(labels, sft, igd, alpha), history, k=k, beams=beams, hide_history=hide_history)


def test_compare_says_once_when_the_history_is_cut_to_fit(sft, igd):
    short = loaded(0, max_length=len(TOK.encode(TEMPLATE.prompt(["cc"]))) + int(sft.ig.trie.lengths.max()))
    c = compare(short, short, ["ab", "ba", "cc"], k=3, beams=3)
    assert c.notes == ("BIGRec, D3, IGD-Tuning + IGD-Decoding: the 2 oldest item(s) dropped to fit the "
                       f"checkpoint's max_length of {short.max_length} tokens (as training did).",)


def test_compare_gives_one_list_of_k_distinct_catalogue_items_per_arm(sft, igd):
    c = compare(sft, igd, ["ab", "ba"], k=5, beams=8, alpha=0.5)
    assert list(c.sides) == list(THREE)
    for m in c.sides:
        titles = [r.title for r in c.top(m)]
        assert len(titles) == 5 == len(set(titles)) and set(titles) <= set(TITLES)
    assert c.sides[THREE[2]].alpha == 0.5 and c.sides["D3"].alpha == 0.0
    assert c.sides[THREE[2]].loaded is igd and c.sides["BIGRec"].loaded is sft
    tops = [{r.title for r in c.top(m)} for m in c.sides]
    assert c.differing() == set.union(*tops) - set.intersection(*tops)
    assert c.seconds > 0


def test_presets_are_the_papers_ablation_on_the_right_checkpoints(sft, igd):
    arms = {a.label: a for a in preset_arms(list(VIEW_PRESETS), sft, igd, alpha=0.3)}
    assert {k: (a.loaded is sft, a.decoding) for k, a in arms.items()} == {
        "BIGRec": (True, "bigrec"), "D3": (True, "d3"), "D3 + IGD-Decoding": (True, "igd"),
        "IGD-Tuning (D3 decoding)": (False, "d3"), "IGD-Tuning + IGD-Decoding": (False, "igd"),
        "BIGRec + IGD": (False, "bigrec_igd")}
    assert set(DEFAULT_VIEW) <= set(VIEW_PRESETS)
    with pytest.raises(ValueError, match="unknown preset"):
        preset_arms(["IGD"], sft, igd)


def test_alpha_0_on_the_sft_checkpoint_is_d3_exactly(sft, igd):
    """Eq. 8 with alpha = 0: every weight is 1, so IGD-Decoding is D3, titles and scores alike."""
    c = compare(sft, igd, ["ab", "ba"], k=8, beams=8, alpha=0.0, labels=("D3", "D3 + IGD-Decoding"))
    assert c.top("D3") == c.top("D3 + IGD-Decoding")  # same titles, token ids and float scores
    assert [r.score for r in c.top("D3")] == [r.score for r in c.top("D3 + IGD-Decoding")]


def test_arms_need_distinct_labels(sft):
    arm = ViewArm("D3", sft, "d3")
    with pytest.raises(ValueError, match="each label once"):
        compare_arms([arm, arm], ["ab"], k=3, beams=3)


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


@pytest.mark.parametrize("method", ["D3", "IGD-Tuning + IGD-Decoding"])
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


ALL = tuple(VIEW_PRESETS)


def test_item_across_arms_ranks_scores_and_shifts(sft, igd):
    c = compare(sft, igd, ["ab", "ba"], k=3, beams=8, alpha=0.5, labels=ALL)
    for title in {r.title for arm in ALL for r in c.top(arm)} | {"cc"}:
        rows = item_across_arms(c, title)
        assert [r.arm for r in rows] == list(ALL) and rows[0].shift == ""
        for row in rows:
            listed = {r.title: (i, r.score) for i, r in enumerate(c.top(row.arm), 1)}
            assert row.rank == (listed[title][0] if title in listed else None)
            if title in listed:  # the force-scored path gives the beam's own score
                assert row.score == pytest.approx(listed[title][1], abs=1e-4)
            assert [p["token_id"] for p in row.path] == sft.ig.path(title)[0].tolist()
            ref = rows[0].rank
            expected = ("=" if row.rank == ref else f"↑{ref - row.rank}" if row.rank < ref else f"↓{row.rank - ref}"
                        ) if ref and row.rank else "new in top K" if row.rank else "left top K" if ref else ""
            assert row.shift == ("" if row is rows[0] else expected)
    with pytest.raises(ValueError, match="not on the item trie"):
        item_across_arms(c, "zz")


def test_bigrec_scores_are_length_normalised(sft, igd):
    c = compare(sft, igd, ["ab"], k=3, beams=8, labels=("BIGRec", "D3"))
    bigrec, d3 = item_across_arms(c, "abc")  # 'abc\n' + EOS: 5 tokens
    assert bigrec.score == pytest.approx(d3.score / 5, abs=1e-6)


def test_divergence_step_is_the_first_differing_token_of_the_top1_paths(sft, igd):
    """Tiny random models with a strong alpha: find arms whose top-1 titles differ, then check
    the step, the candidates (the common prefix's children) and Eq. 8-9 at that step."""
    seen = 0
    for history in (["ab", "ba"], ["cc"], ["dd", "c"], ["abc"], ["ba", "da", "db"]):
        if seen >= 3:  # a few parted pairs suffice; each costs forward passes
            break
        c = compare(sft, igd, history, k=5, beams=8, alpha=1.0, labels=ALL)
        for a, b in [(x, y) for x in ALL for y in ALL if x < y]:
            ta, tb = c.top(a)[0].token_ids, c.top(b)[0].token_ids
            d = divergence(c, a, b)
            assert d.topk_step == topk_divergence(c, a, b)
            if ta == tb:
                assert d.step is None and d.candidates == ()
                continue
            seen += 1
            at = first_difference(ta, tb)
            assert d.step == at + 1 and ta[:at] == tb[:at] and ta[at] != tb[at]
            assert d.chosen == (token_text(sft, ta[at]), token_text(sft, tb[at]))
            node = sft.ig.trie.walk(np.array([ta[:at]]))[0] if at else 0
            assert sorted(r["token_id"] for r in d.candidates) == sorted(sft.ig.trie.children(np.array([node]))[1])
            for arm, s in ((a, "_a"), (b, "_b")):  # log p and weight as explain gives them on the top-1 path
                top = c.top(arm)[0]
                step = path_rows(c.sides[arm], top.title)[0][at]
                row = next(r for r in d.candidates if r["token_id"] == top.token_ids[at])
                assert row[f"log_p{s}"] == pytest.approx(step["log_p"], abs=1e-5)
                assert row[f"weight{s}"] == pytest.approx(step["weight"], abs=1e-9)
                assert row[f"score{s}"] == pytest.approx(row[f"weight{s}"] * row[f"log_p{s}"])
                assert sorted(r[f"order{s}"] for r in d.candidates) == list(range(1, len(d.candidates) + 1))
    assert seen > 0


def test_topk_divergence_compares_prefix_sets():
    from types import SimpleNamespace as N

    from igd.decode import Recommendation

    lists = {"a": [Recommendation("x", 0, (1, 2, 9)), Recommendation("y", 0, (1, 3, 9))],
             "b": [Recommendation("y", 0, (1, 3, 9)), Recommendation("x", 0, (1, 2, 9))],
             "c": [Recommendation("x", 0, (1, 2, 9)), Recommendation("z", 0, (1, 2, 8, 9))]}
    c = N(top=lists.get)
    assert topk_divergence(c, "a", "b") is None  # same titles, other order
    assert topk_divergence(c, "a", "c") == 2  # {1 2, 1 3} vs {1 2}
    assert first_difference((1, 2, 9), (1, 3, 9)) == 1 and first_difference((1,), (1,)) is None


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
    assert all(c["titles_below"] == 1 for c in e["children"])
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


def test_explore_counts_agree_keeps_a_trailing_space_and_shows_a_complete_title():
    """The issue's trie-explorer defects: "The " matched "Theodore Rex"; the title count and the
    per-token counts below disagreed; a complete title showed no IG."""
    titles = ("The Rock", "Theodore Rex", "The Net", "Star Wars", "Stargate", "Starman")
    ig = build_ig_trie(Catalogue(titles), Counter({"The Rock": 3, "The Net": 1, "Theodore Rex": 2, "Star Wars": 2}),
                       TOK, TEMPLATE)
    lo = Loaded(loaded(0).ck, ig)
    e = explore(lo, "the ")
    assert e["n_matches"] == 2 and e["path"] == ["T", "h", "e", "·"]
    assert sorted(c["token"] for c in e["children"]) == ["N", "R"]
    assert explore(lo, "The")["n_matches"] == 3
    star = explore(lo, "Star")  # every matching title is counted once below the next tokens
    assert star["n_matches"] == 3 and sum(c["titles_below"] for c in star["children"]) == 3
    assert explore(lo, "Star")["complete"] == []
    rock = explore(lo, "the rock")
    assert [r["token"] for r in rock["complete"]] == [*"The·Rock", "⏎", "<eos>"]
    # By hand (Eq. 4-5, global priors p_i = count_i / 8): IG(token) = the mass term of the sibling
    # branches it leaves. "T" leaves Star Wars (2), "·" leaves Theodore Rex (2), "R" leaves The
    # Net (1); "h", "e" and every token after "R" leave nothing (IG 0). Each of the three is the
    # smaller IG of its two siblings ("S" 0.974, "o" 0.628, "N" 0.368), so IG~ 0 (Eq. 9).
    mass = lambda c: -c / 8 * np.log(c / 8)
    igs = [r["ig"] for r in rock["complete"]]
    assert igs == pytest.approx([mass(2), 0, 0, mass(2), mass(1), 0, 0, 0, 0, 0], abs=1e-12)
    assert all(r["ig_norm"] == 0 for r in rock["complete"])


def test_token_text_marks_spaces_newlines_and_eos(sft):
    assert [token_text(sft, t) for t in TOK.encode("a b\n")] == ["a", "·", "b", "⏎"]
    assert token_text(sft, sft.ig.eos_token_id) == "<eos>"


def test_token_text_decodes_byte_level_pieces(qwen):
    """Qwen's pieces are 'ĠLion' and ')Ċ'; a character split over two tokens shows its bytes."""
    from types import SimpleNamespace as N

    text = "The Lion (1994)\nAmélie 東"
    compact = CompactTokenizer(qwen, qwen.encode(text))  # as the tiny models see the vocabulary
    shown = N(ig=N(eos_token_id=compact.eos_token_id), ck=N(tokenizer=compact))
    ids = compact.encode(text)
    text = [token_text(shown, i) for i in ids]
    assert "·Lion" in text and ")⏎" in text and not any("Ġ" in t or "Ċ" in t for t in text)
    assert any(t.startswith("‹") and t.endswith("›") for t in text)  # '·東' is split over two tokens
