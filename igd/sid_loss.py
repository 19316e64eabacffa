"""Multi-target learning (Chiu, Wang, Cheng 2026): L = sum_k w_k L_k over the tasks
(CE, Front-Greater, Frequency), each L_k a token-weighted cross-entropy normalised by its own
sum of weights (Eq. 7's form), w_k = exp(-s_k) / sum_j exp(-s_j) with learnable s (init 0).

The curriculum ("mtl-curriculum") multiplies the CE and Front-Greater precisions exp(-s_k) by
exp(-c step) and the Frequency one by 1 - exp(-c step) before normalising: training starts on
CE and Front-Greater and moves to Frequency. The authors' released code computes this pace but
leaves it switched off, which is "mtl". Numbers as igd.sid_weights.task_weights (tested equal).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from transformers import TrainerCallback

from igd.loss import weighted_cross_entropy
from igd.sid_weights import TASKS


class TaskWeights(nn.Module):
    """The learnable s_k; calling it gives w_k at a training step (a tensor that sums to 1)."""

    def __init__(self, curriculum: bool, c: float):
        super().__init__()
        self.s = nn.Parameter(torch.zeros(len(TASKS)))
        self.curriculum, self.c = curriculum, c

    def forward(self, step: int) -> Tensor:
        precision = torch.exp(-self.s)
        if self.curriculum:
            decay = math.exp(-self.c * step)
            precision = precision * torch.tensor([decay, decay, 1.0 - decay], device=self.s.device)
        return precision / precision.sum()

    def values(self, step: int) -> dict[str, float]:
        """s_k and w_k by task name, for the training log."""
        with torch.no_grad():
            w = self(step)
        return {**{f"s_{t}": float(v) for t, v in zip(TASKS, self.s.detach())},
                **{f"w_{t}": float(v) for t, v in zip(TASKS, w)}}


class SyncTaskWeights(TrainerCallback):
    """Multi-process training: s is outside the DDP-wrapped model, so its gradient is averaged
    over the processes here, before each optimizer step (as DDP does for the model's own)."""

    def __init__(self, tasks: TaskWeights):
        self.tasks = tasks

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        average_gradient(self.tasks.s)


def average_gradient(param: Tensor) -> None:
    """param.grad <- its mean over the processes of the default group (no-op in one process)."""
    import torch.distributed as dist

    if param.grad is not None and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(param.grad)
        param.grad /= dist.get_world_size()


def multi_target_loss(logits: Tensor, labels: Tensor, weights: Tensor, task_w: Tensor,
                      total_weight: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """sum_k task_w[k] * weighted CE with weights[..., k] (each over its own sum of weights, or
    `total_weight[k]`, the whole optimiser step's). weights [B, T, K]; returns (loss, per-token CE)."""
    if weights.dim() != 3 or weights.shape[-1] != task_w.shape[0]:
        raise ValueError(f"weights {tuple(weights.shape)} need one column per task ({task_w.shape[0]})")
    losses, ce = weighted_cross_entropy(logits, labels, weights, total_weight=total_weight)  # [K]
    return (task_w.to(logits.device) * losses).sum(), ce
