"""Reference implementation for benchmarks/trie_build.py: the straightforward trie.

One Python object per node with a ``dict`` of children, built one title at a time with
``tokenizer.encode``; counts, entropies and IG are filled in by plain loops. It follows the
rules of igd/info_gain.py independently of its arrays, so agreement of the two is a check
of the vectorised code as well as a speed baseline:

- p_i = count_i / N over the titles that are paths (global priors, not renormalised);
- H(node) = sum of -p ln p over the sequences below it, with -0 ln 0 = 0;
- IG(edge) = max(H(parent) - H(child), 0); exactly 0 when the child holds all of the
  parent's mass, and (policy "generable") when the child's branch has zero mass.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import numpy as np

from igd.info_gain import IGTrie
from igd.templates import Template
from igd.tokenization import Tokenizer


class Node:
    # __slots__ keeps the baseline honest: without it every node would also carry a
    # per-instance __dict__, inflating the memory we compare against.
    __slots__ = ("children", "count", "entropy", "ig")

    def __init__(self) -> None:
        self.children: dict[int, Node] = {}
        self.count = 0  # training targets below this node
        self.entropy = 0.0  # H(prefix ending here), nats
        self.ig = 0.0  # IG of the edge that leads into this node


class NaiveIGTrie:
    def __init__(self, titles: Sequence[str], counts: Counter[str], tokenizer: Tokenizer,
                 template: Template, unseen: str = "generable") -> None:
        self.root = Node()
        self.title_tokens: dict[str, tuple[int, ...]] = {}
        self.n_nodes = 1
        eos = tokenizer.eos_token_id
        n_train = 0
        for title in titles:
            if unseen == "excluded" and counts[title] == 0:
                continue
            ids = (*tokenizer.encode(template.target_text(title)), eos)
            self.title_tokens[title] = ids
            node = self.root
            for tok in ids:
                child = node.children.get(tok)
                if child is None:  # no setdefault(tok, Node()): that allocates every time
                    child = node.children[tok] = Node()
                    self.n_nodes += 1
                node = child
            # Titles that tokenise identically (e.g. NFC variants) share a leaf: mass adds up.
            node.count += counts[title]
            n_train += counts[title]
        self.n_train = n_train
        self._aggregate(max(n_train, 1), unseen == "generable")

    def _aggregate(self, n: int, zero_mass_is_zero_ig: bool) -> None:
        # Iterative pre-order rather than recursion (no recursion-limit worry for long titles,
        # no per-call overhead); reversed, it visits every child before its parent.
        order: list[Node] = []
        stack = [self.root]
        while stack:
            node = stack.pop()
            order.append(node)
            stack.extend(node.children.values())
        for node in reversed(order):
            if node.children:
                node.count = sum(c.count for c in node.children.values())
                node.entropy = sum(c.entropy for c in node.children.values())
            else:  # a leaf is one distinct target sequence (it ends with EOS)
                p = node.count / n
                node.entropy = -p * math.log(p) if p > 0 else 0.0
        for node in order:
            for child in node.children.values():
                ig = max(node.entropy - child.entropy, 0.0)
                if child.count == node.count or (zero_mass_is_zero_ig and child.count == 0):
                    ig = 0.0
                child.ig = ig

    def path(self, title: str) -> tuple[list[int], list[float]]:
        """Token ids of `title`'s target and the IG of each (like IGTrie.path)."""
        tokens = self.title_tokens[title]
        node, igs = self.root, []
        for tok in tokens:
            node = node.children[tok]
            igs.append(node.ig)
        return list(tokens), igs

    def walk(self, prefixes: Sequence[Sequence[int]]) -> list[Node]:
        """Node reached by each prefix (KeyError if a prefix leaves the trie)."""
        out = []
        for prefix in prefixes:
            node = self.root
            for tok in prefix:
                node = node.children[tok]
            out.append(node)
        return out

    def step(self, nodes: Sequence[Node], tokens: Sequence[int]) -> list[Node]:
        return [node.children[tok] for node, tok in zip(nodes, tokens)]

    @staticmethod
    def allowed(nodes: Sequence[Node]) -> list[list[tuple[int, float]]]:
        """Allowed next tokens of each node with their IG."""
        return [[(tok, c.ig) for tok, c in node.children.items()] for node in nodes]


# Comparisons with igd's IGTrie: used by trie_build.py before anything is timed, so a fast
# but wrong implementation can never produce a benchmark number.


def verify_paths(ig: IGTrie, naive: NaiveIGTrie, titles: tuple[str, ...]) -> float:
    """Assert identical tokens and IG on every title's path; returns the max |IG diff|."""
    assert naive.n_nodes == ig.trie.n_nodes, (naive.n_nodes, ig.trie.n_nodes)
    worst = 0.0
    for title in titles:
        (tokens, igs), (n_tokens, n_igs) = ig.path(title), naive.path(title)
        assert tokens.tolist() == n_tokens, f"token path differs for {title!r}"
        assert np.allclose(igs, n_igs, rtol=0.0, atol=1e-12), f"IG path differs for {title!r}"
        worst = max(worst, float(np.abs(igs - np.asarray(n_igs)).max()))
    return worst


def same_allowed(vec: tuple[np.ndarray, ...], naive: list[list[tuple[int, float]]]) -> bool:
    """Same allowed tokens (as sets: the dict trie keeps insertion order) and IG per row."""
    rows, toks, igs = vec
    for r, expected in enumerate(naive):
        got = dict(zip(toks[rows == r].tolist(), igs[rows == r].tolist()))
        want = dict(expected)
        if got.keys() != want.keys() or not np.allclose(
                [got[t] for t in want], list(want.values()), rtol=0.0, atol=1e-12):
            return False
    return True
