"""igd.arms_view against the command line: one item across arms gives, per arm, the token path
and beam score that `igd recommend --explain --explain-title` prints for that checkpoint,
decoding and alpha (the CLI function called in-process). Checkpoints: `igd train` of a few steps
on the fruit dataset (char tokenizer); files, because the CLI reads checkpoints from disk."""

import re

import pytest

from fruits import TINY, write_dataset
from igd.arms_view import item_across_arms
from igd.cli import main
from igd.compare import compare_arms, load, preset_arms
from igd.config import ARMS, DECODINGS, VIEW_PRESETS
from igd.data import load_dataset

pytestmark = pytest.mark.slow
ALPHA = 0.4


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("arms")
    data = write_dataset(root / "fruits")
    ckpts = {m: root / m for m in ("sft", "igd")}
    for method, out in ckpts.items():
        assert main(["train", "--data", str(data), "--method", method, "--out", str(out), "--max-steps", "4",
                     "--db", "", *TINY]) == 0
    return data, ckpts


def cli_explain(capsys, ckpt, data, user, decoding, title) -> tuple[list[tuple[float, ...]], float]:
    """The rows (log p, IG, IG~, weight, candidates) and the beam score that the CLI prints."""
    capsys.readouterr()
    assert main(["recommend", "--checkpoint", str(ckpt), "--data", str(data), "--user-index", str(user),
                 "--decoding", decoding, "--alpha", str(ALPHA), "--explain", "--explain-title", title]) == 0
    out = capsys.readouterr().out.split(f"token path of {title!r}")[1].splitlines()[2:]
    rows = [tuple(float(x) for x in re.findall(r"-?\d+\.\d+|\d+$", line.split("'")[-1]))
            for line in out if not line.strip().startswith("beam score")]
    return rows, float(out[-1].split()[-1])


def test_item_across_arms_equals_igd_recommend_explain(world, capsys):
    data, ckpts = world
    dataset = load_dataset(data)
    sft, igd = load(ckpts["sft"], dataset), load(ckpts["igd"], dataset)
    user = 1
    sample = dataset.split("test")[user]
    history = [dataset.catalogue.titles[i] for i in sample.history]
    truth = dataset.catalogue.titles[sample.target]
    comparison = compare_arms(preset_arms(list(VIEW_PRESETS), sft, igd, ALPHA), history, k=5, beams=10)
    for row in item_across_arms(comparison, truth):
        arm = ARMS[VIEW_PRESETS[row.arm]]
        printed, score = cli_explain(capsys, ckpts[arm.train], data, user, arm.decoding, truth)
        assert len(printed) == len(row.path)
        for (logp, ig, ig_norm, weight, n), step in zip(printed, row.path):
            assert logp == pytest.approx(step["log_p"], abs=6e-4) and ig == pytest.approx(step["ig"], abs=6e-5)
            assert ig_norm == pytest.approx(step["ig_norm"], abs=6e-4)
            assert weight == pytest.approx(step["weight"], abs=6e-4) and n == step["candidates"]
            if not DECODINGS[arm.decoding].uses_alpha:
                assert step["weight"] == 1.0
        assert score == pytest.approx(row.score, abs=6e-5)


def test_explain_title_must_be_a_catalogue_title(world, capsys):
    data, ckpts = world
    assert main(["recommend", "--checkpoint", str(ckpts["sft"]), "--data", str(data), "--history", "kiwi",
                 "--explain", "--explain-title", "durian"]) == 2
    assert "--explain-title 'durian': not a catalogue title" in capsys.readouterr().err


def test_explain_title_without_explain_says_so(world, capsys):
    data, ckpts = world
    assert main(["recommend", "--checkpoint", str(ckpts["sft"]), "--data", str(data), "--history", "kiwi",
                 "--explain-title", "kiwi"]) == 2
    assert capsys.readouterr().err == ("igd recommend: error: --explain-title kiwi: shows a title's token path, "
                                       "which only --explain prints. Fix: add --explain\n")
