"""Token-weighted training losses: SFT (Eq. 1), IGD-T (Eq. 6-7), and the Pos and CFT baselines.

Every method is one weighted cross-entropy over the target tokens of a batch,

    L = sum_t w_t * CE_t / sum_t w_t        (Eq. 7; SFT, Eq. 1, is w_t = 1)

over the label tokens (labels != -100); only the weights differ. They depend on the target
alone, so they are computed once with the labels (`method_weights`) and reach the training
step as a float tensor aligned with input_ids, like the labels (README: Methods).

Gradient accumulation. By default the denominator is the call's own sum of weights, i.e. one
micro-batch. Averaging such per-micro-batch losses is not Eq. 7 over the optimizer batch:
a micro-batch whose targets are mostly zero-IG tokens has a small sum of weights, so each of
its tokens counts more, and results change with the micro-batch size at a fixed batch size.
For Eq. 7 over the whole step pass `total_weight` = the sum of `label_weight_sum` over all
micro-batches of the step (and all DDP ranks), and SUM the micro-batch losses. DDP averages
gradients over ranks, so multiply each rank's loss by the world size. Do not use the Trainer's
`num_items_in_batch` (a token count) as `total_weight`: with beta < 1 it is not the sum of weights.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from igd.config import TRAIN_METHODS, WEIGHTINGS

IGNORE_INDEX = -100  # HF convention: prompt and padding labels


def _check_beta(beta: float) -> None:
    if not 0.0 <= beta <= 1.0:  # also rejects NaN
        raise ValueError(f"beta={beta!r}: must be in [0, 1]")


def igd_token_weights(target_ig: Sequence[float], beta: float, weighting: str = "binary",
                      ig_max: float | None = None) -> list[float]:
    """IGD-T weight of each target token from its information gain (nats).

    binary (Eq. 6): w = beta if IG == 0 else 1. IGTrie sets IG to exactly 0.0 where no sibling
    branch has mass, so the test is exact.
    linear (appendix G, Table 8): w = beta + (1 - beta) * IG / ig_max, from beta (IG = 0) up to
    1 (the most decisive token). ig_max is the largest IG over the training targets' tokens
    (= IGTrie.edge_ig.max() under both unseen policies), the same for every row; it is required,
    since a per-target maximum would give every target a weight-1 token. ig_max == 0 means no
    training token carries information: every weight is beta, the binary rule for IG = 0 (and,
    after normalising by sum w, plain SFT). IG > ig_max means a wrong ig_max: ValueError.
    ig_max is ignored by the binary weighting.
    """
    _check_beta(beta)
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting={weighting!r}: choose one of {', '.join(WEIGHTINGS)}")
    ig = [float(x) for x in target_ig]
    if not all(x >= 0.0 and math.isfinite(x) for x in ig):
        raise ValueError(f"target_ig={ig}: information gain must be finite and >= 0")
    if weighting == "binary":
        return [beta if x == 0.0 else 1.0 for x in ig]
    if ig_max is None or not (math.isfinite(ig_max) and ig_max >= 0.0):
        raise ValueError(f"ig_max={ig_max!r}: weighting='linear' needs the (finite, >= 0) "
                         "largest IG over the training targets")
    if any(x > ig_max for x in ig):
        raise ValueError(f"ig_max={ig_max!r} is below an IG of this target ({max(ig)!r}): pass "
                         "the maximum over all training targets")
    if ig_max == 0.0:
        return [beta] * len(ig)
    return [beta + (1.0 - beta) * x / ig_max for x in ig]


def pos_token_weights(n_tokens: int, beta: float) -> list[float]:
    """Pos baseline: weights decaying linearly from 1 (first target token) to beta (last).

    w_k = 1 - (1 - beta) * k / (n - 1). A one-token target gets [1.0]: the public CFT code
    divides by (n - 1) there and gets NaN weights.
    """
    _check_beta(beta)
    if n_tokens < 1:
        raise ValueError(f"n_tokens={n_tokens!r}: a target has at least one token (the EOS)")
    if n_tokens == 1:
        return [1.0]
    return [1.0 - (1.0 - beta) * k / (n_tokens - 1) for k in range(n_tokens)]


def method_weights(method: str, target_ig: Sequence[float], beta: float,
                   weighting: str = "binary", ig_max: float | None = None) -> list[float]:
    """Per-token loss weights of one target for a training method (see TRAIN_METHODS).

    sft: all 1 (Eq. 1); igd: `igd_token_weights`; pos and cft: `pos_token_weights` (CFT's extra
    term lives in `cft_loss`). beta and weighting are validated for every method so that a bad
    configuration fails even where they are unused.
    """
    if method not in TRAIN_METHODS:
        raise ValueError(f"method={method!r}: choose one of {', '.join(TRAIN_METHODS)}")
    _check_beta(beta)
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting={weighting!r}: choose one of {', '.join(WEIGHTINGS)}")
    if method == "igd":
        return igd_token_weights(target_ig, beta, weighting, ig_max)
    n = len(target_ig)
    if method == "sft":
        return [1.0] * n
    return pos_token_weights(n, beta)


def shift_for_causal_lm(logits: Tensor, labels: Tensor,
                        weights: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Position t predicts token t + 1: drop the last logit and the first label and weight.

    labels and weights are aligned with input_ids (HF convention); the results are views.
    """
    return logits[:, :-1], labels[:, 1:], weights[:, 1:]


def target_window(labels: Tensor) -> int:
    """How many last positions of the batch carry every logit the loss reads: position t
    predicts label t + 1, so from one before the batch's first label to the end. Rows are
    right-padded with the target last, so the prompt before that is never scored; the model
    then computes logits there only (HF's `logits_to_keep`), which skips the vocabulary
    projection over most of the prompt (benchmarks/train_step.py). Slice labels, weights and
    the zero-IG mask with [:, -window:] and the losses below read the same tokens as before."""
    labelled = (labels != IGNORE_INDEX).any(0).nonzero()
    if labelled.numel() == 0:
        return 1  # nothing to score: the zero loss needs a logit to stay a function of the model
    return labels.shape[1] - max(int(labelled[0]) - 1, 0)


def label_weight_sum(labels: Tensor, weights: Tensor) -> Tensor:
    """Sum of the weights of the label tokens (after the shift): Eq. 7's denominator for one
    micro-batch. Add it up over a step's micro-batches (and ranks) to get `total_weight`.
    Weights [B, T, K] (one column per task of multi-target learning) give K sums."""
    labels, weights = labels[:, 1:], weights[:, 1:]
    mask = labels != IGNORE_INDEX
    if weights.dim() == 3:
        mask = mask[..., None]
    return torch.where(mask, weights.float(), 0.0).sum(dim=(0, 1))


def weighted_cross_entropy(logits: Tensor, labels: Tensor, weights: Tensor,
                           total_weight: float | Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Eq. 7: sum(w * CE) / sum(w) over the label tokens; shifts internally.

    logits [B, T, V] (any float dtype; CE is computed in float32), labels [B, T] with -100 where
    ignored, weights [B, T] float aligned with labels (values at ignored positions are never
    read, NaN included). Weights must be finite and >= 0 at label positions (`method_weights`
    guarantees it). total_weight replaces this batch's sum of weights (see the module
    docstring on gradient accumulation). Weights [B, T, K] score K weightings at once (multi-target
    learning): the loss is then [K], each weighting over its own sum of weights (total_weight [K]),
    from one cross-entropy pass.

    No label token (or a zero sum of weights) gives a loss of exactly 0 that is still a function
    of `logits`: backward() then yields zero gradients instead of none, so every DDP rank
    all-reduces the same parameters and none hangs waiting for the others.

    Returns (loss, per_token_ce [B, T-1] float32, detached, 0 at ignored positions).
    """
    _check_shapes(logits, labels, weights if weights.dim() != 3 else weights[..., 0])
    logits, labels, weights = shift_for_causal_lm(logits, labels, weights)
    mask = labels != IGNORE_INDEX
    # Only label rows are cast to float32: the prompt, most of the sequence, is never copied.
    ce = F.cross_entropy(logits[mask].float(), labels[mask], reduction="none")
    w = weights[mask].float()  # [N], or [N, K]
    loss = (w * (ce if w.dim() == 1 else ce[:, None])).sum(0) / _denominator(w, total_weight)
    return loss, _scatter(ce, mask)


def cft_loss(logits: Tensor, labels: Tensor, weights: Tensor, ref_logits: Tensor, ref_labels: Tensor,
             alpha: float, total_weight: float | Tensor | None = None) -> tuple[Tensor, Tensor]:
    """CFT baseline: Pos-weighted CE + alpha * the same weighted CE on (logits - ref_logits).

    ref_logits/ref_labels come from a second forward pass on the prompt WITHOUT the history, so
    prompts differ in length; the target tokens are matched by the label masks (same tokens, same
    order in each row, checked: ValueError otherwise). Both terms use the main row's weights and
    one denominator, as in the public CFT code. Gradients flow through both passes (ref_logits are
    not detached, as in that code); pass ref_logits.detach() to make the reference a constant.
    alpha = 0 gives exactly the Pos loss. Returns (loss, per_token_ce of the main term).
    """
    if not (math.isfinite(alpha) and alpha >= 0.0):
        raise ValueError(f"alpha={alpha!r}: must be finite and >= 0")
    _check_shapes(logits, labels, weights)
    _check_shapes(ref_logits, ref_labels, ref_labels)
    if ref_logits.shape[0] != logits.shape[0] or ref_logits.shape[2] != logits.shape[2]:
        raise ValueError(f"ref_logits {tuple(ref_logits.shape)} and logits {tuple(logits.shape)} "
                         "differ in batch size or vocabulary")
    logits, labels, weights = shift_for_causal_lm(logits, labels, weights)
    ref_logits, ref_labels = ref_logits[:, :-1], ref_labels[:, 1:]
    mask, ref_mask = labels != IGNORE_INDEX, ref_labels != IGNORE_INDEX
    _check_aligned(labels, mask, ref_labels, ref_mask)
    # Boolean indexing is row-major: both selections list row 0's target tokens in order, then row 1's...
    main = logits[mask].float()
    target, w = labels[mask], weights[mask].float()
    ce = F.cross_entropy(main, target, reduction="none")
    ce_cf = F.cross_entropy(main - ref_logits[ref_mask].float(), target, reduction="none")
    loss = ((w * ce).sum() + alpha * (w * ce_cf).sum()) / _denominator(w, total_weight)
    return loss, _scatter(ce, mask)


def zero_ig_loss_split(per_token_ce: Tensor, labels_shifted: Tensor,
                       zero_ig_shifted: Tensor) -> tuple[float, float]:
    """Mean CE of the zero-IG and of the non-zero-IG label tokens (NaN when a group is empty):
    the two training-loss curves of the paper's Figs 2 and 5. All inputs [B, T-1], shifted;
    zero_ig_shifted is a bool mask (IG == 0), not the IG values."""
    if zero_ig_shifted.dtype != torch.bool:
        raise ValueError(f"zero_ig_shifted has dtype {zero_ig_shifted.dtype}: pass the bool mask IG == 0")
    if not per_token_ce.shape == labels_shifted.shape == zero_ig_shifted.shape:
        raise ValueError(f"shapes differ: per_token_ce {tuple(per_token_ce.shape)}, labels "
                         f"{tuple(labels_shifted.shape)}, zero_ig {tuple(zero_ig_shifted.shape)}")
    mask = labels_shifted != IGNORE_INDEX
    ce = per_token_ce.detach().float()

    def mean(group: Tensor) -> float:
        n = int(group.sum())
        return float(ce[group].sum()) / n if n else math.nan

    return mean(mask & zero_ig_shifted), mean(mask & ~zero_ig_shifted)


def _check_shapes(logits: Tensor, labels: Tensor, weights: Tensor) -> None:
    if logits.dim() != 3 or labels.shape != logits.shape[:2] or weights.shape != labels.shape:
        raise ValueError(f"expected logits [B, T, V] and labels, weights [B, T]; got logits "
                         f"{tuple(logits.shape)}, labels {tuple(labels.shape)}, "
                         f"weights {tuple(weights.shape)}")


def _check_aligned(labels: Tensor, mask: Tensor, ref_labels: Tensor, ref_mask: Tensor) -> None:
    """The rows with and without history must have identical targets (one sync; cheap next to
    the two forward passes)."""
    counts, ref_counts = mask.sum(1), ref_mask.sum(1)
    if torch.equal(counts, ref_counts) and torch.equal(labels[mask], ref_labels[ref_mask]):
        return
    for i in range(labels.shape[0]):  # error path only: name the first bad row
        a, b = labels[i][mask[i]].tolist(), ref_labels[i][ref_mask[i]].tolist()
        if a != b:
            raise ValueError(f"CFT row {i}: the target tokens with history {a} differ from those "
                             f"without history {b}; build both rows from the same target ids")


def _denominator(w: Tensor, total_weight: float | Tensor | None) -> Tensor:
    """sum(w) (per column of a [N, K] w), or total_weight; a zero denominator becomes 1 (the
    numerator is then 0)."""
    total = w.sum(0) if total_weight is None else torch.as_tensor(
        total_weight, dtype=torch.float32, device=w.device)
    return torch.where(total > 0, total, torch.ones_like(total))


def _scatter(ce: Tensor, mask: Tensor) -> Tensor:
    out = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device)
    out[mask] = ce.detach()
    return out
