"""`igd experiment`: the paper's comparison in one command, one stored run per evaluation.

Each arm (igd.config.ARMS) is a training method and a decoding, or a baseline. Checkpoints
are shared between arms that train alike: one SFT checkpoint per seed serves BIGRec, D3 and
IGD-Decoding only; one IGD-Tuning checkpoint per (beta, seed) serves D3 + IGD, IGD-Tuning
only and BIGRec + IGD.

Selection follows the paper: with a beta grid, each training family (IGD-Tuning binary,
linear, Pos, CFT) trains every beta and keeps the best on the validation split decoded with
D3 (alpha = 0); then, with an alpha grid, each arm whose decoding takes alpha keeps the best
alpha on validation with its chosen checkpoint. The metric is validation HR@10 by default
(`select_metric`). With `select_seed`, choices made on that seed are reused for the others
(a budget option: say so when reporting). Everything finished is reused (checkpoints by
training config and data, evaluations by checkpoint and settings, or by the training
settings that made their checkpoint when it is gone), so a rerun resumes.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from collections.abc import Sequence

from igd.checkpoint import META, checkpoint_hash, read_meta
from igd.config import ARMS, HOLDOUT, PACE_C, Arm, DecodeConfig, EvalConfig, TrainConfig, is_number
from igd.experiment_config import ExperimentConfig
from igd.data import load_dataset, sid_items
from igd.evaluate import EVAL_VERSION, evaluate, evaluate_most_popular
from igd.pairing import checkpoint_record, common_checkpoint, has_identity, same_checkpoint
from igd.train import LOCATION_FIELDS, config_dict, train

__all__ = ["ExperimentConfig", "run_experiment", "checkpoint_dir", "finished_eval", "stored_eval"]



def checkpoint_dir(cfg: ExperimentConfig, method: str, beta: float | None, seed: int,
                   weighting: str = "binary", items: str = "title") -> Path:
    name = load_dataset(cfg.base.data, lazy=True).name  # name and fingerprint: no rows parsed
    sid = ("sid-titled-" if cfg.history_titles else "sid-") if items == "sid" else ""
    tag = (sid + method + ("-linear" if weighting == "linear" else "")
           + _measure_tag(cfg.base.decisiveness) + _pace_tag(method, cfg.base.pace_c)
           + ("" if beta is None else f"-beta{beta:g}"))
    return Path(cfg.out_dir) / name / cfg.base.model.replace("/", "_") / f"{tag}-seed{seed}"


def _pace_tag(method: str, pace_c: float | str) -> str:
    """A curriculum with another pace than the authors' trains beside theirs, not over it."""
    return "" if method != "mtl-curriculum" or pace_c == PACE_C else f"-pace{pace_c:g}" if is_number(pace_c) \
        else f"-pace-{pace_c}"


def _measure_tag(decisiveness: str) -> str:
    """IG checkpoints keep their folders; another measure trains beside them, not over them."""
    return "" if decisiveness == "ig" else f"-{decisiveness}"


def same_training(old: dict, new: dict) -> bool:
    """Two configs train the same model: equal outside the location fields, a setting absent
    from `old` (written before it existed) counting as its default."""
    defaults = config_dict(TrainConfig(data="", out=""))
    return all(old.get(k, defaults.get(k)) == v for k, v in new.items() if k not in LOCATION_FIELDS)


def _train_config(cfg: ExperimentConfig, method: str, beta: float | None, seed: int,
                  weighting: str, items: str = "title") -> TrainConfig:
    # The pace is mtl-curriculum's alone: other methods keep the default, so their checkpoints
    # and evaluations are reused whatever --pace-c says.
    pace_c = cfg.base.pace_c if method == "mtl-curriculum" else PACE_C
    return replace(cfg.base, out=str(checkpoint_dir(cfg, method, beta, seed, weighting, items)), method=method,
                   pace_c=pace_c,
                   beta=beta if beta is not None else 1.0, igd_weighting=weighting, seed=seed, overwrite=True,
                   items=items, history_titles=cfg.history_titles and items == "sid")


def ensure_checkpoint(cfg: ExperimentConfig, method: str, beta: float | None, seed: int, store,
                      weighting: str = "binary", items: str = "title") -> Path:
    """Train unless a checkpoint with the same training settings on the same data exists."""
    tc = _train_config(cfg, method, beta, seed, weighting, items)
    return existing_checkpoint(tc) or train(tc, store)


def existing_checkpoint(tc: TrainConfig) -> Path | None:
    """tc.out when it holds a checkpoint trained with tc's settings on the same data."""
    out = Path(tc.out)
    if (out / META).exists():
        meta = json.loads((out / META).read_text())
        if (meta.get("dataset_fingerprint") == load_dataset(tc.data, lazy=True).fingerprint
                and same_training(meta.get("config", {}), config_dict(tc))):
            return out
    return None


class _Selection:
    """The validation choices of one experiment, made once per (family or arm, seed)."""

    def __init__(self, cfg: ExperimentConfig, store):
        self.cfg, self.store, self.done = cfg, store, {}

    def _seed(self, seed: int) -> int:
        return seed if self.cfg.select_seed is None else self.cfg.select_seed

    def beta(self, arm: Arm, seed: int) -> float | None:
        """The arm's training beta: its family's grid, best on validation decoded with D3."""
        if not arm.uses_beta:
            return None
        grid, at = self.cfg.beta_grid(arm), self._seed(seed)
        key = ("beta", arm.train, arm.weighting, arm.items, at)
        if len(grid) > 1 and key not in self.done:
            scores = {b: self._valid((arm.train, b, arm.weighting, arm.items), [("d3", 0.0)], at)[0] for b in grid}
            self.done[key] = max(grid, key=lambda b: scores[b])  # ties: the first in the grid
        return self.done.get(key, grid[0])

    def alpha(self, arm: Arm, beta: float | None, seed: int) -> float | None:
        if not arm.uses_alpha:
            return None
        grid, at = self.cfg.alphas, self._seed(seed)
        key = ("alpha", arm.name, beta, at)
        if len(grid) > 1 and key not in self.done:
            scores = dict(zip(grid, self._valid((arm.train, beta, arm.weighting, arm.items),
                                                [(arm.decoding, a) for a in grid], at)))
            self.done[key] = max(grid, key=lambda a: scores[a])
        return self.done.get(key, grid[0])

    def _valid(self, training: tuple, decodings: list[tuple[str, float]], seed: int) -> list[float]:
        # With --train-on-valid, valid.csv trains: select on its held-out last 10% (which early-stops).
        split = HOLDOUT if self.cfg.base.train_on_valid else "valid"
        found = _eval_group(self.cfg, training, decodings, split, seed, self.store, self.cfg.select_users)
        return [m[self.cfg.select_metric] for m in found]


def run_experiment(cfg: ExperimentConfig, store) -> list[dict]:
    """Train what is needed, evaluate every arm on every seed, store every run; returns one
    summary per evaluation (arm, seed, beta, alpha and metrics)."""
    results = []
    arms = [ARMS[m] for m in cfg.methods]
    if any(a.items == "sid" for a in arms):  # before hours of training the title arms
        sid_items(load_dataset(cfg.base.data, lazy=True))  # DataError naming `igd sid build` when it has no IDs
    if any(a.baseline == "most_popular" for a in arms):  # independent of the seed
        m = finished_most_popular(cfg, store) or evaluate_most_popular(
            cfg.base.data, cfg.split, cfg.base.train_on_valid, cfg.max_users, k=cfg.num_beams, store=store)
        results.append({"arm": "most_popular", **m})
    select = _Selection(cfg, store)
    for seed in cfg.seeds:
        groups: dict[tuple, list[tuple[Arm, float | None, float | None]]] = {}
        for arm in arms:
            if arm.baseline == "most_popular":
                continue
            if arm.baseline is not None:
                results.append({"arm": arm.name, "seed": seed, **_sequential(cfg, arm.baseline, seed, store)})
                continue
            beta = select.beta(arm, seed)
            groups.setdefault((arm.train, beta, arm.weighting, arm.items), []).append(
                (arm, beta, select.alpha(arm, beta, seed)))
        for training, members in groups.items():  # arms that share training decode one checkpoint
            found = _eval_group(cfg, training, [(a.decoding, alpha or 0.0) for a, _, alpha in members], cfg.split,
                                seed, store, cfg.max_users)
            results += [{"arm": a.name, "seed": seed, "beta": beta, "alpha": alpha, **m}
                        for (a, beta, alpha), m in zip(members, found)]
    return results


def _sequential(cfg: ExperimentConfig, model: str, seed: int, store) -> dict:
    from igd.seqrec import SeqRecConfig, finished_baseline, train_baseline

    sc = SeqRecConfig(model=model, data=cfg.base.data, seed=seed, split=cfg.split, max_users=cfg.max_users,
                      k=cfg.num_beams, train_on_valid=cfg.base.train_on_valid)
    return finished_baseline(sc, store) or train_baseline(sc, store)


def _eval_group(cfg: ExperimentConfig, training: tuple[str, float | None, str, str],
                decodings: Sequence[tuple[str, float]], split: str, seed: int, store,
                max_users: int | None) -> list[dict]:
    """Metrics of each (decoding, alpha) of the ONE checkpoint `training` = (method, beta,
    weighting, items) trains with `seed`. Stored evaluations are reused only when they all
    decoded the same checkpoint files (igd.pairing): the one on disk when it is there, else
    one checkpoint that every decoding has; otherwise the checkpoint is trained (or taken from
    disk) and every decoding without an evaluation of it is decoded anew."""
    method, beta, weighting, items = training
    dcs = [DecodeConfig(method=d, alpha=a, num_beams=cfg.num_beams, batch_size=cfg.batch_size,
                        beam_stop=cfg.beam_stop, dtype=cfg.base.dtype) for d, a in decodings]
    tc = _train_config(cfg, method, beta, seed, weighting, items)
    ckpt = existing_checkpoint(tc)
    candidates = [stored_evals(store, tc, dc, split, max_users) for dc in dcs]
    if ckpt is None and (runs := common_checkpoint(candidates)) is not None:
        return [r["metrics"] for r in runs]
    ckpt = ckpt or ensure_checkpoint(cfg, method, beta, seed, store, weighting, items)
    meta = read_meta(ckpt)
    here = checkpoint_record(checkpoint_hash(ckpt, meta), meta)
    found = []
    for dc, runs in zip(dcs, candidates):
        # An evaluation of this path started after the checkpoint was written decoded it too,
        # unless its own record names other files.
        done = next((r for r in runs if same_checkpoint(r, here)), None) or next(
            (r for r in finished_evals(store, ckpt, dc, split, seed, max_users, tc.decisiveness)
             if same_checkpoint(r, here) or not has_identity(r)), None)
        found.append(done["metrics"] if done else evaluate(
            ckpt, cfg.base.data, EvalConfig(split=split, max_users=max_users, decode=dc), store, seed=seed))
    return found


def finished_most_popular(cfg: ExperimentConfig, store) -> dict | None:
    """The baseline does not depend on the seed: one complete run per data, split and users."""
    if store is None:
        return None
    dataset = load_dataset(cfg.base.data)
    training = dataset.training_split_name(cfg.base.train_on_valid)
    for r in reversed(store.runs(kind="baseline", arm="most_popular", split=cfg.split, status="complete")):
        if (r["dataset_fingerprint"] == dataset.fingerprint and r["config"].get("k") == cfg.num_beams
                and r["config"].get("eval_version", 1) == EVAL_VERSION
                and r["config"].get("max_users") == cfg.max_users and r["config"].get("training_split") == training):
            return r["metrics"]
    return None


def finished_eval(store, ckpt: Path, dc: DecodeConfig, split: str, seed: int,
                  max_users: int | None, decisiveness: str = "ig") -> dict | None:
    """Metrics of a complete evaluation of this very checkpoint (started after it was last
    written) with the same decoding, decisiveness, split, users and seed: a rerun resumes."""
    runs = finished_evals(store, ckpt, dc, split, seed, max_users, decisiveness)
    return runs[0]["metrics"] if runs else None


def finished_evals(store, ckpt: Path, dc: DecodeConfig, split: str, seed: int,
                   max_users: int | None, decisiveness: str = "ig") -> list[dict]:
    """The runs `finished_eval` accepts, newest first (stores written before training settings
    were recorded with evaluations are matched by checkpoint path and time)."""
    if store is None:
        return []
    written = datetime.fromtimestamp((Path(ckpt) / META).stat().st_mtime, timezone.utc)
    return [r for r in reversed(store.runs(kind="eval", decoding=dc.method, split=split, seed=seed, status="complete"))
            if Path(r["checkpoint"] or "").resolve() == Path(ckpt).resolve()
            and _same_decoding(r, dc, max_users, decisiveness)
            and datetime.fromisoformat(r["started_at"]) >= written.replace(microsecond=0)]


def _same_decoding(r: dict, dc: DecodeConfig, max_users: int | None, decisiveness: str) -> bool:
    """Same decoding settings; an evaluation recorded before measures existed decoded with IG."""
    c = r["config"]
    return (r["alpha"] == (dc.alpha if dc.spec.uses_alpha else None) and c.get("max_users") == max_users
            and c.get("num_beams") == dc.num_beams and c.get("beam_stop", "fast") == dc.beam_stop
            and c.get("eval_version", 1) == EVAL_VERSION and c.get("decisiveness", "ig") == decisiveness
            and c.get("dtype", "auto") == dc.dtype)  # the choice; the run records what it resolved to


def stored_eval(store, tc: TrainConfig, dc: DecodeConfig, split: str, max_users: int | None) -> dict | None:
    """Metrics of the newest of `stored_evals`, None when there is none."""
    runs = stored_evals(store, tc, dc, split, max_users)
    return runs[0]["metrics"] if runs else None


def stored_evals(store, tc: TrainConfig, dc: DecodeConfig, split: str, max_users: int | None) -> list[dict]:
    """Complete evaluations (newest first), with the same decoding, split and users, of a
    checkpoint trained with `tc`'s settings on the same data: found by what trained it (the
    evaluation's record, or its training run in this store), so a committed store resumes on
    a machine that no longer has the checkpoints."""
    if store is None:
        return []
    fingerprint = load_dataset(tc.data, lazy=True).fingerprint
    wanted = config_dict(tc)
    trained = {r["id"]: r["config"] for r in store.runs(kind="train", status="complete")}
    found = []
    for r in reversed(store.runs(kind="eval", decoding=dc.method, split=split, seed=tc.seed, status="complete")):
        how = r["config"].get("train_config") or trained.get(r["parent_run"])
        if (how and r["dataset_fingerprint"] == fingerprint and _same_decoding(r, dc, max_users, tc.decisiveness)
                and same_training(how, wanted)):
            found.append(r)
    return found
