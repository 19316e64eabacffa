"""The paper's decoding analyses, computed with each evaluation and stored as its metrics.

Entropy gap (Fig. 3 / 6 / 8): at each decoding step d (after d tokens), the mean prefix
entropy H(prefix) (Eq. 4) over the returned top-10 titles, and the same for the ground-truth
title's prefix. The paper's reading: decoding favours high-logit zero-IG tokens, which leave
H(prefix) where it was, so the predictions' prefixes stay less decided (higher H) than the
ground truth's; IGD-Decoding, weighting high-IG tokens up, narrows the gap. Stored as
`h_pred@d`, `h_truth@d` and the counts behind each mean (`n_pred@d`, `n_truth@d`): a title
shorter than d tokens takes no part at step d, a ground truth that is not a trie path (an
unseen item under `--unseen excluded`) takes no part at all.

IG vs log-probability (Fig. 4): for the tokens of the returned titles, their log p under the
model (teacher-forced, the full-vocabulary softmax) by IG bin, zero-IG tokens in a bin of
their own: `iglogp_n@BIN` tokens with mean `iglogp_mean@BIN` and the share with p > 0.5,
`iglogp_high@BIN`. A compact summary, not every token; computed on an evenly spread subsample
of users (`IGLOGP_USERS`), since it costs one extra forward pass per user.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from igd.info_gain import IGTrie

# IG bins in nats, upper edges inclusive; "0" holds the zero-IG tokens exactly.
IG_BINS: tuple[tuple[str, float, float], ...] = (
    ("0", 0.0, 0.0), ("(0,0.001]", 0.0, 1e-3), ("(0.001,0.01]", 1e-3, 1e-2), ("(0.01,0.1]", 1e-2, 0.1),
    ("(0.1,1]", 0.1, 1.0), ("(1,inf)", 1.0, float("inf")))
IGLOGP_USERS = 500
HIGH_P = 0.5


def _depth_entropy(ig: IGTrie, titles: Sequence[str]) -> np.ndarray:
    """[len(titles), max_len] H(prefix after d+1 tokens) of each title's path, NaN past its end."""
    seqs = [ig.title_to_seq[t] for t in titles]
    nodes = ig.trie.seq_nodes[seqs, 1:] if seqs else np.zeros((0, ig.trie.seq_nodes.shape[1] - 1), np.int64)
    return np.where(nodes > 0, ig.node_entropy[np.maximum(nodes, 0)], np.nan)


def entropy_by_step(ig: IGTrie, lists: Sequence[Sequence[str]], targets: Sequence[str],
                    top: int = 10) -> dict[str, float]:
    """Per decoding step, the mean H(prefix) of the top-`top` titles and of the ground truth."""
    predicted = [t for items in lists for t in list(items)[:top] if t in ig.title_to_seq]
    truths = [t for t in targets if t in ig.title_to_seq]
    out: dict[str, float] = {}
    for name, titles in (("pred", predicted), ("truth", truths)):
        h = _depth_entropy(ig, titles)
        counts = np.sum(~np.isnan(h), axis=0)
        sums = np.nansum(h, axis=0)
        for d in np.flatnonzero(counts):
            out[f"h_{name}@{d + 1}"] = float(sums[d] / counts[d])
            out[f"n_{name}@{d + 1}"] = float(counts[d])
    return out


def ig_logp_summary(igs: np.ndarray, logps: np.ndarray) -> dict[str, float]:
    """Binned log p of decoded tokens by their IG (see the module docstring)."""
    igs, logps = np.asarray(igs, dtype=np.float64), np.asarray(logps, dtype=np.float64)
    out: dict[str, float] = {}
    for name, low, high in IG_BINS:
        inside = igs == 0.0 if high == 0.0 else (igs > low) & (igs <= high)
        n = int(inside.sum())
        out[f"iglogp_n@{name}"] = float(n)
        if n:
            out[f"iglogp_mean@{name}"] = float(logps[inside].mean())
            out[f"iglogp_high@{name}"] = float(np.mean(logps[inside] > np.log(HIGH_P)))
    return out


def returned_token_logp(model, ig: IGTrie, prompts: Sequence[Sequence[int]], lists: Sequence[Sequence[str]],
                        pad_token_id: int, top: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(IG, log p) of every token of the returned titles: one teacher-forced forward pass per
    user over its titles (right-padded; log p is the model's full-vocabulary log-softmax)."""
    import torch

    device = next(model.parameters()).device
    all_ig, all_logp = [], []
    for prompt, items in zip(prompts, lists):
        titles = [t for t in list(items)[:top] if t in ig.title_to_seq]
        if not titles:
            continue
        paths = [ig.path(t) for t in titles]
        width = len(prompt) + max(len(tokens) for tokens, _ in paths)
        ids = torch.full((len(paths), width), pad_token_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, (tokens, _) in enumerate(paths):
            n = len(prompt) + len(tokens)
            ids[row, :n] = torch.tensor(list(prompt) + tokens.tolist())
            mask[row, :n] = 1
        with torch.no_grad():
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
        logp = torch.log_softmax(logits, dim=-1).cpu().numpy()
        for row, (tokens, igs) in enumerate(paths):
            at = np.arange(len(tokens)) + len(prompt) - 1  # the position that predicts each token
            all_logp.append(logp[row, at, tokens])
            all_ig.append(igs)
    if not all_ig:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(all_ig), np.concatenate(all_logp)
