"""Information gain (Eq. 4-5) on a tiny catalogue, by hand, and as properties."""

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igd.data import Catalogue, Sample
from igd.info_gain import build_ig_trie, title_counts
from igd.templates import Template, target_ids
from igd.tokenization import CharTokenizer

CHAR = CharTokenizer()
NL, EOS = 10, 3


def h(p: float) -> float:
    return -p * math.log(p)


# ids 0 and 3 share the title "ab"; "a" is a prefix of "ab"/"ac"; "z" is never a target.
CATALOGUE = Catalogue(("ab", "ac", "b", "ab", "a", "z"))
TRAIN = [Sample("u", (), t) for t in (0, 0, 0, 3, 1, 4, 2, 2)]  # N = 8
# p(ab) = 4/8 (ids 0 and 3 summed: one path), p(ac) = 1/8, p(a) = 1/8, p(b) = 2/8, p(z) = 0
H_AB, H_AC, H_A, H_B = h(4 / 8), h(1 / 8), h(1 / 8), h(2 / 8)


@pytest.fixture(params=["generable", "excluded"])
def ig(request):
    counts = title_counts(TRAIN, CATALOGUE)
    return build_ig_trie(CATALOGUE, counts, CHAR, Template(), unseen=request.param)


def test_counts_sum_duplicate_titles():
    assert title_counts(TRAIN, CATALOGUE) == Counter({"ab": 4, "ac": 1, "a": 1, "b": 2})


def test_root_entropy(ig):
    assert ig.node_entropy[0] == pytest.approx(H_AB + H_AC + H_A + H_B)  # 1.2130076


def test_hand_computed_paths(ig):
    tokens, igs = ig.path("ab")
    assert tokens.tolist() == [97, 98, NL, EOS]
    # "a": the sibling branch "b" leaves; "b" under "a": siblings "a\n" and "ac" leave
    assert igs == pytest.approx([H_B, H_AC + H_A, 0, 0])  # [0.34657, 0.51986, 0, 0]
    assert ig.path("ac")[1] == pytest.approx([H_B, H_AB + H_A, 0, 0])
    assert ig.path("a")[1] == pytest.approx([H_B, H_AB + H_AC, 0])  # title that is a prefix
    assert ig.path("b")[1] == pytest.approx([H_AB + H_AC + H_A, 0, 0])  # 0.86643


def test_single_child_and_eos_are_exactly_zero(ig):
    _, igs = ig.path("ab")
    assert igs[2] == 0.0 and igs[3] == 0.0  # not merely close to zero


def test_unseen_item_policy():
    counts = title_counts(TRAIN, CATALOGUE)
    generable = build_ig_trie(CATALOGUE, counts, CHAR, Template(), unseen="generable")
    excluded = build_ig_trie(CATALOGUE, counts, CHAR, Template(), unseen="excluded")
    # generable: "z" is a path but entering its zero-mass branch carries no information,
    # although H(root) - H("z") = H(root) would make it the most decisive token of all.
    assert generable.path("z")[1].tolist() == [0.0, 0.0, 0.0]
    assert generable.node_entropy[0] - 0.0 > generable.path("b")[1][0]
    with pytest.raises(KeyError, match="not a trie path"):
        excluded.path("z")
    # seen titles get identical IG under both policies
    for title in ("ab", "ac", "a", "b"):
        assert generable.path(title)[1] == pytest.approx(excluded.path(title)[1])


def test_allowed_returns_tokens_and_ig_for_many_nodes(ig):
    a_node = ig.trie.step(np.array([0]), np.array([97]))[0]
    rows, tokens, igs = ig.allowed(np.array([a_node]))
    assert tokens.tolist() == [NL, 98, 99]
    assert igs == pytest.approx([H_AB + H_AC, H_AC + H_A, H_AB + H_A])


def test_training_targets_are_complete_paths(ig):
    targets = target_ids(CHAR, Template(), ["ab", "b"])
    ig.check_targets(targets)
    with pytest.raises(AssertionError, match="not a complete trie path"):
        ig.check_targets([[97, 98, NL]])  # missing EOS
    with pytest.raises(AssertionError, match="not a complete trie path"):
        ig.check_targets([[97, 98, 10, 3], [34, 97, 98, 34, 10, 3]])  # quoted style vs plain trie


def test_empty_catalogue_is_a_clear_error():
    with pytest.raises(ValueError, match="empty catalogue"):
        build_ig_trie(Catalogue(()), Counter(), CHAR, Template())


def test_no_training_mass_with_excluded_policy_is_a_clear_error():
    with pytest.raises(ValueError, match="no title was ever a training target"):
        build_ig_trie(Catalogue(("a",)), Counter(), CHAR, Template(), unseen="excluded")


def test_bad_policy_and_unknown_titles():
    with pytest.raises(ValueError, match="unseen="):
        build_ig_trie(CATALOGUE, Counter(), CHAR, Template(), unseen="smooth")
    with pytest.raises(ValueError, match="not in the catalogue"):
        build_ig_trie(CATALOGUE, Counter({"nope": 1}), CHAR, Template())


# ---- properties -------------------------------------------------------------------------

titles_st = st.lists(st.text(alphabet="abc ", min_size=1, max_size=5), min_size=1, max_size=12)


def brute_entropy(prefix: str, texts: dict[str, str], p: dict[str, float]) -> float:
    """H(prefix) straight from the definition: sum over titles whose target starts with it."""
    return sum(h(p[t]) for t, text in texts.items() if text.startswith(prefix) and p[t] > 0)


@settings(max_examples=150, deadline=None)
@given(titles=titles_st, data=st.data())
def test_ig_properties(titles, data):
    cat = Catalogue(tuple(titles))
    counts = Counter({t: data.draw(st.integers(0, 4)) for t in cat.title_to_ids})
    if not any(counts.values()):
        counts[titles[0]] = 1
    policy = data.draw(st.sampled_from(["generable", "excluded"]))
    ig = build_ig_trie(cat, +counts, CHAR, Template(), unseen=policy)
    assert (ig.edge_ig >= 0).all()
    n = sum(counts.values())
    p = {t: counts[t] / n for t in cat.title_to_ids}
    texts = {t: Template().target_text(t) for t in cat.title_to_ids}
    for title in ig.title_to_seq:
        tokens, igs = ig.path(title)
        leaf = ig.trie.leaf[ig.title_to_seq[title]]
        if p[title] > 0:  # Eq. 5 telescopes along the path
            assert igs.sum() == pytest.approx(ig.node_entropy[0] - ig.node_entropy[leaf], abs=1e-12)
        else:
            assert igs.sum() <= ig.node_entropy[0] + 1e-12
        # every edge agrees with the brute-force definition H(parent) - H(child)
        prefix = ""
        for tok, value in zip(tokens.tolist(), igs.tolist()):
            child = prefix + (chr(tok) if tok != EOS else "\x03")
            full = {t: x + "\x03" for t, x in texts.items()}
            expected = brute_entropy(prefix, full, p) - brute_entropy(child, full, p)
            if brute_entropy(child, full, p) == 0 and policy == "generable":
                expected = 0.0  # zero-mass branch policy
            assert value == pytest.approx(expected, abs=1e-12)
            prefix = child


def _root_ig_and_norm(unseen: str) -> dict[str, tuple[float, float]]:
    """(IG, IG~) of each first token of the issue's minimal case: ab, ac, b, c seen (counts
    1, 1, 3, 5), d never a training target."""
    catalogue = Catalogue(("ab", "ac", "b", "c", "d"))
    train = [Sample("u", (), t) for t in (0, 1, 2, 2, 2, 3, 3, 3, 3, 3)]
    ig = build_ig_trie(catalogue, title_counts(train, catalogue), CHAR, Template(), unseen=unseen)
    _, tokens, edges = ig.trie.children(np.array([0]))
    return {chr(t): (ig.edge_ig[e], ig.edge_ig_norm[e]) for t, e in zip(tokens, edges)}


def test_zero_mass_sibling_does_not_shift_ig_norm_of_seen_siblings():
    """Eq. 9's min and max run over the siblings that carry training mass: an unseen branch
    (IG 0 by policy) must not become the minimum, so seen titles decode as under 'excluded'.
    Hand values: IG(a) = h(.3) + h(.5), IG(b) = 2 h(.1) + h(.5), IG(c) = 2 h(.1) + h(.3)."""
    excluded, generable = _root_ig_and_norm("excluded"), _root_ig_and_norm("generable")
    ig_a, ig_b, ig_c = h(.3) + h(.5), 2 * h(.1) + h(.5), 2 * h(.1) + h(.3)
    expected = {"a": (ig_a, 0.0), "b": (ig_b, (ig_b - ig_a) / (ig_c - ig_a)), "c": (ig_c, 1.0)}
    assert ig_a == pytest.approx(0.7078, abs=1e-4) and expected["b"][1] == pytest.approx(0.8717, abs=1e-4)
    for name, table in (("excluded", excluded), ("generable", generable)):
        for tok, (want_ig, want_norm) in expected.items():
            assert table[tok] == pytest.approx((want_ig, want_norm), abs=1e-12), (name, tok)
    assert "d" not in excluded and generable["d"] == (0.0, 0.0)
