"""SASRec: causal self-attention over the history; the last position scores every item.

Kang & McAuley 2018, "Self-Attentive Sequential Recommendation" (ICDM). As in the paper and
its code: 2 blocks, 1 head, learned positional embeddings, item embeddings scaled by sqrt(d)
and shared with the output layer, each sub-layer as x + Dropout(f(LayerNorm(x))) (the paper's
g(x)), a point-wise two-layer ReLU FFN of width d, and a final layer norm.

Dropout 0.2: the paper's value for the dense ML-1M (0.5 is for the sparse Amazon sets); the
D3 MovieLens windows are dense. Hidden 64 instead of the paper's 50: the other two baselines'
size.

Input convention: ``history`` holds item id + 1 with 0 = padding, LEFT-padded; output column
j is dataset item id j. Positions count back from the end of the window (the last item is
always position max_len - 1, as in SASRec's fixed-length left padding), so how much padding a
batch carries changes nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class SASRecConfig:
    hidden: int = 64
    blocks: int = 2
    dropout: float = 0.2
    max_len: int = 10  # D3 histories hold at most 10 items

    def __post_init__(self) -> None:
        for name in ("hidden", "blocks", "max_len"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r}: must be an int >= 1")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"dropout={self.dropout!r}: must be a number in [0, 1)")


class Block(nn.Module):
    """One single-head self-attention block with its point-wise FFN."""

    def __init__(self, d: int, dropout: float):
        super().__init__()
        self.ln_att, self.ln_ffn = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)  # W^Q, W^K, W^V of the paper (no output projection)
        self.ffn = nn.Sequential(nn.Linear(d, d), nn.ReLU(), nn.Dropout(dropout), nn.Linear(d, d))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, allowed: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """x (B, T, d); allowed (B, T, T): query t may attend to key s. With `last_only` only
        the last position is computed (B, 1, d): all the scores need from the last block."""
        q, k, v = self.qkv(self.ln_att(x)).chunk(3, dim=-1)  # each (B, T, d)
        if last_only:
            q, allowed, x = q[:, -1:], allowed[:, -1:], x[:, -1:]  # (B, 1, d), (B, 1, T), (B, 1, d)
        att = q @ k.transpose(1, 2) / math.sqrt(x.shape[-1])  # (B, T', T)
        att = att.masked_fill(~allowed, float("-inf")).softmax(dim=-1)
        x = x + self.dropout(att @ v)  # (B, T', d)
        return x + self.dropout(self.ffn(self.ln_ffn(x)))  # (B, T', d)


class SASRec(nn.Module):
    def __init__(self, n_items: int, cfg: SASRecConfig = SASRecConfig()):
        super().__init__()
        self.max_len = cfg.max_len
        self.items = nn.Embedding(n_items + 1, cfg.hidden, padding_idx=0)  # row 0 = padding
        nn.init.normal_(self.items.weight[1:], std=0.02)  # small: the tied logits start near 0
        self.positions = nn.Embedding(cfg.max_len, cfg.hidden)
        nn.init.normal_(self.positions.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(cfg.hidden, cfg.dropout) for _ in range(cfg.blocks))
        self.ln_out = nn.LayerNorm(cfg.hidden)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        """(B, T) left-padded ids + 1 -> (B, n_items) scores."""
        history = history[:, -self.max_len:]  # SASRec keeps the last max_len items
        T = history.shape[1]
        d = self.items.embedding_dim
        pos = torch.arange(self.max_len - T, self.max_len, device=history.device)  # (T,)
        x = self.dropout(self.items(history) * math.sqrt(d) + self.positions(pos))  # (B, T, d)
        real = history > 0  # (B, T)
        causal = torch.ones(T, T, dtype=torch.bool, device=history.device).tril()  # (T, T)
        # Real queries see only earlier real keys, so padding never reaches them; a padding
        # query also sees itself, which keeps its softmax finite (its output is never used).
        allowed = (causal & real[:, None, :]) | torch.eye(T, dtype=torch.bool, device=history.device)  # (B, T, T)
        for i, block in enumerate(self.blocks):
            x = block(x, allowed, last_only=i == len(self.blocks) - 1)  # (B, T, d); last: (B, 1, d)
        last = self.ln_out(x[:, -1])  # (B, d): left padding puts the newest item last
        return last @ self.items.weight[1:].T  # (B, n_items)
