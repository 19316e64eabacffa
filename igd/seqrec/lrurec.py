"""LRURec: Linear Recurrent Units over the history; the last position scores every item.

Yue, Wang, Zhang, Kashyap, Chen et al. 2024, "Linear Recurrent Units for Sequential
Recommendation" (WSDM), whose unit is the LRU of Orvieto et al. 2023, "Resurrecting Recurrent
Neural Networks for Long Sequences" (ICML). Each block: an LRU with a complex diagonal state
h_t = lambda * h_{t-1} + gamma * (B u_t), lambda = exp(-exp(nu_log) + i exp(theta_log)),
read out as Re(C h_t), then residual + layer norm; then a position-wise GELU FFN, residual +
layer norm. As in the paper's code: embedding 64, 2 blocks, |lambda| initialised
uniformly on the ring [r_min, r_max] = [0.8, 0.99], gamma = sqrt(1 - |lambda|^2)
(normalisation), dropout 0.2, truncated-normal(0.02) weights, an output bias per item and the
item embeddings shared with the output layer.

Deviation, for the CPU budget (< 5 min on ML-100K on one shared core): the complex state has
d = 64 units instead of the code's 2d, and the FFN is 2d wide instead of 4d; together about a
third less time per epoch (both are fields: state=128, ffn=256 give the paper's sizes).

The paper scans in parallel (log2 T steps) for long sequences; histories here hold <= 10
items, so a plain loop over time is as fast and easier to read. B and C are real matrices
acting on [Re, Im] parts: the same function class as complex B, C, with real parameters.

Input convention: ``history`` holds item id + 1 with 0 = padding, LEFT-padded; output column
j is dataset item id j. Padding rows enter the recurrence as zeros, so the state stays 0 until
the first real item and padding never leaks into it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LRURecConfig:
    hidden: int = 64
    blocks: int = 2
    dropout: float = 0.2
    r_min: float = 0.8
    r_max: float = 0.99
    state: int = 64  # complex state units (LRURec's code: 2 * hidden)
    ffn: int = 128  # FFN width (LRURec's code: 4 * hidden)

    def __post_init__(self) -> None:
        for name in ("hidden", "blocks", "state", "ffn"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r}: must be an int >= 1")
        for name in ("dropout", "r_min", "r_max"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
                raise ValueError(f"{name}={v!r}: must be a number in [0, 1)")
        if not 0 < self.r_min < self.r_max:
            raise ValueError(f"r_min={self.r_min!r}: must be > 0 and < r_max={self.r_max!r}")


class LRU(nn.Module):
    """One Linear Recurrent Unit with its residual and layer norm."""

    def __init__(self, d: int, cfg: LRURecConfig):
        super().__init__()
        n = cfg.state  # complex state units
        u1, u2 = torch.rand(n), torch.rand(n)
        # |lambda| = exp(-nu) uniform on the ring r_min <= |lambda| <= r_max (Orvieto et al.
        # Lemma 3.2): eigenvalues near 1 remember long, none explode; phase uniform in [0, 2 pi).
        nu = -0.5 * torch.log(u1 * (cfg.r_max ** 2 - cfg.r_min ** 2) + cfg.r_min ** 2)  # (n,)
        theta = 2 * math.pi * u2  # (n,)
        # The exponential parameterisation keeps nu > 0, hence |lambda| < 1, whatever the step.
        self.nu_log = nn.Parameter(torch.log(nu))
        self.theta_log = nn.Parameter(torch.log(theta))
        # gamma normalises B u so the state's variance does not grow as |lambda| -> 1.
        self.gamma_log = nn.Parameter(0.5 * torch.log(1 - torch.exp(-2 * nu)))
        self.b = nn.Linear(d, 2 * n)  # [Re, Im] of B u_t (+ bias)
        self.c = nn.Linear(2 * n, d)  # Re(C h_t) from [Re h_t, Im h_t]
        self.dropout = nn.Dropout(cfg.dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor, real: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """x (B, T, d); real (B, T, 1) is 1 on items, 0 on padding. With `last_only` only the
        last position is read out (B, 1, d): all the scores need from the last block."""
        B, T, _ = x.shape
        lam = torch.polar(torch.exp(-torch.exp(self.nu_log)), torch.exp(self.theta_log))  # (n,) complex
        bu = torch.view_as_complex(self.b(x).view(B, T, -1, 2))  # (B, T, n) complex
        bu = bu * torch.exp(self.gamma_log) * real  # padding inputs are 0: the state stays 0
        h = bu.new_zeros(B, bu.shape[-1])  # (B, n) complex
        states = []
        for t in range(T):  # T <= 10: a sequential scan
            h = lam * h + bu[:, t]  # (B, n)
            states.append(h)
        hs = torch.stack(states[-1:] if last_only else states, dim=1)  # (B, T', n)
        x = x[:, -hs.shape[1]:]  # (B, T', d)
        y = self.c(torch.cat([hs.real, hs.imag], dim=-1))  # (B, T', d)
        return self.norm(x + self.dropout(y))


class FeedForward(nn.Module):
    """Position-wise FFN with residual and layer norm."""

    def __init__(self, d: int, width: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, d))
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.dropout(self.net(x)))  # (B, T, d)


class LRURec(nn.Module):
    def __init__(self, n_items: int, cfg: LRURecConfig = LRURecConfig()):
        super().__init__()
        d = cfg.hidden
        self.items = nn.Embedding(n_items + 1, d, padding_idx=0)  # row 0 = padding
        self.norm = nn.LayerNorm(d)
        self.dropout = nn.Dropout(cfg.dropout)
        self.lrus = nn.ModuleList(LRU(d, cfg) for _ in range(cfg.blocks))
        self.ffns = nn.ModuleList(FeedForward(d, cfg.ffn, cfg.dropout) for _ in range(cfg.blocks))
        self.bias = nn.Parameter(torch.zeros(n_items))  # per-item output bias (popularity)
        for module in self.modules():  # LRURec's init: truncated normal(0, 0.02) weights
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.trunc_normal_(module.weight, std=0.02, a=-0.04, b=0.04)
        with torch.no_grad():
            self.items.weight[0].zero_()

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded ids + 1 -> (B, n_items) scores."""
        real = (history > 0).unsqueeze(-1).to(self.items.weight.dtype)  # (B, T, 1)
        x = self.norm(self.dropout(self.items(history)))  # (B, T, d)
        for i, (lru, ffn) in enumerate(zip(self.lrus, self.ffns)):
            x = ffn(lru(x, real, last_only=i == len(self.lrus) - 1))  # (B, T, d); last: (B, 1, d)
        return x[:, -1] @ self.items.weight[1:].T + self.bias  # (B, n_items)
