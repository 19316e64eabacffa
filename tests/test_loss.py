"""Weighted losses (Eq. 1, 6-7, appendix G, Pos, CFT) on tiny hand-made logits: no model."""

import math

import pytest
import torch

from igd.loss import (cft_loss, igd_token_weights, label_weight_sum, method_weights,
                      pos_token_weights, shift_for_causal_lm, target_window, weighted_cross_entropy,
                      zero_ig_loss_split)

LN2, LN3, LN4 = math.log(2), math.log(3), math.log(4)
X = -100  # ignored label


def t(rows, dtype=torch.float32):
    return torch.tensor(rows, dtype=dtype)


# -- weights -------------------------------------------------------------------------------

def test_pos_weights_decay_from_one_to_beta():
    assert pos_token_weights(3, 0.2) == pytest.approx([1.0, 0.6, 0.2])
    assert pos_token_weights(1, 0.2) == [1.0]  # no division by n - 1 = 0


def test_igd_binary_and_linear_by_hand():
    ig = [0.5, 0.0, 0.25, 0.0]
    assert igd_token_weights(ig, 0.2) == [1.0, 0.2, 1.0, 0.2]  # Eq. 6
    # appendix G: 0.2 + 0.8 * 0.5 / 1 = 0.6, 0.2 + 0.8 * 0.25 / 1 = 0.4
    assert igd_token_weights(ig, 0.2, "linear", ig_max=1.0) == pytest.approx([0.6, 0.2, 0.4, 0.2])
    assert igd_token_weights(ig, 0.2, "linear", ig_max=0.5)[0] == 1.0  # the most decisive token
    assert igd_token_weights([0.0, 0.0], 0.3, "linear", ig_max=0.0) == [0.3, 0.3]  # no information


def test_method_weights():
    ig = [0.7, 0.0, 0.0]
    assert method_weights("sft", ig, 0.2) == [1.0, 1.0, 1.0]
    assert method_weights("igd", ig, 0.2) == [1.0, 0.2, 0.2]
    assert method_weights("pos", ig, 0.2) == method_weights("cft", ig, 0.2) == pytest.approx([1.0, 0.6, 0.2])
    assert method_weights("igd", ig, 1.0) == method_weights("sft", ig, 1.0)  # beta = 1 is SFT
    assert method_weights("igd", ig, 1.0, "linear", 0.7) == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("call, message", [
    (lambda: method_weights("igd", [0.0], beta=-0.1), "beta=-0.1"),
    (lambda: method_weights("sft", [0.0], beta=1.5), "beta=1.5"),
    (lambda: pos_token_weights(2, beta=float("nan")), "beta=nan"),
    (lambda: method_weights("dpo", [0.0], beta=0.5), "method='dpo'"),
    (lambda: method_weights("igd", [0.0], 0.5, weighting="log"), "weighting='log'"),
    (lambda: igd_token_weights([0.0], 0.5, "linear"), "ig_max=None"),
    (lambda: igd_token_weights([0.9], 0.5, "linear", ig_max=0.5), "ig_max=0.5"),
    (lambda: igd_token_weights([-0.1], 0.5), "target_ig"),
    (lambda: pos_token_weights(0, 0.5), "n_tokens=0"),
])
def test_argument_validation_names_argument_and_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- weighted cross-entropy (Eq. 7) ---------------------------------------------------------

@pytest.mark.parametrize("w", [[1.0, 1.0, 1.0], [0.1, 1.0, 0.3], [0.0, 0.0, 2.0]])
def test_uniform_logits_give_ln2_for_any_weights(w):
    logits = torch.zeros(1, 4, 2)
    labels = torch.tensor([[X, 0, 1, 1]])
    loss, per_token = weighted_cross_entropy(logits, labels, t([[0.0] + w]))
    assert loss.item() == pytest.approx(LN2)
    assert per_token[0].tolist() == pytest.approx([LN2] * 3)


# Three target tokens (vocabulary of 2), predicted from positions 0, 1, 2:
#   logits [0, ln 3], label 0: p = 1/4, CE = ln 4      = 1.386294, w = 1.0
#   logits [0, 0],    label 1: p = 1/2, CE = ln 2      = 0.693147, w = 0.5
#   logits [ln 3, 0], label 0: p = 3/4, CE = ln(4/3)   = 0.287682, w = 0.2
# Eq. 7: (1.386294 + 0.346574 + 0.057536) / 1.7 = 1.053179; the plain mean is 0.789041.
HAND_LOGITS = t([[[0.0, LN3], [0.0, 0.0], [LN3, 0.0], [5.0, -5.0]]])
HAND_LABELS = torch.tensor([[X, 0, 1, 0]])
HAND_WEIGHTS = t([[0.0, 1.0, 0.5, 0.2]])


def test_hand_computed_weighted_mean():
    loss, per_token = weighted_cross_entropy(HAND_LOGITS, HAND_LABELS, HAND_WEIGHTS)
    assert per_token[0].tolist() == pytest.approx([LN4, LN2, math.log(4 / 3)])
    assert loss.item() == pytest.approx((LN4 + 0.5 * LN2 + 0.2 * math.log(4 / 3)) / 1.7)
    assert loss.item() == pytest.approx(1.053179, abs=1e-6)
    sft, _ = weighted_cross_entropy(HAND_LOGITS, HAND_LABELS, torch.ones(1, 4))
    assert sft.item() == pytest.approx(0.789041, abs=1e-6)


def test_shift_for_causal_lm():
    logits, labels, weights = shift_for_causal_lm(HAND_LOGITS, HAND_LABELS, HAND_WEIGHTS)
    assert logits.shape == (1, 3, 2) and labels.tolist() == [[0, 1, 0]]
    assert weights[0].tolist() == pytest.approx([1.0, 0.5, 0.2])


def random_batch(seed=0, b=3, tlen=7, v=11):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, tlen, v, generator=g)
    labels = torch.randint(0, v, (b, tlen), generator=g)
    labels[:, :3] = X  # prompt
    labels[1, -2:] = X  # right padding
    weights = torch.rand(b, tlen, generator=g) + 0.1
    return logits, labels, weights


def test_beta_one_igd_equals_sft():
    logits, labels, _ = random_batch()
    ig = torch.rand(labels.shape) * (torch.rand(labels.shape) > 0.5)  # about half zero
    igd = t([method_weights("igd", row, 1.0) for row in ig.tolist()])
    sft = t([method_weights("sft", row, 1.0) for row in ig.tolist()])
    assert torch.equal(weighted_cross_entropy(logits, labels, igd)[0],
                       weighted_cross_entropy(logits, labels, sft)[0])


def test_weights_at_ignored_positions_are_ignored():
    logits, labels, weights = random_batch()
    garbage = weights.clone()
    garbage[labels == X] = float("nan")
    garbage[:, 0] = 1e6  # never a label after the shift
    assert torch.equal(weighted_cross_entropy(logits, labels, weights)[0],
                       weighted_cross_entropy(logits, labels, garbage)[0])


def test_bf16_logits_are_reduced_in_float32():
    logits, labels, weights = random_batch()
    loss16, per16 = weighted_cross_entropy(logits.bfloat16(), labels, weights)
    loss32, _ = weighted_cross_entropy(logits.bfloat16().float(), labels, weights)
    assert loss16.dtype == per16.dtype == torch.float32
    assert loss16.item() == pytest.approx(loss32.item(), abs=1e-6)  # same inputs, fp32 maths
    assert loss16.item() == pytest.approx(weighted_cross_entropy(logits, labels, weights)[0].item(), rel=1e-2)


def test_gradient_flows_only_to_label_positions():
    logits, labels, weights = random_batch()
    logits.requires_grad_(True)
    loss, per_token = weighted_cross_entropy(logits, labels, weights)
    loss.backward()
    predicts_label = torch.zeros(labels.shape, dtype=torch.bool)
    predicts_label[:, :-1] = labels[:, 1:] != X
    assert logits.grad[predicts_label].abs().sum() > 0
    assert logits.grad[~predicts_label].abs().sum() == 0
    assert not per_token.requires_grad


def test_the_target_window_starts_one_before_the_first_label_and_scores_the_same_tokens():
    labels = torch.tensor([[X, X, X, 5, 6], [X, X, 7, 8, X]])  # first label at position 2
    assert target_window(labels) == 4  # positions 1..4: position 1 predicts the label at 2
    assert target_window(torch.full((2, 5), X)) == 1
    assert target_window(torch.tensor([[4, X, X]])) == 3  # a label at 0: nothing to cut
    logits = torch.randn(2, 5, 9)
    weights = torch.rand(2, 5)
    full, ce = weighted_cross_entropy(logits, labels, weights)
    cut, ce_cut = weighted_cross_entropy(logits[:, -4:], labels[:, -4:], weights[:, -4:])
    assert torch.equal(full, cut) and torch.equal(ce[:, -3:], ce_cut)  # the same tokens, bit for bit
    assert (ce[:, :-3] == 0).all()  # nothing was scored before the window


def test_no_label_tokens_give_zero_loss_with_a_graph():
    model = torch.nn.Embedding(5, 4)  # stands for the LM: its parameters must get (zero) grads
    logits = model(torch.tensor([[1, 2, 3]]))
    loss, per_token = weighted_cross_entropy(logits, torch.full((1, 3), X), torch.ones(1, 3))
    assert loss.item() == 0.0 and loss.grad_fn is not None
    loss.backward()
    assert model.weight.grad is not None and model.weight.grad.abs().sum() == 0  # DDP all-reduces it
    assert per_token.tolist() == [[0.0, 0.0]]


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match="labels"):
        weighted_cross_entropy(torch.zeros(1, 4, 2), torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 3))


def test_global_normaliser_makes_accumulation_match_the_full_batch():
    logits, labels, weights = random_batch(b=4)
    weights[0] = 0.05  # one micro-batch with a small sum of weights, as with many zero-IG tokens
    full, _ = weighted_cross_entropy(logits, labels, weights)
    total = label_weight_sum(labels, weights)
    assert total.item() == pytest.approx(weights[:, 1:][labels[:, 1:] != X].sum().item())
    halves = [(logits[i:i + 2], labels[i:i + 2], weights[i:i + 2]) for i in (0, 2)]
    summed = sum(weighted_cross_entropy(*h, total_weight=total)[0] for h in halves)
    assert summed.item() == pytest.approx(full.item(), rel=1e-6)
    averaged = sum(weighted_cross_entropy(*h)[0] for h in halves) / 2  # per-micro-batch Σw
    assert averaged.item() != pytest.approx(full.item(), rel=1e-3)


# -- CFT ------------------------------------------------------------------------------------

def cft_reference(logits, labels, weights, ref_logits, ref_labels, alpha):
    """Row by row with explicit target positions: what the masked version must equal."""
    num = num_cf = den = 0.0
    for i in range(labels.shape[0]):
        pos = (labels[i, 1:] != X).nonzero().flatten()
        ref_pos = (ref_labels[i, 1:] != X).nonzero().flatten()
        for p, r in zip(pos.tolist(), ref_pos.tolist()):
            y, w = labels[i, p + 1], weights[i, p + 1].item()
            num += w * torch.nn.functional.cross_entropy(logits[i, p], y).item()
            num_cf += w * torch.nn.functional.cross_entropy(logits[i, p] - ref_logits[i, r], y).item()
            den += w
    return (num + alpha * num_cf) / den


def cft_batch():
    """Two rows; the prompts without history are 2 tokens shorter; row 1 has a 1-token target."""
    g = torch.Generator().manual_seed(1)
    labels = torch.tensor([[X, X, X, X, 4, 2, 7], [X, X, X, X, X, 3, X]])
    ref_labels = torch.tensor([[X, X, 4, 2, 7], [X, X, X, 3, X]])
    weights = t([[0, 0, 0, 0, *pos_token_weights(3, 0.2)], [0, 0, 0, 0, 0, 1.0, 0]])
    return (torch.randn(2, 7, 9, generator=g), labels, weights,
            torch.randn(2, 5, 9, generator=g), ref_labels)


def test_cft_alpha_zero_is_pos():
    logits, labels, weights, ref_logits, ref_labels = cft_batch()
    pos, pos_tokens = weighted_cross_entropy(logits, labels, weights)
    cft, cft_tokens = cft_loss(logits, labels, weights, ref_logits, ref_labels, alpha=0.0)
    assert cft.item() == pytest.approx(pos.item(), rel=1e-7)
    assert torch.equal(cft_tokens, pos_tokens)


def test_cft_aligns_targets_across_prompt_lengths():
    batch = cft_batch()
    loss, _ = cft_loss(*batch, alpha=0.3)
    assert math.isfinite(loss.item())
    assert loss.item() == pytest.approx(cft_reference(*batch, alpha=0.3), rel=1e-5)


def test_cft_hand_computed():
    # Target [0, 1], Pos weights (beta = 0.2) [1, 0.2]; main logits uniform: CE = ln 2 each.
    # Without history the logits at the targets are [0, ln 3] and [0, ln 3], so logits - ref:
    #   [0, -ln 3], label 0: p = 3/4, CE = ln(4/3);  [0, -ln 3], label 1: p = 1/4, CE = ln 4.
    # loss = ln 2 + 0.5 * (1 * ln(4/3) + 0.2 * ln 4) / 1.2 = 0.693147 + 0.5 * 0.470784 = 0.928539
    labels, ref_labels = torch.tensor([[X, X, X, 0, 1]]), torch.tensor([[X, 0, 1]])
    weights = t([[0, 0, 0, 1.0, 0.2]])
    ref_logits = t([[[0.0, LN3], [0.0, LN3], [9.0, 9.0]]])
    loss, _ = cft_loss(torch.zeros(1, 5, 2), labels, weights, ref_logits, ref_labels, alpha=0.5)
    assert loss.item() == pytest.approx(LN2 + 0.5 * (math.log(4 / 3) + 0.2 * LN4) / 1.2)
    assert loss.item() == pytest.approx(0.928539, abs=1e-6)


def test_cft_gradient_reaches_both_passes():
    logits, labels, weights, ref_logits, ref_labels = cft_batch()
    logits.requires_grad_(True)
    ref_logits.requires_grad_(True)
    cft_loss(logits, labels, weights, ref_logits, ref_labels, alpha=0.2)[0].backward()
    assert logits.grad.abs().sum() > 0 and ref_logits.grad.abs().sum() > 0


@pytest.mark.parametrize("ref_row", [[X, X, 4, 9, 7], [X, X, X, 2, 7]])  # other token; one missing
def test_cft_misaligned_targets_raise(ref_row):
    logits, labels, weights, ref_logits, ref_labels = cft_batch()
    ref_labels[0] = torch.tensor(ref_row)
    with pytest.raises(ValueError, match=r"CFT row 0: the target tokens .* differ"):
        cft_loss(logits, labels, weights, ref_logits, ref_labels, alpha=0.1)


def test_cft_validates_alpha():
    with pytest.raises(ValueError, match="alpha=-0.1"):
        cft_loss(*cft_batch(), alpha=-0.1)


# -- Figs 2 and 5 logging ---------------------------------------------------------------------

def test_zero_ig_loss_split():
    per_token = t([[9.0, 1.0, 2.0, 4.0]])
    labels = torch.tensor([[X, 5, 6, 7]])
    zero_ig = torch.tensor([[True, True, False, True]])
    assert zero_ig_loss_split(per_token, labels, zero_ig) == (2.5, 2.0)  # (1 + 4) / 2, 2 / 1
    zero, nonzero = zero_ig_loss_split(per_token, labels, torch.ones(1, 4, dtype=torch.bool))
    assert zero == pytest.approx(7 / 3) and math.isnan(nonzero)
    with pytest.raises(ValueError, match="bool mask"):
        zero_ig_loss_split(per_token, labels, per_token)
