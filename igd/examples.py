"""Tokenised training rows: prompt + target ids, labels, and per-token loss weights.

Weights depend only on the target title (README: Methods), so they are computed once per title
from the trie's IG path and attached to the labels; the training step never walks the trie.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from igd.config import TRAIN_METHODS
from igd.data import Catalogue, Sample
from igd.info_gain import IGTrie
from igd.loss import method_weights
from igd.sid_targets import SidWeights
from igd.templates import Template, prompt_ids, prompt_ids_batch, target_ids
from igd.tokenization import Tokenizer


@dataclass(frozen=True)
class WeightSpec:
    method: str = "sft"
    beta: float = 1.0
    weighting: str = "binary"
    ig_max: float | None = None
    sid: SidWeights | None = None  # the semantic-ID methods' weights (TRAIN_METHODS[...].sid_only)


class TargetTable:
    """Per title: target ids (= trie path), IG per token, loss weights, zero-IG mask.

    A title that is no trie path (never a training target, under unseen='excluded': only
    validation rows have such targets) gets its training-label tokens with IG 0 everywhere,
    i.e. all-beta IGD weights, as the official code gives them."""

    def __init__(self, ig: IGTrie, spec: WeightSpec, tokenizer: Tokenizer | None = None,
                 template: Template | None = None):
        self.ig, self.spec, self.tokenizer, self.template = ig, spec, tokenizer, template
        self._rows: dict[str, tuple[list[int], list[float], list[bool]]] = {}

    def _path(self, title: str) -> tuple[np.ndarray, np.ndarray]:
        if title in self.ig.title_to_seq or self.tokenizer is None or self.template is None:
            return self.ig.path(title)
        tokens = np.array(target_ids(self.tokenizer, self.template, [title])[0], dtype=np.int64)
        return tokens, np.zeros(len(tokens))

    def __call__(self, title: str) -> tuple[list[int], list[float], list[bool]]:
        row = self._rows.get(title)
        if row is None:
            tokens, igs = self._path(title)
            if TRAIN_METHODS[self.spec.method].sid_only:
                if self.spec.sid is None:
                    raise ValueError(f"method {self.spec.method!r} needs WeightSpec.sid (igd.sid_targets)")
                weights = self.spec.sid.token_weights(self.spec.method, title, len(tokens))
            else:
                weights = [float(w) for w in method_weights(self.spec.method, igs.tolist(), self.spec.beta,
                                                            self.spec.weighting, self.spec.ig_max)]
            row = (tokens.tolist(), weights, (igs == 0).tolist())
            self._rows[title] = row
        return row


def build_examples(samples: Sequence[Sample], catalogue: Catalogue, tokenizer: Tokenizer,
                   template: Template, targets: TargetTable, max_length: int,
                   with_reference: bool = False) -> list[dict]:
    """One dict per sample. Too-long rows drop their OLDEST history items (input ids, mask and
    labels shrink together); the target is never cut. `with_reference` adds the history-free
    prompt that CFT's second forward pass needs."""
    histories = [[catalogue.titles[i] for i in s.history][-template.max_history:] for s in samples]
    prompts = prompt_ids_batch(tokenizer, template, histories)
    reference = prompt_ids(tokenizer, template, []) if with_reference else None
    out = []
    for s, history, prompt in zip(samples, histories, prompts):
        target, weights, zero = targets(catalogue.titles[s.target])
        while len(prompt) + len(target) > max_length and history:
            history = history[1:]
            prompt = prompt_ids(tokenizer, template, history)
        if len(prompt) + len(target) > max_length:
            raise ValueError(f"max_length={max_length} is too short for the prompt ({len(prompt)} "
                             f"tokens without history) plus a {len(target)}-token target; raise it")
        ex = _row(prompt, target, weights, zero)
        if reference is not None:
            ref = _row(reference, target, weights, zero)
            ex.update({f"ref_{k}": v for k, v in ref.items() if k in ("input_ids", "labels")})
        out.append(ex)
    return out


def _row(prompt: list[int], target: list[int], weights: list, zero: list[bool]) -> dict:
    """Weights are one float per token, or one list per token (multi-target: one per task)."""
    n = len(prompt)
    none = [0.0] * len(weights[0]) if isinstance(weights[0], list) else 0.0
    return {"input_ids": prompt + target, "labels": [-100] * n + target,
            "token_weights": [none] * n + weights, "zero_ig": [False] * n + zero}


def collate(pad_token_id: int):
    """Right-pads every key of a list of examples into tensors (labels with -100)."""
    fill = {"input_ids": pad_token_id, "labels": -100, "token_weights": 0.0, "zero_ig": False,
            "ref_input_ids": pad_token_id, "ref_labels": -100}

    def fn(batch: list[dict]) -> dict[str, torch.Tensor]:
        out = {}
        for key in batch[0]:
            width = max(len(b[key]) for b in batch)
            pad = [b[key][0] for b in batch if b[key]][:1]
            value = [fill[key]] * len(pad[0]) if pad and isinstance(pad[0], list) else fill[key]
            rows = [list(b[key]) + [value] * (width - len(b[key])) for b in batch]
            dtype = {"token_weights": torch.float32, "zero_ig": torch.bool}.get(key, torch.long)
            out[key] = torch.tensor(rows, dtype=dtype)
        out["attention_mask"] = _mask(batch, "input_ids", out["input_ids"].shape[1])
        if "ref_input_ids" in out:
            out["ref_attention_mask"] = _mask(batch, "ref_input_ids", out["ref_input_ids"].shape[1])
        return out

    return fn


def _mask(batch: list[dict], key: str, width: int) -> torch.Tensor:
    """1 over each row's real tokens, 0 over the right padding."""
    lengths = torch.tensor([len(b[key]) for b in batch])
    return (torch.arange(width)[None, :] < lengths[:, None]).long()
