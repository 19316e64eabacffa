"""What the app shows, computed without Streamlit: a checked history, the arms' lists side by
side, a recommendation's token path, readable tokens, and the trie explorer.

An arm is a checkpoint (SFT, Eq. 1, or IGD-tuned, Eq. 6-7), a decoding (BIGRec: length
penalty 1; D3: 0, Eq. 3; IGD-Decoding: step weights 1 - alpha IG~, Eq. 8-9) and alpha, so
IGD-Tuning and IGD-Decoding can be seen apart (the paper's ablation, `igd.config.VIEW_PRESETS`).
Each checkpoint builds its own prompt (its tokenizer and template), so two checkpoints may even
be different models. One item across arms and where two arms' beams part: `igd.arms_view`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from igd.checkpoint import Checkpoint, load_checkpoint
from igd.data import Catalogue, Dataset
from igd.config import ARMS, DECODINGS, VIEW_PRESETS
from igd.decode import DecodeConfig, Recommendation, explain, recommend_batch
from igd.evaluate import checkpoint_items, checkpoint_trie
from igd.info_gain import IGTrie
from igd.sid_view import item_view, level_label
from igd.templates import prompt_ids


@dataclass(frozen=True, eq=False)
class Loaded:
    """A checkpoint with its IG trie rebuilt on the dataset it was trained on."""

    ck: Checkpoint
    ig: IGTrie

    @property
    def max_length(self) -> int:
        return int(self.ck.meta.get("config", {}).get("max_length", 512))

    @property
    def items(self) -> str:
        """How the checkpoint names items (igd.config.ITEMS): titles, or semantic IDs."""
        return checkpoint_items(self.ck.meta)


def load(checkpoint: str | Path, dataset: Dataset, dtype: str = "auto") -> Loaded:
    """The checkpoint with its trie on `dataset`, read in the checkpoint's item view (a
    semantic-ID checkpoint on a dataset without IDs: the DataError of igd.data.sid_items)."""
    ck = load_checkpoint(checkpoint, dtype=dtype)
    return Loaded(ck, checkpoint_trie(ck, item_view(dataset, checkpoint_items(ck.meta))))


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


# The Recommend page opens on a worked example: four films any reader knows (MovieLens-100K
# titles); another dataset's example is its first test user's history.
EXAMPLE_TITLES = ("Star Wars (1977)", "Toy Story (1995)", "Fargo (1996)", "Titanic (1997)")


def example_history(dataset: Dataset) -> tuple[str, ...]:
    """Readable titles (also in the semantic-ID view: a reader picks titles)."""
    cat = dataset.catalogue
    known = set(cat.title_to_ids if cat.names is None else cat.names)
    if all(t in known for t in EXAMPLE_TITLES):
        return EXAMPLE_TITLES
    rows = dataset.splits.get("test") or dataset.splits.get("valid") or ()
    titles = [cat.name(i) for i in rows[0].history] if rows else []
    return tuple(reversed(dict.fromkeys(reversed(titles))))  # a repeat kept at its latest position


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


@dataclass(frozen=True, eq=False)
class ViewArm:
    """One column of the app: a checkpoint, a decoding of `igd.config.DECODINGS` and its alpha
    (used only by decodings with step weights, Eq. 8-9), under a label a reader of the paper knows."""

    label: str
    loaded: Loaded
    decoding: str
    alpha: float = 0.0

    def config(self, beams: int) -> DecodeConfig:
        return DecodeConfig(self.decoding, alpha=self.alpha, num_beams=beams, batch_size=1)


def preset_arms(labels: Sequence[str], sft: Loaded, igd: Loaded, alpha: float = 0.2) -> tuple[ViewArm, ...]:
    """The presets `labels` (keys of `igd.config.VIEW_PRESETS`) as arms: an arm trained with
    `sft` decodes the SFT checkpoint, any other the IGD-tuned one (Eq. 6-7)."""
    arms = []
    for label in labels:
        if label not in VIEW_PRESETS:
            raise ValueError(f"unknown preset {label!r}: choose from {', '.join(VIEW_PRESETS)}")
        arm = ARMS[VIEW_PRESETS[label]]
        arms.append(ViewArm(label, sft if arm.train == "sft" else igd, arm.decoding, alpha))
    return tuple(arms)


@dataclass(frozen=True)
class Side:
    """One arm's list, with the prompt that made it (for the path and cross-arm views)."""

    arm: ViewArm
    recs: tuple[Recommendation, ...]
    seconds: float
    prompt: tuple[int, ...]

    @property
    def loaded(self) -> Loaded:
        return self.arm.loaded

    @property
    def alpha(self) -> float:
        """The alpha the decoding applied (0 for decodings without step weights)."""
        return DecodeConfig(self.arm.decoding, alpha=self.arm.alpha).effective_alpha

    @property
    def length_penalty(self) -> float:
        return DECODINGS[self.arm.decoding].length_penalty


@dataclass(frozen=True)
class Comparison:
    sides: dict[str, Side]  # arm label -> its side, in the order asked
    k: int
    notes: tuple[str, ...]
    hidden: frozenset[str] = frozenset()  # titles left out of the lists (the history, on request)

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.sides.values())

    def top(self, label: str) -> list[Recommendation]:
        return [r for r in self.sides[label].recs if r.title not in self.hidden][:self.k]

    def rank(self, label: str, title: str) -> int | None:
        """1-based rank of `title` in the arm's top K; None when it is not there."""
        return next((i for i, r in enumerate(self.top(label), 1) if r.title == title), None)

    def differing(self) -> set[str]:
        """Titles in some arm's top-K list but not in every arm's."""
        sets = [{r.title for r in self.top(m)} for m in self.sides]
        return set.union(*sets) - set.intersection(*sets)


def compare_arms(arms: Sequence[ViewArm], history: Sequence[str], k: int = 10, beams: int = 10,
                 hide_history: bool = False) -> Comparison:
    """Each arm's top K for `history`, keyed by the arm's label. The paper's evaluation keeps
    items of the history in the lists; `hide_history` leaves them out (the lists may then be
    shorter than K: raise the beams)."""
    if not history:
        raise ValueError("the history is empty: add at least one item (the models were never "
                         "trained on an empty history)")
    if not 1 <= k <= beams:
        raise ValueError(f"K={k}: must be between 1 and the number of beams ({beams})")
    labels = [a.label for a in arms]
    if not arms or len(set(labels)) < len(labels):
        raise ValueError(f"arms {labels}: give at least one arm, each label once")
    if len({a.loaded.items for a in arms}) > 1:  # one history, one list key: titles or IDs, not both
        raise ValueError("the arms mix checkpoints that name items by titles with ones that name them by "
                         "semantic IDs: compare checkpoints of one kind")
    sides, cut = {}, {}
    for arm in arms:
        prompt, dropped = fit_prompt(arm.loaded, history)
        if dropped:
            cut.setdefault((dropped, arm.loaded.max_length), []).append(arm.label)
        cfg = arm.config(beams)
        t0 = time.perf_counter()
        [recs], _ = recommend_batch(arm.loaded.ck.model, arm.loaded.ig, [prompt], cfg,
                                    arm.loaded.ck.tokenizer.pad_token_id)
        sides[arm.label] = Side(arm, tuple(recs), time.perf_counter() - t0, tuple(prompt))
    hidden = frozenset(history) if hide_history else frozenset()
    notes = tuple(f"{', '.join(names)}: the {n} oldest item(s) dropped to fit the checkpoint's "
                  f"max_length of {length} tokens (as training did)." for (n, length), names in cut.items())
    return Comparison(sides, k, notes, hidden)


TOKEN_LEGEND = ("Tokens as text: · a space, ⏎ a newline (every title ends with one), ⇥ a tab, <eos> the "
                "end of the title; ‹e6 9d› the bytes of a token that holds part of a character (byte-level "
                "BPE splits some characters over two tokens).")


def _byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet (bytes_to_unicode) inverted: the piece 'ĠL' is the bytes b' L'."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars, n = list(keep), 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(keep, chars)}


BYTE_DECODER = _byte_decoder()


def _token_bytes(tokenizer, token_id: int) -> bytes | None:
    """The bytes a byte-level BPE token stands for; None when the tokenizer is no such thing."""
    if hasattr(tokenizer, "to_base"):  # a compact vocabulary: ask the real tokenizer
        base = tokenizer.to_base([token_id])
        return _token_bytes(tokenizer.base, base[0]) if base else None
    piece = tokenizer.backend.id_to_token(token_id) if hasattr(tokenizer, "backend") else None
    if piece is None or any(c not in BYTE_DECODER for c in piece):
        return None
    return bytes(BYTE_DECODER[c] for c in piece)


def token_text(loaded: Loaded, token_id: int) -> str:
    """A readable token (TOKEN_LEGEND): decoded text, never a byte-level piece such as 'ĠL';
    EOS as <eos>; space, newline and tab made visible (·, ⏎, ⇥); a token holding part of a
    multi-byte character as its bytes (‹e6 9d›), since alone it decodes to U+FFFD."""
    if token_id == loaded.ig.eos_token_id:
        return "<eos>"
    tok = loaded.ck.tokenizer
    text = tok.decode([token_id])
    if not text or "\ufffd" in text:
        raw = _token_bytes(tok, token_id)
        if raw is None:
            return text or f"<{token_id}>"
        text = raw.decode("utf-8", errors="replace")
        if "\ufffd" in text:
            return "‹" + " ".join(f"{b:02x}" for b in raw) + "›"
    return text.replace("\n", "⏎").replace("\t", "⇥").replace(" ", "·")


def path_rows(side: Side, title: str) -> tuple[list[dict], list[dict]]:
    """The token path of `title` as `side` scores it: one row per step (token, log p, IG, IG~,
    weight, step score, zero-IG; for a semantic ID the code level, igd.sid_view.level_label) and
    one row per candidate token of each step."""
    loaded = side.loaded
    steps = explain(loaded.ck.model, loaded.ig, side.prompt, title, side.alpha)
    codes = loaded.items == "sid"
    path, candidates = [], []
    for i, st in enumerate(steps, start=1):
        text = token_text(loaded, st.token_id)
        path.append({"step": i, "token": text, "level": level_label(text) if codes else "", "token_id": st.token_id,
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


def explore(loaded: Loaded, prefix: str, limit: int = 50, names: Mapping[str, str] | None = None) -> dict:
    """Titles starting with `prefix` (case-insensitive; a trailing space counts, so "The "
    matches "The Rock" and not "Theodore Rex"), the deepest trie node they share (its token
    path, entropy and training mass), each next token's IG with the number of matching titles
    and training targets below it, and, when the prefix is a complete title, the IG of every
    token of its path. With `names` (item key -> readable title: semantic IDs) an item matches
    by its ID (`<a_3>` walks the codes) or by its title, and each listed item carries its name.
    For semantic IDs the shared path is of codes only: a complete ID's <eos> is left out."""
    ig, trie = loaded.ig, loaded.ig.trie
    p = prefix.lstrip().lower()
    spelled = [(t[0].lower(), *([names[t[0]].lower()] if names and t[0] in names else [])) for t in ig.seq_titles]
    matches = [i for i, texts in enumerate(spelled) if any(x.startswith(p) for x in texts)]
    node = common_node(ig, matches) if p else 0
    _, tokens, edges = trie.children(np.array([node]))
    below = np.zeros(trie.n_nodes, dtype=np.int64)  # matching titles through each node
    if matches:
        depth = int(np.flatnonzero(trie.seq_nodes[matches[0]] == node)[0]) if p else 0
        nxt = trie.seq_nodes[matches, depth + 1] if depth + 1 < trie.seq_nodes.shape[1] else np.array([], int)
        np.add.at(below, nxt[nxt >= 0], 1)
        keep = below[edges + 1] > 0  # only the next tokens that lead to a matching title
        tokens, edges = tokens[keep], edges[keep]
    children = [{"token": token_text(loaded, int(t)), "ig": float(ig.edge_ig[e]),
                 "ig_norm": float(ig.edge_ig_norm[e]), "titles_below": int(below[e + 1]),
                 "train_targets_below": int(ig.node_count[e + 1])} for t, e in zip(tokens, edges)]
    children.sort(key=lambda c: (-c["train_targets_below"], -c["titles_below"]))
    counts = {i: int(ig.node_count[trie.leaf[i]]) for i in matches}
    top = sorted(matches, key=lambda i: (-counts[i], ig.seq_titles[i][0]))[:limit]
    path = [token_text(loaded, t) for t in _tokens_to(trie, node)]
    if loaded.items == "sid" and path[-1:] == ["<eos>"]:
        path = path[:-1]
    return {"node": node, "path": path,
            "entropy": float(ig.node_entropy[node]), "train_targets": int(ig.node_count[node]),
            "n_matches": len(matches), "children": children,
            "complete": _complete_path(loaded, p, [i for i in matches if p.rstrip() in spelled[i]]),
            "titles": [{"title": ig.seq_titles[i][0], **({"name": names.get(ig.seq_titles[i][0], "")} if names else {}),
                        "train_targets": counts[i], "tokens": int(trie.lengths[i])} for i in top]}


def _complete_path(loaded: Loaded, p: str, exact: list[int]) -> list[dict]:
    """The token path of the title (or ID) the prefix spells out in full (case-insensitive, the
    `exact` matches), with each token's IG and IG~ (Eq. 5, 9) and, for an ID, each code's level;
    empty when the prefix is not a complete title."""
    ig = loaded.ig
    if not p or not exact:
        return []
    nodes = ig.trie.path(exact[0])
    rows = [{"step": k, "token": token_text(loaded, int(ig.trie.edge_token[n - 1])), "ig": float(ig.edge_ig[n - 1]),
             "ig_norm": float(ig.edge_ig_norm[n - 1])} for k, n in enumerate(nodes, start=1)]
    return [{"step": r["step"], "level": level_label(r["token"]), **r} for r in rows] if loaded.items == "sid" else rows


def _tokens_to(trie, node: int) -> list[int]:
    """Token ids from the root to `node` (node k is reached by edge k - 1)."""
    tokens = []
    while node > 0:
        tokens.append(int(trie.edge_token[node - 1]))
        node = int(trie.edge_parent[node - 1])
    return tokens[::-1]
