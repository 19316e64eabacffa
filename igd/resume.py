"""Trainings that survive being stopped: resumable Trainer checkpoints and where to continue.

A training writes full Trainer checkpoints (model or LoRA adapter, optimizer, scheduler, RNG
state, the early-stopping state) into a hidden folder beside its output, `.<out>.trainer/`, once
per epoch and, with `save_steps`, every that many optimiser steps. `resume.json` there records
the training's settings and data. Rerun with the same settings, `igd train` (and `igd
experiment`, which calls it) continues from the last complete checkpoint; the Trainer skips the
batches of the current epoch already seen, so the result is the run that was not stopped. A
folder left by other settings is refused (or, with --overwrite, started again): continuing
someone else's optimizer state would silently mix two trainings. The folder goes when the
final checkpoint is saved.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from transformers import TrainerCallback

from igd.checkpoint import CheckpointError

RESUME_FILE = "resume.json"
TASKS_FILE = "igd_task_weights.json"  # multi-target learning's s lives outside the model
_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")


def trainer_dir(out: Path) -> Path:
    return out.with_name(f".{out.name}.trainer")


def resume_point(folder: Path, key: dict, overwrite: bool) -> tuple[Path | None, dict]:
    """(the last complete Trainer checkpoint to continue from or None, the stored record).

    `key` is what must match: the training settings (without where things are) and the data
    fingerprint. A checkpoint is complete when its trainer_state.json exists: the Trainer
    writes that file last. Incomplete ones (a process killed while saving) are removed.
    """
    info = folder / RESUME_FILE
    if not folder.exists():
        return None, {}
    if folder.is_symlink() or not folder.is_dir():
        raise CheckpointError(folder, "is not a folder igd wrote", "remove it (it is where half-finished "
                              "trainings are kept), then rerun")
    try:
        saved = json.loads(info.read_text())
    except (OSError, ValueError):
        saved = None
    if not isinstance(saved, dict) or saved.get("key") != key:
        if not overwrite:
            what = _difference(saved.get("key") if isinstance(saved, dict) else None, key)
            raise CheckpointError(folder, f"holds a half-finished training with other settings ({what})",
                                  "rerun with the settings it was started with to continue it, or pass "
                                  "--overwrite to start again (it is then deleted)")
        shutil.rmtree(folder)
        return None, {}
    done = []
    for path in folder.iterdir():
        if (m := _CHECKPOINT.match(path.name)) and path.is_dir():
            if (path / "trainer_state.json").is_file():
                done.append((int(m.group(1)), path))
            else:
                shutil.rmtree(path)  # killed while saving
    return (max(done)[1] if done else None), saved


def start_record(folder: Path, key: dict, run_id: int | None, saved: dict) -> None:
    """Write resume.json (keeping the first run's id, so a continuation can say what it continues)."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"key": key, "first_run": saved.get("first_run", run_id), "runs": [*saved.get("runs", []), run_id]}
    tmp = folder / f"{RESUME_FILE}.tmp"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True))
    tmp.replace(folder / RESUME_FILE)


def step_of(checkpoint: Path | None) -> int:
    return int(_CHECKPOINT.match(checkpoint.name).group(1)) if checkpoint is not None else 0


def _difference(old: dict | None, new: dict) -> str:
    if old is None:
        return "its resume.json is missing or unreadable"
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "differs in " + ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")


class SaveEvery(TrainerCallback):
    """Ask the Trainer for a resumable checkpoint every `steps` optimiser steps, between the
    per-epoch ones (which early stopping needs; its best checkpoint is never rotated away)."""

    def __init__(self, steps: int | None):
        self.steps = steps

    def on_step_end(self, args, state, control, **kwargs):
        if self.steps and state.global_step % self.steps == 0:
            control.should_save = True
        return control


class SaveTaskWeights(TrainerCallback):
    """Multi-target learning's learnable s is not a model weight: keep it with each checkpoint."""

    def __init__(self, tasks):
        self.tasks = tasks

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                (folder / TASKS_FILE).write_text(json.dumps([float(v) for v in self.tasks.s.detach().cpu()]))


def restore_task_weights(tasks, checkpoint: Path | None) -> None:
    import torch

    path = None if checkpoint is None else checkpoint / TASKS_FILE
    if tasks is not None and path is not None and path.is_file():
        with torch.no_grad():
            tasks.s.copy_(torch.tensor(json.loads(path.read_text()), dtype=tasks.s.dtype))
