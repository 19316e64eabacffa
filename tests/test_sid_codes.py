"""Semantic-ID construction (igd.sid_codes): RQ-KMeans recovers planted clusters, the unique
level, codebook scaling and the statistics, by hand."""

import numpy as np

from igd.sid_codes import code_stats, codebook_size, random_codes, rq_kmeans, with_unique_level


def planted(seed: int = 0):
    """4 coarse clusters far apart, each made of 4 fine clusters close together, 10 points each."""
    rng = np.random.default_rng(seed)
    coarse = np.array([[100.0, 0, 0, 0], [0, 100.0, 0, 0], [0, 0, 100.0, 0], [0, 0, 0, 100.0]])
    fine = np.array([[5.0, 0, 0, 0], [-5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, -5.0, 0, 0]])
    points, labels = [], []
    for c in range(4):
        for f in range(4):
            points.append(coarse[c] + fine[f] + rng.normal(0, 0.1, size=(10, 4)))
            labels += [(c, f)] * 10
    return np.concatenate(points), labels


def same_partition(a, b) -> bool:
    """Two labelings group the items identically (each label of one maps to one of the other)."""
    return len(set(zip(a, b))) == len(set(a)) == len(set(b))


def test_rq_kmeans_recovers_planted_clusters():
    x, labels = planted()
    codes = rq_kmeans(x, levels=2, codes=4, seed=0)
    assert same_partition(codes[:, 0].tolist(), [c for c, _ in labels])  # level 1: the coarse clusters
    # level 2 clusters the residuals, where the fine offsets of every coarse cluster coincide
    assert same_partition(codes[:, 1].tolist(), [f for _, f in labels])
    assert same_partition([tuple(r) for r in codes], labels)  # coarse + fine: the 16 planted groups exactly
    np.testing.assert_array_equal(codes, rq_kmeans(x, levels=2, codes=4, seed=0))  # deterministic


def test_the_unique_level_separates_collisions():
    codes = np.array([[1, 2], [1, 2], [3, 4], [1, 2]])
    unique = with_unique_level(codes)
    np.testing.assert_array_equal(unique[:, 2], [0, 1, 0, 2])
    assert len({tuple(r) for r in unique}) == 4
    before, after = code_stats(codes, 4), code_stats(unique, 4)
    assert before.collision_rate == 0.75 and after.collision_rate == 0.0  # 3 of 4 items shared [1, 2]
    assert before.utilisation == (0.5, 0.5)  # 2 of 4 codes used at each level


def test_codebook_scales_down_for_small_catalogues():
    assert codebook_size(1682, 3, 256) == 24  # 2 * ceil(1682 ** (1/3)) = 2 * 12
    assert codebook_size(10_000_000, 3, 256) == 256
    assert codebook_size(3, 3, 256) == 4


def test_random_codes_are_seeded_and_in_range():
    a, b = random_codes(50, 3, 8, seed=1), random_codes(50, 3, 8, seed=1)
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0 and a.max() < 8 and a.shape == (50, 3)
    assert not np.array_equal(a, random_codes(50, 3, 8, seed=2))
