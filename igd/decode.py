"""Constrained beam search over the item trie: BIGRec, D3 and IGD-Decoding (Eq. 3, 8-9).

All three run through the public `model.generate(...)` with one `LogitsProcessor`:
- bigrec: trie-constrained beam search, length penalty 1 (scores are mean log-probs);
- d3: the same with length penalty 0 (scores are sums of log-probs);
- igd: d3 with each step's log-prob weighted by w_d = 1 - alpha * IG~ (Eq. 8-9), IG~ being
  the max-min normalised IG among the beam's candidate tokens (precomputed per trie edge).
  alpha = 0 is d3 exactly (every weight is 1.0).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from igd.info_gain import IGTrie

DECODINGS = ("bigrec", "d3", "igd")
LENGTH_PENALTY = {"bigrec": 1.0, "d3": 0.0, "igd": 0.0}
_HF_UNFILLED = -1e9  # the score HF beam search gives beams and slots it could not fill


@dataclass(frozen=True)
class DecodeConfig:
    method: str = "igd"
    alpha: float = 0.2  # IGD only
    num_beams: int = 10
    batch_size: int = 16  # prompts per generate() call

    def __post_init__(self) -> None:
        if self.method not in DECODINGS:
            raise ValueError(f"decoding {self.method!r}: choose one of {', '.join(DECODINGS)}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha={self.alpha}: must be in [0, 1] (w_d = 1 - alpha * IG~ >= 0)")
        if self.num_beams < 2:  # with 1 beam HF runs greedy search, which returns no sequence scores
            raise ValueError(f"num_beams={self.num_beams}: beam search needs >= 2 beams")
        if self.batch_size < 1:
            raise ValueError(f"batch_size={self.batch_size}: must be >= 1")

    @property
    def effective_alpha(self) -> float:
        return self.alpha if self.method == "igd" else 0.0


class TrieLogitsProcessor(LogitsProcessor):
    """Masks every token off the trie to -inf and weights the allowed log-probs by IGD.

    Expects `scores` to be LOG-PROBABILITIES over the full vocabulary, as HF beam search passes
    them to processors (log_softmax is applied before the processors). Each beam's trie node
    is derived from its generated tokens, `input_ids[:, prompt_len:]` (no step counter): the
    node of a beam's prefix one token shorter is looked up from the previous call's beams, so
    a step costs one vectorised `TokenTrie.step`, whatever the beam reordering.
    Only allowed positions are touched: they are gathered, weighted and scattered into one
    preallocated -inf buffer, and reset to -inf on the next call.
    """

    def __init__(self, ig: IGTrie, prompt_len: int, alpha: float = 0.0):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha}: must be in [0, 1]")
        self.ig = ig
        self.edge_weight = torch.from_numpy(1.0 - alpha * ig.edge_ig_norm).float()
        self._n_children = np.diff(ig.trie.child_ptr)
        self._buf: torch.Tensor | None = None
        self._written: torch.Tensor | None = None  # flat positions set on the last call
        self.reset(prompt_len)

    def reset(self, prompt_len: int) -> "TrieLogitsProcessor":
        """Reuse this processor (and its buffer) for the next generate() call."""
        if prompt_len < 0:
            raise ValueError(f"prompt_len={prompt_len}: must be >= 0")
        self.prompt_len = prompt_len
        self._last: dict[bytes, int] = {}
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
        buf.view(-1)[flat] = scores.reshape(-1)[flat] * weights
        self._written = flat
        return buf

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


def generation_config(cfg: DecodeConfig, max_new_tokens: int, eos: int, pad: int) -> GenerationConfig:
    """Everything explicit, so no model's own generation config can sneak sampling in."""
    return GenerationConfig(
        num_beams=cfg.num_beams, num_return_sequences=cfg.num_beams, max_new_tokens=max_new_tokens,
        length_penalty=LENGTH_PENALTY[cfg.method], early_stopping=cfg.method != "bigrec",
        do_sample=False, top_k=None, top_p=1.0, temperature=1.0, repetition_penalty=1.0,
        eos_token_id=eos, pad_token_id=pad, use_cache=True,
        output_scores=True, return_dict_in_generate=True)


def left_pad(prompts: Sequence[Sequence[int]], pad: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):] = torch.tensor(p, dtype=torch.long)
        mask[i, width - len(p):] = 1
    return ids.to(device), mask.to(device)


@torch.no_grad()
def recommend_batch(model, ig: IGTrie, prompts: Sequence[Sequence[int]], cfg: DecodeConfig,
                    pad_token_id: int, processor: TrieLogitsProcessor | None = None
                    ) -> tuple[list[list[Recommendation]], int]:
    """Top-`num_beams` distinct valid items per prompt, best first; and how many returned
    sequences were invalid (not a complete trie path), which are dropped but counted.
    Pass the same `processor` for every batch to reuse its score buffer."""
    device = next(model.parameters()).device
    input_ids, mask = left_pad(prompts, pad_token_id, device)
    if processor is None:
        processor = TrieLogitsProcessor(ig, input_ids.shape[1], cfg.effective_alpha)
    processor.reset(input_ids.shape[1])
    gen_cfg = generation_config(cfg, int(ig.trie.lengths.max()), ig.eos_token_id, pad_token_id)
    out = model.generate(input_ids=input_ids, attention_mask=mask, generation_config=gen_cfg,
                         logits_processor=LogitsProcessorList([processor]))
    generated = out.sequences[:, input_ids.shape[1]:].cpu().numpy()
    scores = out.sequences_scores.float().cpu().numpy()
    # HF marks what it could not fill with a score of -1e9 (divided by the length for bigrec):
    # never-filled slots (generated = fill tokens), and copies of real beams that started at
    # -1e9 (beams 1.. of step 0) when fewer than `num_beams` prefixes exist. Real scores are
    # sums of log-probs, orders of magnitude above this floor.
    padding = ~np.isfinite(scores) | (scores <= _HF_UNFILLED / (2 * gen_cfg.max_new_tokens))
    titles = ig.titles_of(generated)  # every returned sequence walked at once
    results, invalid = [], 0
    for i in range(len(prompts)):
        rows = slice(i * cfg.num_beams, (i + 1) * cfg.num_beams)
        recs, bad = _to_recommendations(ig, titles[rows], scores[rows], padding[rows])
        results.append(recs)
        invalid += bad
    return results, invalid


def _to_recommendations(ig: IGTrie, titles: list[str | None], scores: np.ndarray, padding: np.ndarray
                        ) -> tuple[list[Recommendation], int]:
    recs, invalid = [], 0
    for title, score, pad in zip(titles, scores, padding):
        if pad:  # a padding beam (fewer valid items than beams): dropped, not invalid
            continue
        if title is None:
            invalid += 1
            continue
        recs.append(Recommendation(title, float(score), tuple(ig.path(title)[0].tolist())))
    recs.sort(key=lambda r: -r.score)
    return recs, invalid


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
