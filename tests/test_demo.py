"""igd demo-models' recipe end to end on the fruit dataset (char tokenizer, a few steps)."""

import sqlite3

import pytest

from fruits import write_dataset
from igd.demo import DemoConfig, build_demo
from igd.models import TinyConfig
from igd.store import RunStore
from igd.train import TrainConfig

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    data = write_dataset(root / "fruits")
    base = TrainConfig(data=str(data), out="", beta=1.0, tokenizer="char", category="fruits", epochs=1,
                       batch_size=8, max_steps=4, logging_steps=2,
                       tiny=TinyConfig(hidden_size=32, layers=1, heads=2, intermediate_size=64))
    cfg = DemoConfig(base=base, out=str(root / "models"), work=str(root / "work"), seeds=(0, 1),
                     max_users=None, sweep_alphas=(0.0, 0.4), sweep_users=5)
    return cfg, build_demo(cfg), root


def test_writes_two_checkpoints_a_store_and_a_readme(demo):
    cfg, report, root = demo
    models = root / "models"
    assert sorted(p.name for p in models.iterdir()) == ["README.md", "demo-igd-beta0.2", "demo-sft", "runs.db"]
    for name in ("demo-sft", "demo-igd-beta0.2"):
        assert (models / name / "igd_checkpoint.json").exists()
        assert (models / name / "model" / "model.safetensors").exists()
        assert not list((models / name).glob("*.trainer"))
    assert 0 < report["size_mb"] < 30
    readme = (models / "README.md").read_text()
    assert "igd demo-models --data" in readme and "| Most popular | 1 |" in readme
    assert "| D3 + IGD (IGD-Tuning + IGD-Decoding), α=0.2 | 2 |" in readme and "| BIGRec | 2 |" in readme
    assert [a for a, _ in report["sweep"]] == [0.0, 0.4]


def test_shipped_store_has_metrics_and_logs_but_no_predictions(demo):
    _, _, root = demo
    path = root / "models" / "runs.db"
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert con.execute("SELECT count(*) FROM predictions").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM train_log").fetchone()[0] > 0
    con.close()
    runs = RunStore(path, readonly=True).runs()
    evals = [r for r in runs if r["kind"] == "eval" and r["split"] == "test"]
    assert sorted((r["decoding"], r["seed"]) for r in evals) == [(d, s) for d in ("bigrec", "d3", "igd") for s in (0, 1)]
    assert all(r["status"] == "complete" and "hr@10" in r["metrics"] for r in runs if r["kind"] != "train")
    assert sorted(r["alpha"] for r in runs if r["split"] == "valid") == [0.0, 0.4]
    assert RunStore(root / "work" / "runs.db", readonly=True).predictions(evals[0]["id"])  # kept at work


def test_a_second_run_reuses_everything(demo):
    cfg, _, root = demo
    before = len(RunStore(root / "work" / "runs.db", readonly=True).runs(kind="eval"))
    build_demo(cfg)
    store = RunStore(root / "work" / "runs.db", readonly=True)
    assert len(store.runs(kind="eval")) == before and len(store.runs(kind="train")) == 4
