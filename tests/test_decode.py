"""Trie-constrained beam search (Eq. 3, 8-9): the processor by hand on an 8-token vocabulary,
then `generate` end to end on a tiny random Qwen2, checked against brute force."""

import math
from collections import Counter

import numpy as np
import pytest
import torch
from transformers import LogitsProcessorList

from igd.data import Catalogue, Sample
from igd.decode import (DECODINGS, DecodeConfig, TrieLogitsProcessor, generation_config,
                        left_pad, recommend_batch)
from igd.info_gain import build_ig_trie, title_counts
from igd.models import CompactTokenizer, TinyConfig, build_tiny
from igd.templates import Template
from igd.tokenization import CharTokenizer

INF = float("inf")


def h(p: float) -> float:
    return -p * math.log(p)


# -- the processor on a hand-built trie ----------------------------------------------------

# The char tokenizer through a compact vocabulary: base ids 0 (pad), 3 (EOS), "\n", "a", "b",
# "c", "z" become 0..6 in sorted order, and 7 is <unk>.
TOK = CompactTokenizer(CharTokenizer(), [ord(c) for c in "abcz\n"])
PAD, EOS, NL, A, B, C, Z, UNK = range(8)

# ids 0 and 3 share the title "ab" (one path); "a" is a prefix of "ab" and "ac"; "z" is never
# a training target. Priors over N = 8 targets: p(ab) = 3/8, p(ac) = 2/8, p(a) = 1/8,
# p(b) = 2/8, p(z) = 0.
CATALOGUE = Catalogue(("ab", "ac", "b", "ab", "a", "z"))
TRAIN = [Sample("u", (), t) for t in (0, 0, 3, 1, 1, 4, 2, 2)]
H3, H2, H1 = h(3 / 8), h(2 / 8), h(1 / 8)  # .36781, .34657, .25993

# IG~ by hand (IG = the -p ln p mass of the sibling branches that the token leaves):
# root, candidates a, b, z:
#   IG(a) = H2 [b leaves; z has no mass] = .34657
#   IG(b) = H3 + H2 + H1 [ab, ac, a leave] = .97431
#   IG(z) = 0 (a branch with zero prior mass carries no information)
#   max-min over the siblings WITH training mass (a, b; min .34657, max .97431): a 0, b 1;
#   z, without mass, takes no part and gets IG~ 0 (so a and b score as in the seen-only trie)
# node "a", candidates "\n", b, c:
#   IG(\n) = H3 + H2 [ab, ac leave] = .71438
#   IG(b) = H2 + H1 [ac, a leave] = .60650
#   IG(c) = H3 + H1 [ab, a leave] = .62774
#   max-min (min .60650, max .71438): \n 1, b 0, c (H3 - H2) / (H3 - H1) = .19686
# every other node has a single candidate ("\n" or EOS): all equal, IG~ = 0.
IGT_ROOT = {A: 0.0, B: 1.0, Z: 0.0}
IGT_A = {NL: 1.0, B: 0.0, C: (H3 - H2) / (H3 - H1)}

#              PAD   EOS   NL    A     B     C     Z     UNK
LOGP = [-3.0, -2.5, -2.0, -1.0, -1.5, -2.2, -2.8, -4.0]  # hand-set log p, the same for every beam
PROMPT = [UNK, PAD]  # 2 prompt tokens (contents do not matter to the processor)


@pytest.fixture(scope="module")
def ig():
    return build_ig_trie(CATALOGUE, title_counts(TRAIN, CATALOGUE), TOK, Template())


def step(proc, generated, logp=LOGP):
    """One processor call for beams whose generated tokens are `generated` (one row each)."""
    ids = torch.tensor([PROMPT + g for g in generated])
    scores = torch.tensor([logp] * len(generated))
    return proc(ids, scores).clone()  # the processor reuses its buffer on the next call


def expect(rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_compact_char_vocabulary():
    assert TOK.encode("abcz\n") == [A, B, C, Z, NL]
    assert (TOK.vocab_size, TOK.eos_token_id, TOK.pad_token_id, TOK.unk_token_id) == (8, EOS, PAD, UNK)


def test_ig_norm_matches_the_hand_computation(ig):
    assert IGT_A[C] == pytest.approx(0.19686, abs=1e-5)
    a_node = int(ig.trie.step([0], [A])[0])
    for node, hand in ((0, IGT_ROOT), (a_node, IGT_A)):
        _, tokens, edges = ig.trie.children([node])
        assert dict(zip(tokens.tolist(), ig.edge_ig_norm[edges].tolist())) == pytest.approx(hand)


def test_alpha0_masks_off_trie_and_keeps_log_p(ig):
    out = step(TrieLogitsProcessor(ig, prompt_len=2, alpha=0.0), [[]])
    torch.testing.assert_close(out, expect([[-INF, -INF, -INF, -1.0, -1.5, -INF, -2.8, -INF]]))


def test_hand_computed_igd_step_score_at_the_root(ig):
    out = step(TrieLogitsProcessor(ig, prompt_len=2, alpha=0.5), [[]])
    # log p * (1 - 0.5 * IG~): a -1.0 * (1 - .5 * 0), b -1.5 * (1 - .5), z -2.8 * (1 - 0)
    torch.testing.assert_close(out, expect([[-INF, -INF, -INF, -1.0, -0.75, -INF, -2.8, -INF]]),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize("decoding, expected", [
    # BIGRec + IGD: the IGD-weighted step scores, divided by the generated tokens (length
    # penalty 1). "ac": a -1.0 * (1 - .5 * 0), c -2.2 * (1 - .5 * .19686), \n -2.0, EOS -2.5;
    # "b": b -1.5 * (1 - .5 * 1), \n -2.0, EOS -2.5.
    ("bigrec_igd", {"ac": (-1.0 - 2.2 * (1 - 0.5 * 0.196862) - 2.0 - 2.5) / 4, "b": -5.25 / 3}),
    ("igd", {"ac": -1.0 - 2.2 * (1 - 0.5 * 0.196862) - 2.0 - 2.5, "b": -5.25}),  # D3 + IGD: sums
    ("bigrec", {"ac": -7.7 / 4, "b": -6.0 / 3}),  # no weights: mean log p
])
def test_hand_computed_beam_scores_of_each_decoding(ig, decoding, expected):
    spec = DECODINGS[decoding]
    for title, score in expected.items():
        proc = TrieLogitsProcessor(ig, prompt_len=2, alpha=0.5, step_weights=spec.step_weights)
        tokens = TOK.encode(title + "\n") + [EOS]
        for k in range(len(tokens)):  # one beam walking the title, one call per step
            step(proc, [tokens[:k]])
        got = proc.sequence_scores(np.array([ig.title_to_seq[title]]), spec.length_penalty)
        assert got[0] == pytest.approx(score, abs=1e-5), title


def test_beams_at_different_nodes(ig):
    proc = TrieLogitsProcessor(ig, prompt_len=2, alpha=0.5)
    out = step(proc, [[A], [B], [Z], [C]])
    torch.testing.assert_close(out, expect([
        # "a": \n -2.0 * (1 - .5 * 1), b -1.5 * (1 - .5 * 0), c -2.2 * (1 - .5 * .19686)
        [-INF, -INF, -1.0, -INF, -1.5, -1.98345, -INF, -INF],
        [-INF, -INF, -2.0, -INF, -INF, -INF, -INF, -INF],  # "b": only \n, IG~ = 0
        [-INF, -INF, -2.0, -INF, -INF, -INF, -INF, -INF],  # "z": only \n
        [-INF] * 8,  # "c" is off the trie: a dead beam (node -1)
    ]), atol=1e-5, rtol=0)


def test_nodes_follow_beam_reordering_between_calls(ig):
    proc = TrieLogitsProcessor(ig, prompt_len=2, alpha=0.5)
    step(proc, [[A], [B]])
    # beam search reorders and duplicates parents: row 0 now extends "b", rows 1-2 extend "a"
    generated = [[B, NL], [A, C], [A, NL]]
    out = step(proc, generated)
    torch.testing.assert_close(out, expect([
        [-INF, -2.5, -INF, -INF, -INF, -INF, -INF, -INF],  # "b\n": only EOS
        [-INF, -INF, -2.0, -INF, -INF, -INF, -INF, -INF],  # "ac": only \n
        [-INF, -2.5, -INF, -INF, -INF, -INF, -INF, -INF],  # "a\n": only EOS
    ]))
    fresh = TrieLogitsProcessor(ig, prompt_len=2, alpha=0.5)  # no previous call: walks the trie
    torch.testing.assert_close(step(fresh, generated), out)


def test_dead_and_finished_beams_stay_all_inf(ig):
    proc = TrieLogitsProcessor(ig, prompt_len=2, alpha=0.5)
    step(proc, [[A, NL], [B, B], [A, B]])
    out = step(proc, [[A, NL, EOS], [B, B, B], [A, B, NL]])
    torch.testing.assert_close(out, expect([
        [-INF] * 8,  # finished: "a" + EOS is a leaf
        [-INF] * 8,  # dead: "bb" left the trie
        [-INF, -2.5, -INF, -INF, -INF, -INF, -INF, -INF],  # "ab\n": only EOS
    ]))


def test_buffer_is_reset_between_calls(ig):
    proc = TrieLogitsProcessor(ig, prompt_len=2, alpha=0.0)
    first = step(proc, [[A], [B]])
    assert torch.isfinite(first).sum().item() == 3 + 1
    second = step(proc, [[A, B], [B, NL]])  # same shape: the buffer is reused
    torch.testing.assert_close(second, expect([
        [-INF, -INF, -2.0, -INF, -INF, -INF, -INF, -INF],  # no stale b, c from the "a" row
        [-INF, -2.5, -INF, -INF, -INF, -INF, -INF, -INF],  # no stale \n
    ]))
    third = step(proc, [[A, B, NL]])  # a different shape: a new buffer
    torch.testing.assert_close(third, expect([[-INF, -2.5, -INF, -INF, -INF, -INF, -INF, -INF]]))


@pytest.mark.parametrize("kwargs, message", [
    (dict(prompt_len=0, alpha=-0.1), "alpha=-0.1"),
    (dict(prompt_len=0, alpha=1.5), "alpha=1.5"),
    (dict(prompt_len=0, alpha=float("nan")), "alpha=nan"),
    (dict(prompt_len=-1, alpha=0.0), "prompt_len=-1"),
])
def test_processor_argument_validation(ig, kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrieLogitsProcessor(ig, **kwargs)


# -- configuration -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    (dict(method="beam"), "decoding='beam'"),
    (dict(alpha=1.2), "alpha=1.2"),
    (dict(alpha=-0.5), "alpha=-0.5"),
    (dict(num_beams=0), "num_beams=0"),
    (dict(num_beams=1), "num_beams=1"),  # HF would run greedy search: no sequence scores
    (dict(batch_size=0), "batch_size=0"),
])
def test_decode_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DecodeConfig(**kwargs)


def test_effective_alpha_is_zero_outside_igd():
    assert DecodeConfig("igd", alpha=0.3).effective_alpha == 0.3
    assert DecodeConfig("d3", alpha=0.3).effective_alpha == 0.0
    assert DecodeConfig("bigrec", alpha=0.3).effective_alpha == 0.0


def test_length_penalty_mapping():
    # BIGRec (+ IGD): mean log-prob (length penalty 1); D3 and IGD: sum of log-probs (0)
    assert {k: d.length_penalty for k, d in DECODINGS.items()} == {
        "bigrec": 1.0, "d3": 0.0, "igd": 0.0, "bigrec_igd": 1.0}


def test_beam_stop_official_is_hf_default_false():
    # the official code leaves HF's early_stopping=False; 'fast' stops at num_beams finished
    # titles when the length penalty is 0 (where no running beam's score can still rise)
    assert DecodeConfig("d3").early_stopping and DecodeConfig("igd").early_stopping
    assert not DecodeConfig("bigrec").early_stopping and not DecodeConfig("bigrec_igd").early_stopping
    assert not any(DecodeConfig(m, beam_stop="official").early_stopping for m in DECODINGS)


@pytest.mark.parametrize("method", list(DECODINGS))
def test_generation_config_is_plain_beam_search(method):
    g = generation_config(DecodeConfig(method, num_beams=4), max_new_tokens=7, eos=EOS, pad=PAD)
    assert (g.do_sample, g.top_k, g.top_p, g.temperature, g.repetition_penalty) == (False, None, 1.0, 1.0, 1.0)
    assert (g.num_beams, g.num_return_sequences, g.max_new_tokens) == (4, 4, 7)
    assert g.length_penalty == DECODINGS[method].length_penalty
    assert (g.eos_token_id, g.pad_token_id, g.use_cache) == (EOS, PAD, True)
    assert g.return_dict_in_generate and not g.output_scores  # scores come from the processor


@pytest.mark.parametrize("method", ["bigrec", "d3", "igd"])
@pytest.mark.parametrize("catalogue", ["big", "small"])
def test_processor_scores_equal_hf_sequences_scores(model, catalogue, method, request):
    """The beam scores rebuilt from the processor's per-edge step scores are HF's own
    sequences_scores (which need output_scores=True and beams x vocab floats per step)."""
    ig = request.getfixturevalue(catalogue)
    cfg = DecodeConfig(method, alpha=0.4 if method == "igd" else 0.0, num_beams=10)
    ids, mask = left_pad(PROMPTS, E2E_TOK.pad_token_id, "cpu")
    proc = TrieLogitsProcessor(ig, ids.shape[1], cfg.effective_alpha).reset(ids.shape[1], len(PROMPTS))
    gen = generation_config(cfg, int(ig.trie.lengths.max()), ig.eos_token_id, E2E_TOK.pad_token_id,
                            output_scores=True)
    out = model.generate(input_ids=ids, attention_mask=mask, generation_config=gen,
                         logits_processor=LogitsProcessorList([proc]))
    seqs = ig.seqs_of(out.sequences[:, ids.shape[1]:].numpy())
    ours = proc.sequence_scores(seqs, gen.length_penalty)
    hf = out.sequences_scores.numpy()
    real = hf > -1e6  # HF's padding rows sit at -1e9 (or -inf)
    assert real.sum() >= 3 * min(10, len(ig.seq_titles))
    assert (seqs[real] >= 0).all()
    np.testing.assert_allclose(ours[real], hf[real], atol=1e-4)
    # padding rows are either off the trie (no title) or copies of a real row's title
    for i in np.flatnonzero(~real):
        same_prompt = slice(i // 10 * 10, i // 10 * 10 + 10)
        assert seqs[i] < 0 or seqs[i] in seqs[same_prompt][real[same_prompt]]


def test_processor_needs_reset_for_the_batch(model, small):
    proc = TrieLogitsProcessor(small, 3).reset(3, n_prompts=2)
    with pytest.raises(ValueError, match="3 beams for 2 prompts"):
        proc(torch.zeros((3, 3), dtype=torch.long), torch.zeros((3, E2E_TOK.vocab_size)))


def test_left_pad():
    ids, mask = left_pad([[5, 6, 7], [8]], pad=0, device="cpu")
    assert ids.tolist() == [[5, 6, 7], [0, 0, 8]]
    assert mask.tolist() == [[1, 1, 1], [0, 0, 1]]


# -- generate() end to end on a tiny random Qwen2 ------------------------------------------

E2E_TOK = CompactTokenizer(CharTokenizer(), [ord(c) for c in "abc\n :"])
# 12 distinct titles: "a" < "ab" < "abc" and "ca" < "cab" are prefixes; "ab" and "c" occur twice
E2E_TITLES = ("a", "ab", "abc", "b", "ba", "bb", "c", "ca", "cab", "ac", "bc", "cc", "ab", "c")
E2E_COUNTS = Counter({"a": 3, "ab": 5, "abc": 1, "b": 2, "ba": 4, "c": 2, "ca": 1, "cab": 2, "bc": 1})
SMALL_TITLES = ("a", "ab", "b", "ba")
PROMPTS = [E2E_TOK.encode(s) for s in ("ab:", "b a:", "c ba cab:")]  # 3, 4 and 9 tokens


@pytest.fixture(scope="module")
def model():
    config = TinyConfig(hidden_size=32, layers=1, heads=2, intermediate_size=64)
    return build_tiny(E2E_TOK.vocab_size, config, E2E_TOK, seed=0).eval()


@pytest.fixture(scope="module")
def big():
    return build_ig_trie(Catalogue(E2E_TITLES), E2E_COUNTS, E2E_TOK, Template())


@pytest.fixture(scope="module")
def small():
    return build_ig_trie(Catalogue(SMALL_TITLES), Counter({"a": 2, "ba": 1}), E2E_TOK, Template())


def decode(model, ig, method, prompts=PROMPTS, alpha=0.0, num_beams=10):
    cfg = DecodeConfig(method, alpha=alpha, num_beams=num_beams)
    return recommend_batch(model, ig, prompts, cfg, E2E_TOK.pad_token_id)


def target(title):
    return E2E_TOK.encode(Template().target_text(title)) + [E2E_TOK.eos_token_id]


@torch.no_grad()
def token_log_probs(model, prompt, tokens):
    """Teacher forcing: log p of each target token given the (unpadded) prompt and prefix."""
    logits = model(torch.tensor([prompt + tokens])).logits[0].float()
    logp = torch.log_softmax(logits[len(prompt) - 1:-1], dim=-1)
    return logp[torch.arange(len(tokens)), torch.tensor(tokens)].tolist()


@pytest.mark.parametrize("method", ["bigrec", "d3", "igd"])
def test_every_item_is_a_valid_distinct_title(model, big, method):
    results, invalid = decode(model, big, method, alpha=0.4)
    assert invalid == 0
    for recs in results:
        titles = [r.title for r in recs]
        assert len(titles) == 10 and len(set(titles)) == 10 and set(titles) <= set(E2E_TITLES)
        assert all(list(r.token_ids) == target(r.title) for r in recs)
        assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


@pytest.mark.parametrize("method", ["bigrec", "d3", "igd"])
def test_fewer_titles_than_beams_drops_padding_beams(model, small, method):
    results, invalid = decode(model, small, method, alpha=0.4)
    assert invalid == 0  # the 6 padding beams are neither returned nor counted invalid
    for recs in results:
        assert sorted(r.title for r in recs) == sorted(SMALL_TITLES)
        assert all(-50 < r.score < 0 for r in recs)


@pytest.mark.parametrize("catalogue", ["big", "small"])
def test_igd_with_alpha0_reproduces_d3_exactly(model, catalogue, request):
    ig = request.getfixturevalue(catalogue)
    d3, _ = decode(model, ig, "d3")
    igd, _ = decode(model, ig, "igd", alpha=0.0)
    def pairs(results):
        return [[(r.title, r.score) for r in recs] for recs in results]

    assert pairs(igd) == pairs(d3)  # the same titles, bit-identical scores


def test_d3_scores_sum_and_bigrec_divides_by_generated_tokens(model, big):
    d3, _ = decode(model, big, "d3")
    bigrec, _ = decode(model, big, "bigrec")
    d3_scores = {r.title: r.score for r in d3[0]}
    common = [r for r in bigrec[0] if r.title in d3_scores and len(r.token_ids) == 4]  # "xy\n" + EOS
    assert common, "expected a two-letter title in both lists"
    item = common[0]
    tokens = target(item.title)
    total = sum(token_log_probs(model, PROMPTS[0], tokens))
    assert d3_scores[item.title] == pytest.approx(total, abs=1e-4)
    # HF's _update_finished_beams divides by (cur_len + 1 - decoder_prompt_len)**length_penalty,
    # cur_len being the position the new token (here EOS) is written to: the number of
    # generated tokens INCLUDING EOS.
    assert item.score == pytest.approx(total / len(tokens), abs=1e-4)
    assert item.score != pytest.approx(total / (len(tokens) - 1), abs=1e-4)


@pytest.mark.parametrize("method", ["d3", "igd"])
def test_batching_invariance(model, big, method):
    batch, _ = decode(model, big, method, alpha=0.4)
    for prompt, in_batch in zip(PROMPTS, batch):
        (alone,), _ = decode(model, big, method, prompts=[prompt], alpha=0.4)
        assert [r.title for r in alone] == [r.title for r in in_batch]
        assert [r.score for r in alone] == pytest.approx([r.score for r in in_batch], abs=1e-4)


@pytest.mark.parametrize("method", ["bigrec", "d3", "igd"])
def test_the_shared_prompt_prefill_returns_hf_plain_beam_search(model, big, method):
    """Each prompt run once and its cache copied to the beams (decode.prompt_cache) gives HF's
    plain beam search: the same titles and scores, over left padding and a 1-token prompt."""
    prompts = [*PROMPTS, E2E_TOK.encode(":")]  # 3, 4, 9 and 1 tokens
    cfg = DecodeConfig(method, alpha=0.4, num_beams=10)
    shared, bad = recommend_batch(model, big, prompts, cfg, E2E_TOK.pad_token_id)
    plain, bad_plain = recommend_batch(model, big, prompts, cfg, E2E_TOK.pad_token_id, shared_prefill=False)
    assert bad == bad_plain
    for a, b in zip(shared, plain):
        assert [r.title for r in a] == [r.title for r in b]
        assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-5)
    (alone,), _ = recommend_batch(model, big, [E2E_TOK.encode(":")], cfg, E2E_TOK.pad_token_id)  # no cache
    assert [r.title for r in alone] == [r.title for r in shared[-1]]


# -- exhaustive beam search equals brute force ---------------------------------------------

def brute_ig_norm(targets: dict[str, tuple[int, ...]], counts: Counter):
    """IG~ of (prefix, token) straight from the definitions, independent of igd.info_gain."""
    n = sum(counts.values())
    p = {t: counts[t] / n for t in targets}

    def entropy(prefix):  # H(prefix) with global priors, zero-mass titles adding nothing
        return sum(h(p[t]) for t, s in targets.items() if s[:len(prefix)] == prefix and p[t] > 0)

    def gain(prefix, tok):
        child = prefix + (tok,)
        if not any(p[t] > 0 for t, s in targets.items() if s[:len(child)] == child):
            return 0.0  # a zero-mass branch carries no information ("generable" policy)
        return entropy(prefix) - entropy(child)

    def has_mass(child):
        return any(p[t] > 0 for t, s in targets.items() if s[:len(child)] == child)

    def ig_norm(prefix, tok):
        # min and max over the siblings with training mass; a zero-mass sibling gets 0
        siblings = {s[len(prefix)] for s in targets.values()
                    if s[:len(prefix)] == prefix and len(s) > len(prefix)}
        gains = {c: gain(prefix, c) for c in siblings if has_mass(prefix + (c,))}
        if tok not in gains:
            return 0.0
        lo, hi = min(gains.values()), max(gains.values())
        return 0.0 if hi == lo else (gains[tok] - lo) / (hi - lo)

    return ig_norm


@pytest.mark.parametrize("method, alpha", [("d3", 0.0), ("igd", 0.5), ("igd", 1.0)])
def test_exhaustive_beam_search_equals_brute_force(model, big, method, alpha):
    titles = sorted(set(E2E_TITLES))
    targets = {t: tuple(target(t)) for t in titles}
    ig_norm = brute_ig_norm(targets, E2E_COUNTS)
    results, invalid = decode(model, big, method, alpha=alpha, num_beams=len(titles))
    assert invalid == 0
    for prompt, recs in zip(PROMPTS, results):
        brute = {}
        for t, toks in targets.items():
            logp = token_log_probs(model, prompt, list(toks))
            brute[t] = sum((1 - alpha * ig_norm(toks[:d], toks[d])) * lp for d, lp in enumerate(logp))
        ranked = sorted(titles, key=lambda t: -brute[t])
        assert [r.title for r in recs] == ranked
        assert [r.score for r in recs] == pytest.approx([brute[t] for t in ranked], abs=1e-4)


def test_explain_matches_the_beam_scores_and_the_trie(model, big):
    """The path view's numbers: the same tokens, IG and (summed) score as the beam search."""
    from igd.decode import explain

    ig = big
    for method, alpha in (("d3", 0.0), ("igd", 0.5)):
        [recs], _ = decode(model, ig, method, prompts=PROMPTS[2:], alpha=alpha)
        for rec in recs[:3]:
            steps = explain(model, ig, PROMPTS[2], rec.title, alpha)
            assert [s.token_id for s in steps] == list(rec.token_ids)
            assert sum(s.score for s in steps) == pytest.approx(rec.score, abs=1e-4)
            assert [s.ig for s in steps] == pytest.approx(ig.path(rec.title)[1].tolist())
            assert all(s.token_id in [c[0] for c in s.candidates] for s in steps)
            assert all(s.weight == pytest.approx(1 - alpha * s.ig_norm) for s in steps)
