import numpy as np
import pytest

from igd.trie import build_trie

EOS = 3
# "ab", "ac", "b" as char ids + EOS: a=97, b=98, c=99
SEQS = [[97, 98, EOS], [97, 99, EOS], [98, EOS]]


@pytest.fixture
def trie():
    return build_trie(SEQS, EOS)


def test_breadth_first_token_sorted_layout(trie):
    # nodes: 0 root | 1 "a", 2 "b" | 3 "ab", 4 "ac", 5 "b<eos>" | 6 "ab<eos>", 7 "ac<eos>"
    assert trie.n_nodes == 8
    assert trie.edge_token.tolist() == [97, 98, 98, 99, EOS, EOS, EOS]
    assert trie.edge_parent.tolist() == [0, 0, 1, 1, 2, 3, 4]
    assert trie.child_ptr.tolist() == [0, 2, 4, 5, 6, 7, 7, 7, 7]
    assert trie.leaf.tolist() == [6, 7, 5]
    assert trie.depth_ptr.tolist() == [0, 1, 3, 6, 8]


def test_step_is_vectorised_and_marks_invalid(trie):
    nodes = np.array([0, 0, 1, 1, 2, -1])
    tokens = np.array([97, 99, 98, EOS, EOS, 97])
    assert trie.step(nodes, tokens).tolist() == [1, -1, 3, -1, 5, -1]


def test_walk_right_padded_prefixes(trie):
    prefixes = np.array([[-1, -1], [97, -1], [97, 99], [98, 97]])
    assert trie.walk(prefixes).tolist() == [0, 1, 4, -1]


def test_children_flat_arrays(trie):
    rows, tokens, edges = trie.children(np.array([0, 3, 1]))
    assert rows.tolist() == [0, 0, 1, 2, 2]
    assert tokens.tolist() == [97, 98, EOS, 98, 99]
    assert edges.tolist() == [0, 1, 5, 2, 3]


def test_children_of_leaf_is_empty_and_of_invalid_raises(trie):
    rows, tokens, _ = trie.children(np.array([6]))
    assert rows.tolist() == [] and tokens.tolist() == []
    with pytest.raises(ValueError, match="left the trie"):
        trie.children(np.array([-1]))


def test_path_nodes(trie):
    assert trie.path(0).tolist() == [1, 3, 6]
    assert trie.path(2).tolist() == [2, 5]
    assert trie.seq_nodes[2].tolist() == [0, 2, 5, -1]


@pytest.mark.parametrize("seqs, message", [
    ([], "empty catalogue"),
    ([[97, 98]], "does not end with the EOS"),
    ([[97, EOS, 98, EOS]], "before its end"),
    ([[97, EOS], [97, EOS]], "duplicate token sequences"),
])
def test_bad_sequences(seqs, message):
    with pytest.raises(ValueError, match=message):
        build_trie(seqs, EOS)
