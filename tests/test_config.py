"""igd.config, the one registry: torch-free, and a new decoding is one registry entry that the
CLI, the processor, the store and the experiment all accept without any other change."""

import subprocess
import sys

import numpy as np
import pytest

from igd import config
from igd.config import ARMS, DECODINGS, Arm, Decoding, arm_of


def test_config_is_torch_free():
    code = "import sys, igd.config; sys.exit('torch' in sys.modules or 'transformers' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_every_arm_names_registered_parts_and_arm_of_inverts_them():
    for name, arm in ARMS.items():
        if arm.baseline is None:
            assert arm_of(arm.train, arm.decoding, arm.weighting, items=arm.items) == name
        else:
            assert arm_of(None, None, baseline=arm.baseline) == name
    assert arm_of("pos", "bigrec") is None  # runnable, but no arm of the paper's tables


def test_arm_validation():
    with pytest.raises(ValueError, match="unknown training method or decoding"):
        Arm("x", "X", "sft", "beam")
    with pytest.raises(ValueError, match="training method and decoding, or a baseline"):
        Arm("x", "X")


def _half_weights(ig: np.ndarray, ig_norm: np.ndarray, alpha: float) -> np.ndarray:
    """A made-up decoding for the test: every step weighted 0.5, whatever alpha."""
    return np.full(len(ig), 0.5)


def test_a_new_decoding_is_one_registry_entry(monkeypatch, tmp_path):
    from igd.cli import build_parser
    from igd.decode import processor_for
    from igd.store import RunRecord, RunStore
    from test_decode import CATALOGUE, TOK, TRAIN, step

    monkeypatch.setitem(DECODINGS, "half", Decoding("half", "every step x 0.5", 0.0, _half_weights))
    args = build_parser().parse_args(["evaluate", "--checkpoint", "c", "--data", "d", "--decoding", "half"])
    dc = config.DecodeConfig(method=args.decoding, alpha=0.3)
    assert dc.effective_alpha == 0.3 and dc.early_stopping  # length penalty 0
    from igd.info_gain import build_ig_trie, title_counts
    from igd.templates import Template

    ig = build_ig_trie(CATALOGUE, title_counts(TRAIN, CATALOGUE), TOK, Template())
    out = step(processor_for(ig, dc).reset(prompt_len=2), [[]])
    assert sorted(out[0][out[0] > -1e9].tolist()) == pytest.approx([-1.4, -0.75, -0.5])  # z, b, a: 0.5 x log p
    store = RunStore(tmp_path / "runs.db")
    store.start(RunRecord(kind="eval", dataset="d", dataset_fingerprint="f", model="tiny", seed=0,
                          split="test", decoding="half", alpha=0.3))
    assert store.runs()[0]["decoding"] == "half"
    store.close()


def test_view_presets_name_registered_arms():
    from igd.config import DEFAULT_VIEW, VIEW_ARMS_MAX, VIEW_ARMS_MIN, VIEW_PRESETS

    assert all(arm in ARMS and ARMS[arm].train in ("sft", "igd") for arm in VIEW_PRESETS.values())
    assert VIEW_ARMS_MIN <= len(DEFAULT_VIEW) <= VIEW_ARMS_MAX and set(DEFAULT_VIEW) <= set(VIEW_PRESETS)
    assert {ARMS[VIEW_PRESETS[label]].label for label in ("BIGRec", "D3", "BIGRec + IGD")} == {
        "BIGRec", "D3", "BIGRec + IGD"}  # the registry's own words where it has them
