"""igd.prompt_sharing: beam search with each prompt kept once in the cache returns what the
cache with the prompt copied to every beam returns (and HF's plain beam search): the same
titles and scores, with grouped-query attention (kv heads < heads, as SmolLM2), left padding
and a 1-token prompt; the model's attention is restored afterwards."""

from collections import Counter

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from igd.config import DecodeConfig
from igd.data import Catalogue
from igd.decode import recommend_batch
from igd.info_gain import build_ig_trie
from igd.models import CompactTokenizer
from igd.prompt_sharing import SharedKV, shared_prompt_attention
from igd.templates import Template
from igd.tokenization import CharTokenizer

TOK = CompactTokenizer(CharTokenizer(), [ord(c) for c in "abc\n :"])
TITLES = ("a", "ab", "abc", "b", "ba", "bb", "c", "ca", "cab", "ac", "bc", "cc")
PROMPTS = [TOK.encode(s) for s in ("ab:", "b a:", "c ba cab:", ":")]  # 3, 4, 9 and 1 tokens


@pytest.fixture(scope="module")
def gqa_model():
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=TOK.vocab_size, hidden_size=48, num_hidden_layers=2, num_attention_heads=6,
                      num_key_value_heads=2, intermediate_size=64, max_position_embeddings=64,
                      eos_token_id=TOK.eos_token_id, pad_token_id=TOK.pad_token_id)
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="module")
def trie():
    return build_ig_trie(Catalogue(TITLES), Counter({"a": 3, "ab": 5, "ba": 4, "c": 2, "cab": 2}), TOK, Template())


@pytest.mark.parametrize("method", ["bigrec", "d3", "igd"])
def test_kept_once_decodes_as_copied_and_as_plain(gqa_model, trie, method):
    cfg = DecodeConfig(method, alpha=0.4, num_beams=6)
    before = gqa_model.config._attn_implementation
    once, bad = recommend_batch(gqa_model, trie, PROMPTS, cfg, TOK.pad_token_id)
    assert gqa_model.config._attn_implementation == before  # restored
    copied, bad_copied = recommend_batch(gqa_model, trie, PROMPTS, cfg, TOK.pad_token_id, share_prompt=False)
    plain, bad_plain = recommend_batch(gqa_model, trie, PROMPTS, cfg, TOK.pad_token_id, shared_prefill=False)
    assert bad == bad_copied == bad_plain
    for a, b, c in zip(once, copied, plain):
        assert [r.title for r in a] == [r.title for r in b] == [r.title for r in c]
        assert [r.score for r in a] == pytest.approx([r.score for r in b], abs=1e-5)
        assert [r.score for r in a] == pytest.approx([r.score for r in c], abs=1e-5)


def test_the_attention_is_softmax_over_prompt_and_generated_keys():
    """By hand: 2 prompts x 2 beams, 4 heads over 2 kv heads, a padded prompt position."""
    torch.manual_seed(1)
    b, beams, heads, kv, d, p, t = 2, 2, 4, 2, 3, 5, 2
    q = torch.randn(b * beams, heads, 1, d)
    pk, pv = torch.randn(b, kv, p, d), torch.randn(b, kv, p, d)
    gk, gv = torch.randn(b * beams, kv, t, d), torch.randn(b * beams, kv, t, d)
    mask = torch.ones(b, p)
    mask[1, 0] = 0  # the second prompt is left-padded by one
    bias = torch.zeros(b, p).masked_fill(mask == 0, float("-inf"))[:, None, None, :]
    out, _ = shared_prompt_attention(None, q, SharedKV(pk, pv, bias, gk, gv, beams), None, None)
    for row in range(b * beams):
        user = row // beams
        for h in range(heads):
            g = h // (heads // kv)
            keys = torch.cat([pk[user, g][mask[user] > 0], gk[row, g]])
            values = torch.cat([pv[user, g][mask[user] > 0], gv[row, g]])
            want = torch.softmax(keys @ q[row, h, 0] / d ** 0.5, dim=0) @ values
            assert torch.allclose(out[row, 0, h], want, atol=1e-6)


def test_only_one_new_token_per_beam():
    kv = SharedKV(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 1, 2),
                  torch.zeros(2, 1, 0, 2), torch.zeros(2, 1, 0, 2), 2)
    with pytest.raises(RuntimeError, match="one token per beam"):
        shared_prompt_attention(None, torch.zeros(2, 1, 3, 2), kv, None, None)
