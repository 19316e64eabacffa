"""A prefix trie over token sequences, laid out as flat arrays for vectorised decoding.

Layout (CSR): node 0 is the root; node ids are assigned breadth-first, and within a depth
sorted by (parent, token). Node ``k >= 1`` is reached by edge ``k - 1``, so edge arrays and
node arrays line up, and the children of node ``n`` are the contiguous edges
``child_ptr[n]:child_ptr[n + 1]``, sorted by token. One `np.searchsorted` over
``edge_key = parent * V + token`` moves any number of beams one step; `children` returns the
allowed tokens of any number of nodes as flat (row, token, edge) arrays, ready to scatter into
a score buffer without touching the rest of the vocabulary (README: Methods).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True, eq=False)
class TokenTrie:
    child_ptr: np.ndarray  # int64 [n_nodes + 1]
    edge_token: np.ndarray  # int64 [n_edges]
    edge_parent: np.ndarray  # int64 [n_edges]
    edge_key: np.ndarray  # int64 [n_edges], sorted: parent * key_base + token
    key_base: int
    leaf: np.ndarray  # int64 [n_sequences]: the node where each sequence ends
    lengths: np.ndarray  # int64 [n_sequences]
    seq_nodes: np.ndarray  # int64 [n_sequences, max_len + 1]: node at each depth, -1 past the end
    depth_ptr: np.ndarray  # int64 [max_len + 2]: nodes of depth d are depth_ptr[d]:depth_ptr[d+1]

    @property
    def n_nodes(self) -> int:
        return len(self.child_ptr) - 1

    @property
    def n_sequences(self) -> int:
        return len(self.leaf)

    def step(self, nodes: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Child of each (node, token); -1 where the token is not allowed (or node is -1)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        tokens = np.asarray(tokens, dtype=np.int64)
        ok = (nodes >= 0) & (tokens >= 0) & (tokens < self.key_base)
        keys = np.where(ok, nodes * self.key_base + tokens, -1)
        pos = np.searchsorted(self.edge_key, keys)
        pos_c = np.minimum(pos, len(self.edge_key) - 1)
        found = ok & (len(self.edge_key) > 0) & (self.edge_key[pos_c] == keys)
        return np.where(found, pos_c + 1, -1)

    def walk(self, prefixes: np.ndarray, pad: int = -1) -> np.ndarray:
        """Node reached by each row of a 2D prefix array (right-padded with `pad`); -1 when a
        row leaves the trie. Vectorised over rows, one `step` per column."""
        prefixes = np.asarray(prefixes, dtype=np.int64)
        nodes = np.zeros(prefixes.shape[0], dtype=np.int64)
        for col in prefixes.T:
            moved = self.step(nodes, col)
            nodes = np.where(col == pad, nodes, moved)
        return nodes

    def children(self, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Allowed next tokens of each node as flat arrays (row index, token id, edge id)."""
        nodes = np.asarray(nodes, dtype=np.int64)
        if (nodes < 0).any():
            raise ValueError("children() got node -1: a beam left the trie (a decoding bug)")
        starts = self.child_ptr[nodes]
        counts = self.child_ptr[nodes + 1] - starts
        rows = np.repeat(np.arange(len(nodes)), counts)
        # ragged arange: edge ids starts[r] .. starts[r] + counts[r] - 1 for every row r
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        edges = np.repeat(starts, counts) + offsets
        return rows, self.edge_token[edges], edges

    def path(self, seq_index: int) -> np.ndarray:
        """Node ids along sequence `seq_index`, root excluded (node k is reached by edge k-1)."""
        return self.seq_nodes[seq_index, 1 : self.lengths[seq_index] + 1]


def build_trie(sequences: Sequence[Sequence[int]], end_token: int) -> TokenTrie:
    """Build the trie of distinct token sequences, each ending with `end_token` (EOS).

    Built depth by depth with one `np.unique` per depth over (parent, token) keys, which both
    deduplicates shared prefixes and yields the breadth-first, token-sorted node order.
    """
    if len(sequences) == 0:
        raise ValueError("cannot build a trie over an empty catalogue: the dataset has no titles")
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    if lengths.min() < 1:
        raise ValueError("an empty token sequence cannot be a trie path")
    width = int(lengths.max())
    tokens = np.full((len(sequences), width), -1, dtype=np.int64)
    for i, seq in enumerate(sequences):
        tokens[i, : len(seq)] = seq
    _check_end_tokens(tokens, lengths, end_token)
    key_base = int(tokens.max()) + 1
    node_at = np.zeros((len(sequences), width + 1), dtype=np.int64)
    parents, toks, next_id, depth_ptr = [], [], 1, [0, 1]
    for d in range(width):
        active = lengths > d
        keys = node_at[active, d] * key_base + tokens[active, d]
        uniq, inverse = np.unique(keys, return_inverse=True)
        node_at[active, d + 1] = next_id + inverse
        parents.append(uniq // key_base)
        toks.append(uniq % key_base)
        next_id += len(uniq)
        depth_ptr.append(next_id)
    node_at[np.arange(width + 1)[None, :] > lengths[:, None]] = -1
    edge_parent = np.concatenate(parents)
    edge_token = np.concatenate(toks)
    child_ptr = np.searchsorted(edge_parent, np.arange(next_id + 1), side="left").astype(np.int64)
    leaf = node_at[np.arange(len(sequences)), lengths]
    if len(np.unique(leaf)) != len(leaf):
        raise ValueError("duplicate token sequences: pass each distinct sequence once")
    return TokenTrie(child_ptr, edge_token, edge_parent, edge_parent * key_base + edge_token,
                     key_base, leaf, lengths, node_at, np.array(depth_ptr, dtype=np.int64))


def _check_end_tokens(tokens: np.ndarray, lengths: np.ndarray, end_token: int) -> None:
    # Every path ends in EOS and EOS occurs nowhere else, so no path is a prefix of another
    # and every leaf is exactly one complete target.
    last = tokens[np.arange(len(lengths)), lengths - 1]
    if (last != end_token).any():
        bad = int(np.flatnonzero(last != end_token)[0])
        raise ValueError(f"sequence {bad} does not end with the EOS id {end_token}")
    if ((tokens == end_token).sum(axis=1) != 1).any():
        bad = int(np.flatnonzero((tokens == end_token).sum(axis=1) != 1)[0])
        raise ValueError(f"sequence {bad} contains the EOS id {end_token} before its end")
