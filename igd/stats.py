"""Dataset and token-decisiveness statistics: the paper's Table 1 and IG distribution.

Counts are over the TRAINING rows (the split that gives the priors): every target token of
every training row (the title's target tokens including the final EOS), and how many of
them carry zero information gain. With another decisiveness measure (`decisiveness`, README:
Token information gain) the per-position means and the histogram are of that measure; the
keys keep their "ig" names, and the zero share is the same under every measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import re

import numpy as np

from igd.config import DECISIVENESS, check_choice
from igd.data import SPLITS, Dataset
from igd.info_gain import IGTrie, build_ig_trie, title_counts
from igd.templates import Template
from igd.tokenization import Tokenizer


_HTML_TAG = re.compile(r"<[A-Za-z/!][^>]*>?")  # e.g. `<span class="a-size-medium ...`


@dataclass(frozen=True)
class StatsConfig:
    train_on_valid: bool = False
    unseen: str = "generable"
    bins: int = 10
    max_positions: int = 30  # longer positions are pooled into the last row
    decisiveness: str = "ig"  # igd.config.DECISIVENESS

    def __post_init__(self) -> None:
        if self.bins < 1 or self.max_positions < 1:
            raise ValueError("bins and max_positions must be >= 1")
        check_choice(self, "decisiveness", self.decisiveness, DECISIVENESS)


def dataset_stats(dataset: Dataset, tokenizer: Tokenizer, template: Template,
                  config: StatsConfig = StatsConfig()) -> dict:
    split = dataset.training_split_name(config.train_on_valid)
    train = dataset.split(split)
    counts = title_counts(train, dataset.catalogue)
    ig = build_ig_trie(dataset.catalogue, counts, tokenizer, template, config.unseen, config.decisiveness)
    seq_ig, weight = _row_weighted_paths(ig, counts)
    t1 = _table1(ig, seq_ig, weight)
    total, zero = int(t1["target_tokens"]), int(t1["zero_ig_tokens"])
    cat = dataset.catalogue
    return {
        "dataset": dataset.name,
        "fingerprint": dataset.fingerprint,
        "layout": dataset.layout,
        "tokenizer": tokenizer.name,
        "template": template.style,
        "unseen_policy": config.unseen,
        "decisiveness": config.decisiveness,
        "training_split": split,
        "items": len(cat),
        "distinct_titles": len(cat.title_to_ids),
        "duplicate_titles": len(cat.duplicate_titles()),
        "html_title_items": sum(bool(_HTML_TAG.search(t)) for t in (cat.names or cat.titles)),  # titles, not semantic IDs
        "train_rows": len(train),
        "split_rows": {s: len(dataset.splits[s]) if s in dataset.splits else None for s in SPLITS},
        "duplicate_rows": dict(dataset.duplicate_rows),
        "items_never_trained": sum(counts[t] == 0 for t in cat.title_to_ids),
        "trie_nodes": ig.trie.n_nodes,
        "trie_fingerprint": ig.fingerprint,
        "target_tokens": total,
        "zero_ig_tokens": zero,
        "zero_ig_share": zero / total if total else 0.0,
        "mean_target_tokens": total / len(train) if len(train) else 0.0,
        "root_entropy": float(ig.node_entropy[0]),
        "per_position": _per_position(seq_ig, weight, config.max_positions),
        "nonzero_ig_histogram": _histogram(seq_ig, weight, config.bins),
    }


def table1(ig: IGTrie, counts) -> dict[str, float]:
    """The paper's Table 1 figures of a training set: items, target tokens over the training
    rows, how many have zero IG and their share, and H(root). `igd train` stores them with its
    run (prefixed `t1_`), so a report has them from the run store alone."""
    return _table1(ig, *_row_weighted_paths(ig, counts))


def _table1(ig: IGTrie, seq_ig: np.ndarray, weight: np.ndarray) -> dict[str, float]:
    total = int((~np.isnan(seq_ig) * weight[:, None]).sum())
    zero = int(((seq_ig == 0) * weight[:, None]).sum())
    return {"train_rows": float(weight.sum()),
            "target_tokens": float(total), "zero_ig_tokens": float(zero),
            "zero_ig_share": zero / total if total else 0.0, "root_entropy": float(ig.node_entropy[0])}


def _row_weighted_paths(ig: IGTrie, counts) -> tuple[np.ndarray, np.ndarray]:
    """IG matrix of every trie sequence and how many training rows target it."""
    weight = np.array([sum(counts[t] for t in titles) for titles in ig.seq_titles], dtype=np.int64)
    return ig.path_ig_matrix(), weight


def _per_position(seq_ig: np.ndarray, weight: np.ndarray, max_positions: int) -> list[dict]:
    rows = []
    width = seq_ig.shape[1]
    for pos in range(min(width, max_positions)):
        cols = seq_ig[:, pos:] if pos == max_positions - 1 else seq_ig[:, pos:pos + 1]
        present = ~np.isnan(cols)
        n = int((present * weight[:, None]).sum())
        if n == 0:
            continue
        zero = int(((cols == 0) * weight[:, None]).sum())
        mean = float((np.where(present, cols, 0.0) * weight[:, None]).sum() / n)
        label = f"{pos + 1}+" if pos == max_positions - 1 and width > max_positions else str(pos + 1)
        rows.append({"position": label, "tokens": n, "zero_ig_share": zero / n, "mean_ig": mean})
    return rows


def _histogram(seq_ig: np.ndarray, weight: np.ndarray, bins: int) -> dict:
    mask = seq_ig > 0  # NaN compares False
    values = seq_ig[mask]
    w = np.broadcast_to(weight[:, None], seq_ig.shape)[mask]
    if len(values) == 0:
        return {"edges": [], "counts": []}
    # Log-spaced bins: first tokens carry ~H(root) (the global priors are not renormalised
    # inside a prefix, Eq. 4) while later decisive tokens carry orders of magnitude less.
    lo, hi = float(values.min()), float(values.max())
    edges = np.geomspace(lo, hi, bins + 1) if hi > lo else np.array([lo, hi])
    counts, edges = np.histogram(values, bins=edges, weights=w)
    return {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}


# Short names of the measures in the report's columns; IG's report reads as it always did.
_SHORT = {"ig": "IG", "gini": "Gini", "gain-ratio": "GR"}


def format_stats(s: dict) -> str:
    """Human-readable report of `dataset_stats`."""
    rows = s["split_rows"]
    measure = s.get("decisiveness", "ig")
    name, also = _SHORT[measure], "" if measure == "ig" else f", decisiveness: {measure}"
    num = ".4f" if measure == "ig" else ".3e"  # Gini values go far below 1e-4 on real catalogues
    lines = [
        f"dataset            {s['dataset']}  ({s['layout']} layout, fingerprint {s['fingerprint'][:12]})",
        f"tokenizer          {s['tokenizer']}  (target style {s['template']}, unseen items: {s['unseen_policy']}{also})",
        f"items              {s['items']}  ({s['distinct_titles']} distinct titles, "
        f"{s['duplicate_titles']} shared by several ids, {s['html_title_items']} items with HTML in the title)",
        "rows               " + ", ".join(f"{k} {v if v is not None else '-'}" for k, v in rows.items()),
        f"training rows      {s['train_rows']} from {s['training_split']}.csv (item priors come from it)",
        "duplicate rows     " + ", ".join(f"{k} {v}" for k, v in s["duplicate_rows"].items()),
        f"never-trained items {s['items_never_trained']}",
        f"target tokens      {s['target_tokens']}  ({s['mean_target_tokens']:.2f} per row, EOS included)",
        f"{'zero-' + name + ' tokens':<19}{s['zero_ig_tokens']}  ({100 * s['zero_ig_share']:.1f}%)",
        f"H(root)            {s['root_entropy']:.4f} nats; trie nodes {s['trie_nodes']}",
        "",
        f"position  tokens    {'zero-' + name:>7}  mean {name}",
    ]
    for r in s["per_position"]:
        lines.append(f"{r['position']:>8}  {r['tokens']:>8}  {100 * r['zero_ig_share']:6.1f}%  {r['mean_ig']:{num}}")
    hist = s["nonzero_ig_histogram"]
    if hist["counts"]:
        lines += ["", f"non-zero {name}{' (nats)' if measure == 'ig' else ''}    tokens"]
        top = max(hist["counts"])
        for lo, hi, c in zip(hist["edges"], hist["edges"][1:], hist["counts"]):
            bar = "#" * round(30 * c / top) if top else ""
            lines.append(f"[{lo:{num}}, {hi:{num}})  {c:>8}  {bar}")
    return "\n".join(lines)
