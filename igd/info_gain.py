"""Token decisiveness: prefix entropy and information gain per trie edge (Eq. 4-5).

H(prefix) = -sum_{i under prefix} p_i ln p_i with GLOBAL priors p_i = count_i / N_train (not
renormalised inside the prefix), counted over training targets only (README: Token information gain).
IG(token) = H(parent) - H(child): the -p ln p mass of the sibling branches, always >= 0.

The generative "item" is a distinct target text: ids sharing a title share one trie path and
their training counts are summed (a hit is counted by title, README: Datasets).

Unseen items (never a training target, p = 0), policy ``unseen``:
- "generable" (default): every catalogue title is a trie path, so all items can be
  recommended, as in BIGRec/D3 decoding; an edge into a branch with zero prior mass gets
  IG = 0. Otherwise the token that leaves a popular branch for an unseen item would carry the
  popular branch's whole mass as "information" and become the most decisive token.
- "excluded": only titles seen as training targets are paths (the official IGD code).
Edges on the paths of seen titles get the same IG under both policies (a zero-mass sibling
adds -0 ln 0 = 0), and the same IG~: Eq. 9's min and max run over the sibling edges that
carry training mass only, and zero-mass edges get IG~ = 0 (weight 1). Without that, the
unseen branch's IG 0 becomes the minimum and shifts every seen sibling's IG~ (on
MovieLens-100K it squeezed all first-token IG~ into [0.979, 1]), so seen titles would decode
differently from the official code's seen-only trie.

Other decisiveness measures (``decisiveness``; the paper's conclusion names Gini impurity and
gain ratio as alternatives to IG). Same trie, same global priors, and each is additive over
the items below a prefix, so each is 0 exactly where IG is 0 (no sibling branch with mass;
zero-mass edges under "generable"): the zero / non-zero split, hence binary IGD-Tuning, is the
same under all three. What the chosen measure replaces downstream: IGD-Tuning's weights,
IGD-Decoding's IG~ (Eq. 9, same sibling rule) and `igd stats`; node entropy stays H.
- "ig" (default): IG(token) = H(parent) - H(child), as above.
- "gini": G(prefix) = sum_{i under prefix} p_i (1 - p_i): the Gini impurity
  1 - sum p_i^2 = sum p_i (1 - p_i) restricted to the items under the prefix, with the global
  priors of Eq. 4 (not renormalised), so it adds up over items as H does;
  decisiveness(token) = G(parent) - G(child) >= 0, the Gini mass of the sibling branches.
  Where -p ln p weighs a share p by its surprise ln(1/p), p (1 - p) weighs it about by p
  alone: a token that rules out many rare items counts for less, one that rules out a
  popular item for more, than under IG.
- "gain-ratio": IG(token) / SplitInfo(parent), SplitInfo(parent) = -sum_c q_c ln q_c over the
  parent's children c that carry training mass, q_c = mass(c) / mass(parent) (C4.5's
  correction of IG's bias towards nodes with many children). One child with mass gives
  SplitInfo 0 and IG 0: the ratio is 0. All siblings share their parent's SplitInfo, so IG~,
  a max-min normalisation among siblings, equals IG's: gain ratio changes the comparison
  across nodes only (linear IGD-Tuning weights, `igd stats`), not IGD-Decoding.
The measure enters the trie fingerprint for gini and gain-ratio; IG's fingerprint is unchanged.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Sequence

import numpy as np

from igd.config import DECISIVENESS
from igd.data import Catalogue, Sample
from igd.templates import Template, target_ids
from igd.tokenization import Tokenizer
from igd.trie import TokenTrie, build_trie

UNSEEN_POLICIES = ("generable", "excluded")


def title_counts(samples: Iterable[Sample], catalogue: Catalogue) -> Counter[str]:
    """How often each title is a target in `samples` (pass the TRAINING split only)."""
    return Counter(catalogue.titles[s.target] for s in samples)


@dataclass(frozen=True, eq=False)
class IGTrie:
    """The catalogue's token trie with, per node, training mass and entropy, and per edge, the
    decisiveness of its token: IG unless `decisiveness` names another measure (module doc)."""

    trie: TokenTrie
    seq_titles: tuple[tuple[str, ...], ...]  # titles whose target tokens are sequence i
    node_count: np.ndarray  # int64 [n_nodes]: training targets under each node
    node_entropy: np.ndarray  # float64 [n_nodes]: H(prefix), nats
    edge_ig: np.ndarray  # float64 [n_edges]: decisiveness of the token on each edge (IG: nats)
    edge_ig_norm: np.ndarray  # float64 [n_edges]: IG~, max-min normalised among siblings (Eq. 9)
    eos_token_id: int
    unseen: str
    n_train: int
    fingerprint: str
    decisiveness: str = "ig"  # igd.config.DECISIVENESS

    @cached_property
    def title_to_seq(self) -> dict[str, int]:
        return {t: i for i, titles in enumerate(self.seq_titles) for t in titles}

    @cached_property
    def leaf_to_seq(self) -> dict[int, int]:
        return {int(leaf): i for i, leaf in enumerate(self.trie.leaf)}

    def end_nodes(self, generated: np.ndarray) -> np.ndarray:
        """The trie node each row reaches (cut after its first EOS), -1 if it leaves the trie;
        all rows walked together, one `step` per column."""
        generated = np.asarray(generated, dtype=np.int64).reshape(len(generated), -1)
        is_eos = generated == self.eos_token_id
        past_eos = (np.cumsum(is_eos, axis=1) - is_eos) > 0  # tokens after the first EOS
        return self.trie.walk(np.where(past_eos, -1, generated))

    def seq_at(self, nodes: np.ndarray) -> np.ndarray:
        """The sequence ending at each node (a leaf), or -1."""
        return np.array([self.leaf_to_seq.get(int(n), -1) for n in nodes], dtype=np.int64)

    def seqs_of(self, generated: np.ndarray) -> np.ndarray:
        """The sequence whose complete target each row is, or -1."""
        return self.seq_at(self.end_nodes(generated))

    def titles_of(self, generated: np.ndarray) -> list[str | None]:
        """The title of each row's complete target (see `seqs_of`), or None."""
        return [None if s < 0 else self.seq_titles[s][0] for s in self.seqs_of(generated)]

    def allowed(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Allowed next tokens of each node and their IG: flat (row, token, ig) arrays."""
        rows, tokens, edges = self.trie.children(nodes)
        return rows, tokens, self.edge_ig[edges]

    def path(self, title: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of `title`'s target and the IG of each."""
        if title not in self.title_to_seq:
            raise KeyError(f"{title!r} is not a trie path (unknown title, or unseen and excluded)")
        nodes = self.trie.path(self.title_to_seq[title])
        return self.trie.edge_token[nodes - 1], self.edge_ig[nodes - 1]

    def path_ig_matrix(self) -> np.ndarray:
        """IG of every token of every sequence, [n_sequences, max_len], NaN past the end."""
        nodes = self.trie.seq_nodes[:, 1:]
        return np.where(nodes > 0, self.edge_ig[np.maximum(nodes, 1) - 1], np.nan)

    def check_targets(self, targets: Sequence[Sequence[int]]) -> None:
        """Assert every training target is a complete path ending in EOS (README: Token information gain)."""
        width = max(len(t) for t in targets)
        padded = np.full((len(targets), width), -1, dtype=np.int64)
        for i, t in enumerate(targets):
            padded[i, : len(t)] = t
        ends = self.trie.walk(padded)
        is_leaf = np.isin(ends, self.trie.leaf)
        last = padded[np.arange(len(targets)), [len(t) - 1 for t in targets]]
        bad = np.flatnonzero(~is_leaf | (last != self.eos_token_id))
        if len(bad):
            raise AssertionError(f"training target {list(targets[bad[0]])} is not a complete trie "
                                 "path ending in EOS: labels and trie were tokenised differently")


def build_ig_trie(catalogue: Catalogue, counts: Counter[str], tokenizer: Tokenizer,
                  template: Template, unseen: str = "generable", decisiveness: str = "ig") -> IGTrie:
    """Tokenise every title's target as training labels, build the trie, compute decisiveness."""
    if unseen not in UNSEEN_POLICIES:
        raise ValueError(f"unseen={unseen!r}: choose one of {', '.join(UNSEEN_POLICIES)}")
    _check_decisiveness(decisiveness)
    if len(catalogue) == 0:
        raise ValueError("empty catalogue: the dataset's info.txt lists no items")
    unknown = set(counts) - set(catalogue.title_to_ids)
    if unknown:
        raise ValueError(f"prior counts name titles not in the catalogue, e.g. {sorted(unknown)[0]!r}")
    titles = [t for t in catalogue.distinct_titles if unseen == "generable" or counts[t] > 0]
    if not titles:
        raise ValueError("no title was ever a training target: cannot compute priors "
                         "(check the training split, or use unseen='generable')")
    seqs: dict[tuple[int, ...], list[str]] = {}
    for title, ids in zip(titles, target_ids(tokenizer, template, titles)):
        seqs.setdefault(tuple(ids), []).append(title)  # NFC can merge two spellings
    sequences = list(seqs)
    seq_counts = np.array([sum(counts[t] for t in seqs[s]) for s in sequences], dtype=np.int64)
    trie = build_trie(sequences, tokenizer.eos_token_id)
    return _with_information_gain(trie, tuple(tuple(seqs[s]) for s in sequences), seq_counts,
                                  tokenizer.eos_token_id, unseen, decisiveness)


def rescored(ig: IGTrie, decisiveness: str) -> IGTrie:
    """The same trie and priors under another decisiveness measure (no re-tokenising)."""
    if decisiveness == ig.decisiveness:
        return ig
    _check_decisiveness(decisiveness)
    return _with_information_gain(ig.trie, ig.seq_titles, ig.node_count[ig.trie.leaf], ig.eos_token_id,
                                  ig.unseen, decisiveness)


def _check_decisiveness(decisiveness: str) -> None:
    if decisiveness not in DECISIVENESS:
        raise ValueError(f"decisiveness={decisiveness!r}: choose one of {', '.join(DECISIVENESS)}")


def _with_information_gain(trie: TokenTrie, seq_titles: tuple[tuple[str, ...], ...],
                           seq_counts: np.ndarray, eos: int, unseen: str, decisiveness: str = "ig") -> IGTrie:
    n = int(seq_counts.sum())
    p = seq_counts / max(n, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where(p > 0, -p * np.log(p), 0.0)  # -0 ln 0 = 0
    count = _sum_up(trie, np.bincount(trie.leaf, weights=seq_counts, minlength=trie.n_nodes))
    entropy = _sum_up(trie, np.bincount(trie.leaf, weights=h, minlength=trie.n_nodes))
    if decisiveness == "gini":
        impurity = _sum_up(trie, np.bincount(trie.leaf, weights=p * (1.0 - p), minlength=trie.n_nodes))
        ig = _sibling_mass(trie, impurity, count, unseen)
    else:
        ig = _sibling_mass(trie, entropy, count, unseen)
        if decisiveness == "gain-ratio":
            ig = _gain_ratio(trie, ig, count)
    child = np.arange(1, trie.n_nodes)
    return IGTrie(trie, seq_titles, count.astype(np.int64), entropy, ig,
                  normalise_among_siblings(trie, ig, count[child] > 0), eos, unseen, n,
                  _fingerprint(trie, seq_counts, unseen, eos, decisiveness), decisiveness)


def _sibling_mass(trie: TokenTrie, node_value: np.ndarray, count: np.ndarray, unseen: str) -> np.ndarray:
    """value(parent) - value(child) per edge, for a node value additive over the items below
    (H, G): the sibling branches' share, exactly 0 where they have no mass (equal counts) and,
    under "generable", on edges into a zero-mass branch."""
    child = np.arange(1, trie.n_nodes)
    parent = trie.edge_parent
    out = np.maximum(node_value[parent] - node_value[child], 0.0)
    out[count[child] == count[parent]] = 0.0  # no float noise where no sibling has mass
    if unseen == "generable":
        out[count[child] == 0] = 0.0
    return out


def _gain_ratio(trie: TokenTrie, ig: np.ndarray, count: np.ndarray) -> np.ndarray:
    """IG / SplitInfo(parent), SplitInfo = -sum_c q_c ln q_c over the children with mass,
    q_c = count(c) / count(parent); 0 where SplitInfo is 0 (one child with mass: IG is 0)."""
    child = np.arange(1, trie.n_nodes)
    parent = trie.edge_parent
    q = np.zeros(len(child))
    np.divide(count[child], count[parent], out=q, where=count[parent] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, -q * np.log(q), 0.0)
    split = np.bincount(parent, weights=terms, minlength=trie.n_nodes)[parent]
    out = np.zeros_like(ig)
    np.divide(ig, split, out=out, where=split > 0)
    return out


def _fingerprint(trie: TokenTrie, seq_counts: np.ndarray, unseen: str, eos: int, decisiveness: str) -> str:
    """The trie, its priors and policy; the measure too unless it is IG (IG tries keep the
    fingerprint they had before measures existed, so their checkpoints stay valid)."""
    digest = hashlib.sha256()
    for arr in (trie.edge_key, trie.leaf, seq_counts):
        digest.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
    digest.update(f"{unseen}|{eos}".encode())
    if decisiveness != "ig":
        digest.update(f"|{decisiveness}".encode())
    return digest.hexdigest()


def normalise_among_siblings(trie: TokenTrie, ig: np.ndarray, has_mass: np.ndarray) -> np.ndarray:
    """IG~ = (IG - min) / (max - min) over the candidate tokens of the same node (Eq. 9), the
    min and max taken over the candidates with training mass (`has_mass`, per edge); 0 for
    zero-mass edges and when all massed candidates have equal IG. The candidates of a beam at
    a step are exactly the children of its node, so IG~ is a property of the edge: computed
    once here, gathered when decoding."""
    parent = trie.edge_parent
    # Zero-mass edges take no part: +inf / -inf are neutral in min / max.
    lo = np.full(trie.n_nodes, np.inf)
    hi = np.full(trie.n_nodes, -np.inf)
    np.minimum.at(lo, parent[has_mass], ig[has_mass])
    np.maximum.at(hi, parent[has_mass], ig[has_mass])
    span = hi[parent] - lo[parent]
    out = np.zeros_like(ig)
    np.divide(ig - lo[parent], span, out=out, where=has_mass & (span > 0))
    return out


def _sum_up(trie: TokenTrie, values: np.ndarray) -> np.ndarray:
    """Add every node's value into its ancestors, deepest level first (one op per depth)."""
    values = values.astype(np.float64, copy=True)
    ptr = trie.depth_ptr
    for d in range(len(ptr) - 2, 0, -1):
        nodes = np.arange(ptr[d], ptr[d + 1])
        values += np.bincount(trie.edge_parent[nodes - 1], weights=values[nodes],
                              minlength=len(values))
    return values
