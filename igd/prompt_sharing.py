"""Beam search that keeps each prompt's keys and values once, not once per beam.

Where the decoding time went (torch.profiler, SmolLM2-135M, 8 Amazon prompts x 10 beams, CPU;
benchmarks/cpu_speed.py --profile): 30% in `index_select` and 28% in `cat`, against 24% in
the matrix products. HF beam search keeps a cache of prompts x beams rows; every step it
appends the new token to every row (`cat` copies the whole cache) and reorders the rows to
the surviving beams (`index_select` copies it again). But the 10 beams of one prompt share
that prompt's keys and values, which are most of the cache (a ~130-token prompt, titles of
~10-20 tokens). Here the prompt part is stored once per prompt and never copied; only the
generated tokens live per beam. Attention then takes one softmax over both parts (scores of
the prompt part for all of a prompt's beams in one product, in float32), which is the same
attention as before up to float rounding (tested: same titles, scores within 1e-4).

Hooked in through Hugging Face's public extension points: a `Cache` of custom layers passed
to `generate(past_key_values=...)`, and an attention function registered with
`AttentionInterface` (with a mask function that builds no mask: padding of the prompt is
this cache's own bias, and a generated token sees every earlier one).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import torch
from transformers import AttentionInterface, Cache, DynamicCache
from transformers.cache_utils import DynamicLayer
from transformers.masking_utils import AttentionMaskInterface

ATTENTION = "igd_shared_prompt"


@dataclass(frozen=True)
class SharedKV:
    """What one layer's attention needs: the prompts' keys/values [B, kv heads, P, d] with
    their padding bias [B, 1, 1, P], and the generated ones [B * beams, kv heads, T, d]."""

    prompt_k: torch.Tensor
    prompt_v: torch.Tensor
    prompt_bias: torch.Tensor
    gen_k: torch.Tensor
    gen_v: torch.Tensor
    beams: int


class SharedPromptLayer(DynamicLayer):
    """One layer: the prompt part (per prompt) and the generated part (per beam)."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, bias: torch.Tensor, beams: int):
        super().__init__()
        self.prompt_k, self.prompt_v, self.prompt_bias, self.beams = keys, values, bias, beams
        b, h, _, d = keys.shape
        self.lazy_initialization(keys, values)
        self.keys = keys.new_zeros((b * beams, h, 0, d))
        self.values = values.new_zeros((b * beams, h, 0, d))

    def update(self, key_states, value_states, *args, **kwargs):
        self.keys = torch.cat([self.keys, key_states], dim=-2)  # the short generated part only
        self.values = torch.cat([self.values, value_states], dim=-2)
        return SharedKV(self.prompt_k, self.prompt_v, self.prompt_bias, self.keys, self.values, self.beams), None

    def get_seq_length(self) -> int:
        return self.prompt_k.shape[-2] + self.keys.shape[-2]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.get_seq_length() + query_length, 0

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        """Beam search reorders beams within a prompt only, so the prompt part stays."""
        if self.keys.shape[-2] > 0:
            self.keys = self.keys.index_select(0, beam_idx)
            self.values = self.values.index_select(0, beam_idx)

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("a shared-prompt cache is built for its beams already")


def shared_prompt_cache(prefill: DynamicCache, mask: torch.Tensor, beams: int) -> Cache:
    """The cache of `prompt_cache`'s prefill (one row per prompt, of every prompt token but the
    last), as shared-prompt layers for `beams` beams each. `mask`: the prefill's attention mask."""
    bias = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    bias = bias.masked_fill(mask == 0, float("-inf"))[:, None, None, :]
    return Cache(layers=[SharedPromptLayer(layer.keys, layer.values, bias, beams) for layer in prefill.layers])


def shared_prompt_attention(module, query: torch.Tensor, key, value, attention_mask, dropout: float = 0.0,
                            scaling: float | None = None, **kwargs) -> tuple[torch.Tensor, None]:
    """Attention of one new token per beam over its prompt (shared) and its generated tokens.
    query [B * beams, heads, 1, d] -> output [B * beams, 1, heads, d], as HF's functions return."""
    if not isinstance(key, SharedKV) or query.shape[2] != 1:
        raise RuntimeError("the shared-prompt attention decodes one token per beam over a SharedPromptLayer cache")
    n, heads, _, d = query.shape
    b, kv_heads, p_len, _ = key.prompt_k.shape
    beams, groups = key.beams, heads // kv_heads
    scale = scaling if scaling is not None else d ** -0.5
    # The prompt part: all beams x head groups of one prompt against its keys in one product.
    q = query.view(b, beams, kv_heads, groups, d).permute(0, 2, 1, 3, 4).reshape(b, kv_heads, beams * groups, d)
    s_prompt = torch.matmul(q, key.prompt_k.transpose(-1, -2)).float() * scale + key.prompt_bias
    s_prompt = s_prompt.view(b, kv_heads, beams, groups, p_len).permute(0, 2, 1, 3, 4).reshape(n, kv_heads, groups, p_len)
    s_gen = torch.matmul(query.view(n, kv_heads, groups, d), key.gen_k.transpose(-1, -2)).float() * scale
    probs = torch.softmax(torch.cat([s_prompt, s_gen], dim=-1), dim=-1).to(query.dtype)
    p_prompt, p_gen = probs[..., :p_len], probs[..., p_len:]
    p_prompt = p_prompt.view(b, beams, kv_heads, groups, p_len).permute(0, 2, 1, 3, 4).reshape(
        b, kv_heads, beams * groups, p_len)
    out = torch.matmul(p_prompt, key.prompt_v).view(b, kv_heads, beams, groups, d).permute(0, 2, 1, 3, 4)
    out = out.reshape(n, kv_heads, groups, d) + torch.matmul(p_gen, key.gen_v)
    return out.reshape(n, heads, 1, d).transpose(1, 2), None


def _no_mask(*args, **kwargs) -> None:
    return None


@contextmanager
def shared_prompt_attention_on(model) -> Iterator[None]:
    """The model attends through `shared_prompt_attention` inside the block, as before after."""
    AttentionInterface.register(ATTENTION, shared_prompt_attention)  # idempotent: a name -> function map
    AttentionMaskInterface.register(ATTENTION, _no_mask)
    before = model.config._attn_implementation
    model.set_attn_implementation(ATTENTION)
    try:
        yield
    finally:
        model.set_attn_implementation(before)
