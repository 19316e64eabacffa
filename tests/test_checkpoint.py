"""A checkpoint's stored item priors (item_prior.json): what the app rebuilds its IG trie from
without parsing the training split. Loading real checkpoints with them: test_pipeline."""

from collections import Counter

import pytest

from igd.checkpoint import PRIOR_FILE, CheckpointError, read_item_prior, write_item_prior


def test_item_priors_round_trip_for_the_same_dataset(tmp_path):
    counts = Counter({"kiwi": 3, "lime": 1, "Godfather, The (1972)": 2, "café": 1})
    write_item_prior(tmp_path, "fp-1", counts)
    assert read_item_prior(tmp_path, "fp-1") == counts


def test_item_priors_of_another_dataset_are_not_used(tmp_path):
    write_item_prior(tmp_path, "fp-1", {"kiwi": 3})
    assert read_item_prior(tmp_path, "fp-2") is None  # the caller counts them from its dataset
    assert read_item_prior(tmp_path / "none", "fp-1") is None  # an older checkpoint: no file


@pytest.mark.parametrize("text", ['{"dataset_fingerprint": "fp-1", "counts": [["kiwi", 0]]}',
                                  '{"dataset_fingerprint": "fp-1", "counts": {"kiwi": 3}}',
                                  '{"dataset_fingerprint": "fp-1", "counts": [["kiwi", true]]}',
                                  '[1, 2]', '{"counts": [["kiwi", 3.0]]}'])
def test_malformed_item_priors_are_a_checkpoint_error(tmp_path, text):
    (tmp_path / PRIOR_FILE).write_text(text)
    with pytest.raises(CheckpointError, match=f"{PRIOR_FILE} does not hold"):
        read_item_prior(tmp_path, "fp-1")


def test_unreadable_item_priors_are_a_checkpoint_error(tmp_path):
    (tmp_path / PRIOR_FILE).write_bytes(b"{not json")
    with pytest.raises(CheckpointError, match=f"{PRIOR_FILE} cannot be read"):
        read_item_prior(tmp_path, "fp-1")
