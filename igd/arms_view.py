"""Why arms recommend differently, computed without Streamlit: one item across all arms of a
comparison, and the decoding step where two arms' beams part.

An arm's beam score of a title is sum_d w_d log p_d / len ** length_penalty (Eq. 3, 8), with
w_d = 1 - alpha * IG~_d for IGD-Decoding (Eq. 8-9) and 1 otherwise; IG~ is the token's IG
min-max scaled over the candidate tokens of its step (Eq. 9). A title is force-scored along its
trie path (`igd.decode.explain`), so its score is known under every arm, listed or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from igd.compare import Comparison, Side, path_rows, token_text


@dataclass(frozen=True)
class ItemInArm:
    """One arm's view of one title."""

    arm: str
    rank: int | None  # in the arm's top K; None: not in its top K
    score: float  # the beam score this arm gives the title (Eq. 3, 8), listed or not
    shift: str  # rank change from the reference arm: "↑2", "↓1", "=", "new in top K", "left top K", "" (reference)
    path: tuple[dict, ...]  # the title's token path under this arm (`path_rows`)


def _shift(ref: int | None, rank: int | None) -> str:
    if ref is None:
        return "" if rank is None else "new in top K"
    if rank is None:
        return "left top K"
    return "=" if rank == ref else (f"↑{ref - rank}" if rank < ref else f"↓{rank - ref}")


def beam_score(side: Side, path: list[dict]) -> float:
    """Sum of the path's step scores (w_d log p_d) over len ** length_penalty (Eq. 3): what
    beam search scores the title with under `side`'s arm, up to float noise."""
    return float(sum(r["score"] for r in path)) / len(path) ** side.length_penalty


def item_across_arms(comparison: Comparison, title: str, reference: str | None = None) -> list[ItemInArm]:
    """`title` under every arm: its rank in the top K (or None), its beam score and its token
    path; rank shifts are against `reference` (default: the first arm). A title that is not on
    an arm's trie is a ValueError (it cannot be generated, so it has no score)."""
    reference = reference or next(iter(comparison.sides))
    if reference not in comparison.sides:
        raise ValueError(f"reference arm {reference!r}: not one of {', '.join(comparison.sides)}")
    for label, side in comparison.sides.items():
        if title not in side.loaded.ig.title_to_seq:
            raise ValueError(f"{title!r} is not on the item trie of arm {label!r}: pick a catalogue title "
                             "(exact spelling)")
    ref = comparison.rank(reference, title)
    rows = []
    for label, side in comparison.sides.items():
        path, _ = path_rows(side, title)
        rank = comparison.rank(label, title)
        rows.append(ItemInArm(label, rank, beam_score(side, path), "" if label == reference else _shift(ref, rank),
                              tuple(path)))
    return rows


@dataclass(frozen=True)
class Divergence:
    """Where two arms' beams part, and the picture of Eq. 8-9 at that step.

    `step` is the first decoding step (1-based) at which the arms' top-1 titles take different
    tokens; `candidates` are the children of their common prefix on the trie, each with its IG,
    IG~ and, per arm (suffix _a / _b), log p from the arm's model, the weight w = 1 - alpha IG~
    (1 without IGD-Decoding), the step score w log p and its order among the candidates.
    `topk_step` is the first depth d at which the two top-K lists stop reaching the same trie
    nodes: the set of their titles' first-d-token prefixes differs (None: the same K titles,
    whatever their order).
    """

    arm_a: str
    arm_b: str
    step: int | None  # None: both arms have the same top-1 title
    topk_step: int | None
    prefix: tuple[str, ...]  # the shared tokens before `step`, readable
    chosen: tuple[str, str]  # each arm's top-1 token at `step`, readable
    candidates: tuple[dict, ...]  # best first under arm a
    note: str


def first_difference(a: tuple[int, ...], b: tuple[int, ...]) -> int | None:
    """0-based index of the first differing token of two token paths; None when equal."""
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def topk_divergence(comparison: Comparison, arm_a: str, arm_b: str) -> int | None:
    """The first depth d (1-based) at which {first d tokens of each top-K title} differ between
    the two arms; None when they list the same titles."""
    paths = [[r.token_ids for r in comparison.top(arm)] for arm in (arm_a, arm_b)]
    depth = max((len(p) for ps in paths for p in ps), default=0)
    for d in range(1, depth + 1):
        if {p[:d] for p in paths[0]} != {p[:d] for p in paths[1]}:
            return d
    return None


@torch.no_grad()
def _next_logp(side: Side, prefix: tuple[int, ...]) -> np.ndarray:
    """log p(next token | prompt, prefix) over the vocabulary, under the side's model."""
    model = side.loaded.ck.model
    ids = torch.tensor([list(side.prompt) + list(prefix)], device=next(model.parameters()).device)
    return torch.log_softmax(model(input_ids=ids).logits[0, -1].float(), dim=-1).cpu().numpy()


def divergence(comparison: Comparison, arm_a: str, arm_b: str, shown_as: Callable[[str], str] = str) -> Divergence:
    """Where the top-1 titles of `arm_a` and `arm_b` part (see `Divergence`); `shown_as`: an item
    key as the note names it (a semantic ID with its title, igd.sid_view.item_labels)."""
    a, b = comparison.sides[arm_a], comparison.sides[arm_b]
    if a.loaded.ig.fingerprint != b.loaded.ig.fingerprint:
        raise ValueError(f"{arm_a!r} and {arm_b!r} decode over different item tries (other tokenizers or "
                         "datasets): their beams cannot be compared token by token")
    top_a, top_b = comparison.top(arm_a), comparison.top(arm_b)
    if not top_a or not top_b:
        raise ValueError("an arm has an empty list: raise the beams")
    topk = topk_divergence(comparison, arm_a, arm_b)
    at = first_difference(top_a[0].token_ids, top_b[0].token_ids)
    if at is None:
        return Divergence(arm_a, arm_b, None, topk, (), ("", ""), (),
                          f"Both arms rank {shown_as(top_a[0].title)!r} first: their top-1 beams never part.")
    ig = a.loaded.ig
    prefix = top_a[0].token_ids[:at]
    node = int(ig.trie.walk(np.array([prefix], dtype=np.int64))[0]) if at else 0
    _, tokens, edges = ig.trie.children(np.array([node]))
    rows = [{"token": token_text(a.loaded, int(t)), "token_id": int(t), "ig": float(ig.edge_ig[e]),
             "ig_norm": float(ig.edge_ig_norm[e])} for t, e in zip(tokens, edges)]
    for side, suffix in ((a, "_a"), (b, "_b")):
        logp = _next_logp(side, prefix)
        weights = side.arm.config(2).spec.step_weights
        w = np.ones(len(edges)) if weights is None else weights(ig.edge_ig[edges], ig.edge_ig_norm[edges], side.alpha)
        for row, t, weight in zip(rows, tokens, w):
            row.update({f"log_p{suffix}": float(logp[t]), f"weight{suffix}": float(weight),
                        f"score{suffix}": float(weight * logp[t])})  # Eq. 8: w_d log p_d
        for order, row in enumerate(sorted(rows, key=lambda r: -r[f"score{suffix}"]), start=1):
            row[f"order{suffix}"] = order
    rows.sort(key=lambda r: r["order_a"])
    chosen = (top_a[0].token_ids[at], top_b[0].token_ids[at])
    by_id = {r["token_id"]: r for r in rows}
    ca, cb = by_id[chosen[0]], by_id[chosen[1]]
    same = (ca["order_a"] < cb["order_a"]) == (ca["order_b"] < cb["order_b"])
    note = ("At this step both arms put the two tokens in the same order: the lists part later in the "
            "search (the tokens that follow, or BIGRec's division by the title length), not through this "
            "step's weights." if same else
            "The two arms order these tokens differently at this step: here the beams part.")
    return Divergence(arm_a, arm_b, at + 1, topk, tuple(token_text(a.loaded, t) for t in prefix),
                      (ca["token"], cb["token"]), tuple(rows), note)
