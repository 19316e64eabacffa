"""Constrained beam search over the item trie: BIGRec, D3 and IGD-Decoding (Eq. 3, 8-9).

Every decoding of the registry (`igd.config.DECODINGS`) runs through the public
`model.generate(...)` with one `LogitsProcessor`; a decoding is a length penalty and a rule
for the per-edge step weights w_d:
- bigrec: trie-constrained beam search, length penalty 1 (scores are mean log-probs);
- d3: the same with length penalty 0 (scores are sums of log-probs);
- igd: d3 with each step's log-prob weighted by w_d = 1 - alpha * IG~ (Eq. 8-9), IG~ being
  the max-min normalised IG among the beam's candidate tokens (precomputed per trie edge).
  alpha = 0 is d3 exactly (every weight is 1.0);
- bigrec_igd: igd's weights with BIGRec's length penalty 1 (the paper's BIGRec + IGD).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from transformers import Cache, DynamicCache, GenerationConfig, LogitsProcessor, LogitsProcessorList

from igd.config import DECODINGS, DecodeConfig, igd_step_weights
from igd.info_gain import IGTrie
from igd.prompt_sharing import shared_prompt_attention_on, shared_prompt_cache

__all__ = ["DECODINGS", "DecodeConfig", "TrieLogitsProcessor", "recommend_batch", "explain"]

class TrieLogitsProcessor(LogitsProcessor):
    """Masks every token off the trie to -inf and weights the allowed log-probs by IGD.

    Expects `scores` to be LOG-PROBABILITIES over the full vocabulary, as HF beam search passes
    them to processors (log_softmax is applied before the processors). Each beam's trie node
    is derived from its generated tokens, `input_ids[:, prompt_len:]` (no step counter): the
    node of a beam's prefix one token shorter is looked up from the previous call's beams, so
    a step costs one vectorised `TokenTrie.step`, whatever the beam reordering.
    Only allowed positions are touched: they are gathered, weighted and scattered into one
    preallocated -inf buffer, and reset to -inf on the next call.

    It also keeps each step score it hands out, per (prompt, trie edge): a returned title's
    beam score is the sum over its path (`sequence_scores`), so `generate` need not keep the
    beams x vocabulary scores of every step (output_scores), ~1-3 GB a batch for 50k-150k vocabularies.
    """

    def __init__(self, ig: IGTrie, prompt_len: int, alpha: float = 0.0,
                 step_weights: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = igd_step_weights):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha}: must be in [0, 1]")
        self.ig = ig
        weights = np.ones(len(ig.edge_ig)) if step_weights is None else step_weights(
            ig.edge_ig, ig.edge_ig_norm, alpha)
        self.edge_weight = torch.from_numpy(np.asarray(weights, dtype=np.float64)).float()
        self._n_children = np.diff(ig.trie.child_ptr)
        self._buf: torch.Tensor | None = None
        self._written: torch.Tensor | None = None  # flat positions set on the last call
        self.edge_scores = torch.empty(0)
        self.reset(prompt_len)

    def reset(self, prompt_len: int, n_prompts: int = 1) -> "TrieLogitsProcessor":
        """Reuse this processor (and its buffers) for the next generate() call of `n_prompts`."""
        if prompt_len < 0 or n_prompts < 1:
            raise ValueError(f"prompt_len={prompt_len}, n_prompts={n_prompts}: must be >= 0 and >= 1")
        self.prompt_len = prompt_len
        self._last: dict[bytes, int] = {}
        shape = (n_prompts, len(self.ig.trie.edge_token))
        if self.edge_scores.shape != shape:
            self.edge_scores = torch.empty(shape)
        self.edge_scores.fill_(float("nan"))  # NaN: no beam of this prompt scored this edge
        return self

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        nodes = self.nodes(input_ids[:, self.prompt_len:].cpu().numpy())
        # Dead rows stay all -inf: padding beams that took a -inf token (node -1) and beams
        # that already emitted EOS, which HF keeps running at -1e9 when too few live beams exist.
        alive = np.flatnonzero(nodes >= 0)
        alive = alive[~np.isin(nodes[alive], self.ig.trie.leaf)]
        if (self._n_children[nodes[alive]] == 0).any():
            raise RuntimeError("a beam inside the trie has no allowed next token: corrupt trie")
        rows, tokens, edges = self.ig.trie.children(nodes[alive])
        flat = torch.from_numpy(alive[rows] * scores.shape[1] + tokens).to(scores.device)
        weights = self.edge_weight[torch.from_numpy(edges)].to(scores.device)
        buf = self._buffer(scores)
        # Eq. 8: w_d * log p, on the allowed positions only (flat indices: one gather, one put)
        step = scores.reshape(-1)[flat] * weights
        buf.view(-1)[flat] = step
        self._written = flat
        beams = self._beams_per_prompt(input_ids.shape[0])
        self.edge_scores[torch.from_numpy(alive[rows] // beams), torch.from_numpy(edges)] = step.float().cpu()
        return buf

    def _beams_per_prompt(self, n_rows: int) -> int:
        n_prompts = self.edge_scores.shape[0]
        if n_rows % n_prompts:
            raise ValueError(f"{n_rows} beams for {n_prompts} prompts: call reset(prompt_len, n_prompts) "
                             "before each generate()")
        return n_rows // n_prompts

    def sequence_scores(self, seqs: np.ndarray, length_penalty: float) -> np.ndarray:
        """Beam score of each returned row (`IGTrie.seqs_of`; rows grouped by prompt): the sum of
        its path's step scores divided by (generated tokens incl. EOS) ** length_penalty, as HF's
        `_update_finished_beams` computes it (Eq. 3); NaN for rows that are no complete title."""
        seqs = np.asarray(seqs, dtype=np.int64)
        prompt = np.arange(len(seqs)) // self._beams_per_prompt(len(seqs))
        nodes = self.ig.trie.seq_nodes[np.maximum(seqs, 0), 1:]  # node k is reached by edge k-1
        step = self.edge_scores.numpy()[prompt[:, None], np.maximum(nodes, 1) - 1]
        total = np.where(nodes > 0, step, 0.0).sum(axis=1)
        if np.isnan(total[seqs >= 0]).any():
            raise RuntimeError("a returned title has a token no beam scored: beams and processor disagree")
        length = self.ig.trie.lengths[np.maximum(seqs, 0)].astype(np.float64)
        return np.where(seqs >= 0, total / length ** length_penalty, np.nan)

    def nodes(self, generated: np.ndarray) -> np.ndarray:
        """Trie node of every beam; -1 for dead beams (padding beams that took a -inf token)."""
        n, t = generated.shape
        if t == 0:
            nodes = np.zeros(n, dtype=np.int64)
        else:
            parents = np.array([self._last.get(row[:-1].tobytes(), -2) for row in generated])
            if (parents == -2).any():  # not from the previous call (e.g. a new generate)
                parents = self.ig.trie.walk(generated[:, :-1])
            nodes = self.ig.trie.step(parents, generated[:, -1])
        self._last = {row.tobytes(): int(node) for row, node in zip(generated, nodes)}
        return nodes

    def _buffer(self, scores: torch.Tensor) -> torch.Tensor:
        if self._buf is None or self._buf.shape != scores.shape or self._buf.device != scores.device:
            self._buf = torch.full_like(scores, float("-inf"))
        elif self._written is not None:
            self._buf.view(-1)[self._written] = float("-inf")
        return self._buf


@dataclass(frozen=True)
class Recommendation:
    title: str
    score: float  # the beam score (length-penalised; IGD-weighted for igd)
    token_ids: tuple[int, ...]


def generation_config(cfg: DecodeConfig, max_new_tokens: int, eos: int, pad: int,
                      output_scores: bool = False) -> GenerationConfig:
    """Everything explicit, so no model's own generation config can sneak sampling in.
    `output_scores` (HF's own sequences_scores, for checks) keeps beams x vocab floats per step."""
    return GenerationConfig(
        num_beams=cfg.num_beams, num_return_sequences=cfg.num_beams, max_new_tokens=max_new_tokens,
        length_penalty=cfg.spec.length_penalty, early_stopping=cfg.early_stopping,
        do_sample=False, top_k=None, top_p=1.0, temperature=1.0, repetition_penalty=1.0,
        eos_token_id=eos, pad_token_id=pad, use_cache=True,
        output_scores=output_scores, return_dict_in_generate=True)


def left_pad(prompts: Sequence[Sequence[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p):] = 1
    return ids.to(device), mask.to(device)


def processor_for(ig: IGTrie, cfg: DecodeConfig) -> TrieLogitsProcessor:
    """The processor of `cfg`'s decoding (its step-weight rule and alpha)."""
    return TrieLogitsProcessor(ig, 0, cfg.effective_alpha, cfg.spec.step_weights)


def prompt_cache(model, input_ids: torch.Tensor, mask: torch.Tensor, beams: int,
                 share: bool = True) -> Cache | None:
    """Keys and values of every prompt but its last token, computed once per prompt. HF beam
    search expands the prompts to prompts x beams before its prefill, so each prompt would be
    run `beams` times, and on a small model the prefill is most of the decoding
    (benchmarks/prefill.py). `generate` resumes from a passed cache (its public
    `past_key_values`): it runs the last prompt token only. Positions are HF's own for
    left-padded prompts (attention-mask cumsum), so the beams and scores are unchanged.
    `share`: keep each prompt once for all its beams (igd.prompt_sharing; decode inside
    `shared_prompt_attention_on`), else copy it to every beam."""
    if input_ids.shape[1] < 2:
        return None
    positions = (mask.long().cumsum(-1) - 1).masked_fill(mask == 0, 0)
    cache = DynamicCache(config=model.config)
    model(input_ids=input_ids[:, :-1], attention_mask=mask[:, :-1], position_ids=positions[:, :-1],
          past_key_values=cache, use_cache=True, logits_to_keep=1)  # no vocabulary-wide logits
    if share:
        return shared_prompt_cache(cache, mask[:, :-1], beams)
    cache.batch_repeat_interleave(beams)
    return cache


@torch.no_grad()
def recommend_batch(model, ig: IGTrie, prompts: Sequence[Sequence[int]], cfg: DecodeConfig,
                    pad_token_id: int, processor: TrieLogitsProcessor | None = None,
                    shared_prefill: bool = True, share_prompt: bool = True) -> tuple[list[list[Recommendation]], int]:
    """Top-`num_beams` distinct valid items per prompt, best first; and how many returned
    sequences were invalid (not a complete trie path), which are dropped but counted.
    Pass the same `processor` for every batch to reuse its score buffer. `shared_prefill`:
    run each prompt once, not once per beam (`prompt_cache`; False is HF's plain path);
    `share_prompt`: and keep it once in the cache (igd.prompt_sharing)."""
    device = next(model.parameters()).device
    input_ids, mask = left_pad(prompts, pad_token_id, device)
    if processor is None:
        processor = processor_for(ig, cfg)
    processor.reset(input_ids.shape[1], len(prompts))
    gen_cfg = generation_config(cfg, int(ig.trie.lengths.max()), ig.eos_token_id, pad_token_id)
    cache = prompt_cache(model, input_ids, mask, cfg.num_beams, share_prompt) if shared_prefill else None
    with shared_prompt_attention_on(model) if cache is not None and share_prompt else nullcontext():
        out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=gen_cfg,
                             logits_processor=LogitsProcessorList([processor]),
                             **({"past_key_values": cache} if cache is not None else {}))
    generated = out.sequences[:, input_ids.shape[1]:].cpu().numpy()
    nodes = ig.end_nodes(generated)  # every returned sequence walked at once
    seqs = ig.seq_at(nodes)
    scores = processor.sequence_scores(seqs, gen_cfg.length_penalty)
    # Rows that are no complete title: padding when they left the trie (HF fills slots it
    # cannot fill, when fewer than num_beams prefixes exist, with beams that took a masked,
    # -inf token, or never-filled pad rows); invalid when they stay on it without reaching
    # EOS (cut by max_new_tokens), which the trie's longest path rules out.
    invalid = int(((nodes >= 0) & (seqs < 0)).sum())
    results = [_to_recommendations(ig, seqs[rows], scores[rows])
               for rows in (slice(i * cfg.num_beams, (i + 1) * cfg.num_beams) for i in range(len(prompts)))]
    return results, invalid


def _to_recommendations(ig: IGTrie, seqs: np.ndarray, scores: np.ndarray) -> list[Recommendation]:
    """Distinct titles, best first. HF's padding copies of real beams (beams 1.. start at -1e9)
    return the same titles as real beams, with the same per-edge scores here: kept once."""
    recs: dict[str, Recommendation] = {}
    for seq, score in zip(seqs.tolist(), scores.tolist()):
        if seq >= 0 and ig.seq_titles[seq][0] not in recs:
            title = ig.seq_titles[seq][0]
            recs[title] = Recommendation(title, float(score), tuple(ig.trie.edge_token[ig.trie.path(seq) - 1].tolist()))
    return sorted(recs.values(), key=lambda r: -r.score)


@dataclass(frozen=True)
class TraceStep:
    """One generated token of a recommendation, as IGD-Decoding scores it (Eq. 8-9)."""

    token_id: int
    logprob: float  # log p(token | prompt, prefix)
    ig: float  # IG of the token (nats)
    ig_norm: float  # IG~ among the candidates of this step
    weight: float  # w_d = 1 - alpha * IG~
    score: float  # w_d * log p, this step's contribution to the beam score
    candidates: tuple[tuple[int, float, float], ...]  # allowed (token, IG, log p), best log p first


@torch.no_grad()
def explain(model, ig: IGTrie, prompt: Sequence[int], title: str, alpha: float = 0.0) -> list[TraceStep]:
    """The token path of `title` after `prompt`: log-prob, IG, IG~, weight and the candidate
    tokens at every step, from one teacher-forced forward pass (the beam-search scores up to
    float noise). The sum of `score` is the D3 (alpha = 0) or IGD beam score."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha}: must be in [0, 1]")
    tokens, _ = ig.path(title)
    nodes = np.concatenate([[0], ig.trie.path(ig.title_to_seq[title])[:-1]])
    device = next(model.parameters()).device
    ids = torch.tensor([list(prompt) + tokens.tolist()], device=device)
    logits = model(input_ids=ids).logits[0, len(prompt) - 1: len(prompt) - 1 + len(tokens)]
    logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
    steps = []
    for t, (node, token) in enumerate(zip(nodes, tokens.tolist())):
        _, cand, edges = ig.trie.children(np.array([node]))
        chosen = int(edges[cand == token][0])
        weight = 1.0 - alpha * float(ig.edge_ig_norm[chosen])
        order = np.argsort(-logp[t, cand], kind="stable")
        steps.append(TraceStep(
            token, float(logp[t, token]), float(ig.edge_ig[chosen]), float(ig.edge_ig_norm[chosen]),
            weight, weight * float(logp[t, token]),
            tuple((int(cand[k]), float(ig.edge_ig[edges[k]]), float(logp[t, cand[k]])) for k in order)))
    return steps
