"""What the app shows, computed without Streamlit: a checked history, the BIGRec / D3 / IGD
comparison side by side, a recommendation's token path, and the trie explorer.

BIGRec and D3 decode the SFT checkpoint (length penalty 1 and 0, Eq. 3); IGD decodes the
IGD-tuned checkpoint (Eq. 6-7) with IGD-Decoding (Eq. 8-9). Each checkpoint builds its own
prompt (its tokenizer and template), so the two checkpoints may even be different models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from igd.checkpoint import Checkpoint, load_checkpoint
from igd.data import Catalogue, Dataset
from igd.decode import DecodeConfig, Recommendation, explain, recommend_batch
from igd.evaluate import checkpoint_trie
from igd.info_gain import IGTrie
from igd.templates import prompt_ids

METHODS = ("bigrec", "d3", "igd")
LABELS = {"bigrec": "BIGRec", "d3": "D3", "igd": "IGD"}


@dataclass(frozen=True, eq=False)
class Loaded:
    """A checkpoint with its IG trie rebuilt on the dataset it was trained on."""

    ck: Checkpoint
    ig: IGTrie

    @property
    def max_length(self) -> int:
        return int(self.ck.meta.get("config", {}).get("max_length", 512))


def load(checkpoint: str | Path, dataset: Dataset) -> Loaded:
    ck = load_checkpoint(checkpoint)
    return Loaded(ck, checkpoint_trie(ck, dataset))


@dataclass(frozen=True)
class History:
    titles: tuple[str, ...]  # what the prompt uses, oldest first
    notes: tuple[str, ...]  # every change made to what was entered, said plainly


def check_history(entries: Sequence[str], catalogue: Catalogue, max_history: int) -> History:
    """Blank entries dropped; unknown titles skipped; a repeated item kept once, at its latest
    position; only the last `max_history` items kept, as in training (sliding windows)."""
    cleaned = [e.strip() for e in entries if e and e.strip()]
    known = catalogue.title_to_ids
    unknown = [e for e in cleaned if e not in known]
    titles = [e for e in cleaned if e in known]
    latest = {t: i for i, t in enumerate(titles)}
    deduped = [t for i, t in enumerate(titles) if latest[t] == i]
    notes = []
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        notes.append(f"{len(unknown)} title(s) not in the catalogue were skipped: {shown}. "
                     "Pick titles from the catalogue search.")
    if len(deduped) < len(titles):
        notes.append(f"{len(titles) - len(deduped)} repeated item(s) kept once, at the latest position.")
    if len(deduped) > max_history:
        notes.append(f"Using the last {max_history} of {len(deduped)} items: the model was trained on "
                     f"histories of at most {max_history} items (older ones are dropped, as in training).")
    return History(tuple(deduped[-max_history:]), tuple(notes))


def fit_prompt(loaded: Loaded, history: Sequence[str]) -> tuple[list[int], int]:
    """The prompt ids and how many of the oldest items were dropped so that the prompt plus the
    longest title fits the checkpoint's max_length (what training did to long rows)."""
    tok, template = loaded.ck.tokenizer, loaded.ck.template
    history = list(history)[-template.max_history:]
    longest = int(loaded.ig.trie.lengths.max())
    dropped = 0
    prompt = prompt_ids(tok, template, history)
    while len(prompt) + longest > loaded.max_length and history:
        history, dropped = history[1:], dropped + 1
        prompt = prompt_ids(tok, template, history)
    return prompt, dropped


@dataclass(frozen=True)
class Side:
    """One method's list, with the prompt and model that made it (for the path view)."""

    method: str
    alpha: float
    recs: tuple[Recommendation, ...]
    seconds: float
    prompt: tuple[int, ...]
    loaded: Loaded


@dataclass(frozen=True)
class Comparison:
    sides: dict[str, Side]
    k: int
    notes: tuple[str, ...]
    hidden: frozenset[str] = frozenset()  # titles left out of the lists (the history, on request)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.sides.values())

    def top(self, method: str) -> list[Recommendation]:
        return [r for r in self.sides[method].recs if r.title not in self.hidden][:self.k]

    def differing(self) -> set[str]:
        """Titles in some top-K list but not in all three."""
        sets = [{r.title for r in self.top(m)} for m in self.sides]
        return set.union(*sets) - set.intersection(*sets)


def compare(sft: Loaded, igd: Loaded, history: Sequence[str], k: int = 10, beams: int = 10,
            alpha: float = 0.2, hide_history: bool = False) -> Comparison:
    """BIGRec and D3 on the SFT checkpoint, IGD (alpha) on the IGD-tuned one. The paper's
    evaluation keeps items of the history in the lists; `hide_history` leaves them out (the
    lists may then be shorter than K: raise the beams)."""
    if not history:
        raise ValueError("the history is empty: add at least one item (the models were never "
                         "trained on an empty history)")
    if not 1 <= k <= beams:
        raise ValueError(f"K={k}: must be between 1 and the number of beams ({beams})")
    sides, cut = {}, {}
    for method, loaded in (("bigrec", sft), ("d3", sft), ("igd", igd)):
        prompt, dropped = fit_prompt(loaded, history)
        if dropped:
            cut.setdefault((dropped, loaded.max_length), []).append(LABELS[method])
        cfg = DecodeConfig(method, alpha=alpha if method == "igd" else 0.0, num_beams=beams, batch_size=1)
        t0 = time.perf_counter()
        [recs], _ = recommend_batch(loaded.ck.model, loaded.ig, [prompt], cfg, loaded.ck.tokenizer.pad_token_id)
        sides[method] = Side(method, cfg.effective_alpha, tuple(recs), time.perf_counter() - t0,
                             tuple(prompt), loaded)
    hidden = frozenset(history) if hide_history else frozenset()
    notes = tuple(f"{', '.join(methods)}: the {n} oldest item(s) dropped to fit the checkpoint's "
                  f"max_length of {length} tokens (as training did)." for (n, length), methods in cut.items())
    return Comparison(sides, k, notes, hidden)


def token_text(loaded: Loaded, token_id: int) -> str:
    """A readable token: EOS as <eos>, a newline as ⏎, spaces kept visible (·)."""
    if token_id == loaded.ig.eos_token_id:
        return "<eos>"
    text = loaded.ck.tokenizer.decode([token_id])
    return text.replace("\n", "⏎").replace(" ", "·") or f"<{token_id}>"


def path_rows(side: Side, title: str) -> tuple[list[dict], list[dict]]:
    """The token path of `title` as `side` scores it: one row per step (token, log p, IG, IG~,
    weight, step score, zero-IG) and one row per candidate token of each step."""
    loaded = side.loaded
    steps = explain(loaded.ck.model, loaded.ig, side.prompt, title, side.alpha)
    path, candidates = [], []
    for i, st in enumerate(steps, start=1):
        path.append({"step": i, "token": token_text(loaded, st.token_id), "token_id": st.token_id,
                     "log_p": st.logprob, "ig": st.ig, "ig_norm": st.ig_norm, "weight": st.weight,
                     "score": st.score, "zero_ig": st.ig == 0.0, "candidates": len(st.candidates)})
        for rank, (tok, ig, logp) in enumerate(st.candidates, start=1):
            candidates.append({"step": i, "rank": rank, "token": token_text(loaded, tok), "ig": ig,
                               "log_p": logp, "chosen": tok == st.token_id})
    return path, candidates


def common_node(ig: IGTrie, seqs: Sequence[int]) -> int:
    """The deepest trie node shared by all the given sequences' paths (the root if none)."""
    if len(seqs) == 0:
        return 0
    nodes = ig.trie.seq_nodes[np.asarray(seqs)]
    same = (nodes == nodes[:1]).all(axis=0) & (nodes[0] >= 0)
    depth = int(np.argmin(same)) if not same.all() else nodes.shape[1]
    return int(nodes[0, depth - 1])


def explore(loaded: Loaded, prefix: str, limit: int = 50) -> dict:
    """Titles starting with `prefix` (case-insensitive), the deepest trie node they share (its
    token path, entropy and training mass), and each next token's IG and the items below it."""
    ig, trie = loaded.ig, loaded.ig.trie
    p = prefix.strip().lower()
    matches = [i for i, titles in enumerate(ig.seq_titles) if titles[0].lower().startswith(p)]
    node = common_node(ig, matches) if p else 0
    _, tokens, edges = trie.children(np.array([node]))
    if p and matches:  # only the next tokens that lead to a matching title
        depth = int(np.flatnonzero(trie.seq_nodes[matches[0]] == node)[0])
        keep = np.isin(edges + 1, trie.seq_nodes[matches, depth + 1])
        tokens, edges = tokens[keep], edges[keep]
    on_path = trie.seq_nodes[trie.seq_nodes >= 0]
    items_below = np.bincount(on_path, minlength=trie.n_nodes)  # each sequence once per node
    children = [{"token": token_text(loaded, int(t)), "ig": float(ig.edge_ig[e]),
                 "ig_norm": float(ig.edge_ig_norm[e]), "items_below": int(items_below[e + 1]),
                 "train_targets_below": int(ig.node_count[e + 1])} for t, e in zip(tokens, edges)]
    children.sort(key=lambda c: (-c["train_targets_below"], -c["items_below"]))
    counts = {i: int(ig.node_count[trie.leaf[i]]) for i in matches}
    top = sorted(matches, key=lambda i: (-counts[i], ig.seq_titles[i][0]))[:limit]
    return {"node": node, "path": [token_text(loaded, t) for t in _tokens_to(trie, node)],
            "entropy": float(ig.node_entropy[node]), "train_targets": int(ig.node_count[node]),
            "n_matches": len(matches), "children": children,
            "titles": [{"title": ig.seq_titles[i][0], "train_targets": counts[i],
                        "tokens": int(trie.lengths[i])} for i in top]}


def _tokens_to(trie, node: int) -> list[int]:
    """Token ids from the root to `node` (node k is reached by edge k - 1)."""
    tokens = []
    while node > 0:
        tokens.append(int(trie.edge_token[node - 1]))
        node = int(trie.edge_parent[node - 1])
    return tokens[::-1]
