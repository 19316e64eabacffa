"""`igd experiment`: the paper's comparison in one command.

For every seed: one SFT checkpoint serves BIGRec and D3 (they differ only in decoding), and
IGD trains its own IGD-Tuning checkpoint (beta) and decodes with IGD-Decoding (alpha). With
lists of beta or alpha, the paper's protocol is followed: beta is chosen first on the
validation split (IGD-Tuning decoded as D3, i.e. alpha = 0), then alpha on validation with
that beta; the chosen pair is then evaluated on the test split. Every evaluation is one run in
the store; existing checkpoints with the same settings are reused, not retrained.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from igd.checkpoint import META
from igd.data import load_dataset
from igd.decode import DECODINGS, DecodeConfig
from igd.evaluate import EvalConfig, evaluate, evaluate_most_popular
from igd.train import TrainConfig, config_dict, train

SELECT_METRIC = "ndcg@10"


@dataclass(frozen=True)
class ExperimentConfig:
    base: TrainConfig  # data, model and training settings shared by all methods
    methods: tuple[str, ...] = ("bigrec", "d3", "igd")
    seeds: tuple[int, ...] = (0, 1, 2)
    betas: tuple[float, ...] = (0.2,)
    alphas: tuple[float, ...] = (0.2,)
    out_dir: str = "checkpoints"
    split: str = "test"
    max_users: int | None = None
    num_beams: int = 10
    batch_size: int = 16
    most_popular: bool = True

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in DECODINGS]
        if unknown or not self.methods:
            raise ValueError(f"methods={list(self.methods)}: choose from {', '.join(DECODINGS)}")
        if not self.seeds or not self.betas or not self.alphas:
            raise ValueError("seeds, betas and alphas need at least one value each")


def checkpoint_dir(cfg: ExperimentConfig, method: str, beta: float | None, seed: int) -> Path:
    name = load_dataset(cfg.base.data).name
    tag = method if beta is None else f"{method}-beta{beta:g}"
    return Path(cfg.out_dir) / name / cfg.base.model.replace("/", "_") / f"{tag}-seed{seed}"


def ensure_checkpoint(cfg: ExperimentConfig, method: str, beta: float | None, seed: int, store) -> Path:
    """Train unless a checkpoint with the same method, beta, seed and data already exists."""
    out = checkpoint_dir(cfg, method, beta, seed)
    tc = replace(cfg.base, out=str(out), method=method, beta=beta if beta is not None else 1.0,
                 seed=seed, overwrite=True)
    if (out / META).exists():
        meta = json.loads((out / META).read_text())
        if meta.get("config") == config_dict(tc):
            return out
    return train(tc, store)


def run_experiment(cfg: ExperimentConfig, store) -> list[dict]:
    """Train what is needed, decode with each method, store every run; returns summaries."""
    results = []
    if cfg.most_popular:
        m = finished_most_popular(cfg, store) or evaluate_most_popular(
            cfg.base.data, cfg.split, cfg.base.train_on_valid, cfg.max_users, k=cfg.num_beams, store=store)
        results.append({"method": "most_popular", **m})
    for seed in cfg.seeds:
        if {"bigrec", "d3"} & set(cfg.methods):
            sft = ensure_checkpoint(cfg, "sft", None, seed, store)
            for method in [m for m in ("bigrec", "d3") if m in cfg.methods]:
                m = _eval(cfg, sft, method, 0.0, cfg.split, seed, store)
                results.append({"method": method, "seed": seed, **m})
        if "igd" in cfg.methods:
            beta, alpha = _select(cfg, seed, store)
            ckpt = ensure_checkpoint(cfg, "igd", beta, seed, store)
            m = _eval(cfg, ckpt, "igd", alpha, cfg.split, seed, store)
            results.append({"method": "igd", "seed": seed, "beta": beta, "alpha": alpha, **m})
    return results


def _select(cfg: ExperimentConfig, seed: int, store) -> tuple[float, float]:
    """Beta first (alpha = 0, on valid), then alpha with that beta (on valid)."""
    beta = cfg.betas[0]
    if len(cfg.betas) > 1:
        scores = {b: _eval(cfg, ensure_checkpoint(cfg, "igd", b, seed, store), "igd", 0.0, "valid",
                           seed, store)[SELECT_METRIC] for b in cfg.betas}
        beta = max(cfg.betas, key=lambda b: scores[b])
    alpha = cfg.alphas[0]
    if len(cfg.alphas) > 1:
        ckpt = ensure_checkpoint(cfg, "igd", beta, seed, store)
        scores = {a: _eval(cfg, ckpt, "igd", a, "valid", seed, store)[SELECT_METRIC] for a in cfg.alphas}
        alpha = max(cfg.alphas, key=lambda a: scores[a])
    return beta, alpha


def _eval(cfg: ExperimentConfig, ckpt: Path, method: str, alpha: float, split: str, seed: int,
          store) -> dict:
    if split == "valid" and cfg.base.train_on_valid:
        raise ValueError("with --train-on-valid the valid split trains the model: it cannot select "
                         "beta/alpha; pass single values")
    dc = DecodeConfig(method=method, alpha=alpha, num_beams=cfg.num_beams, batch_size=cfg.batch_size)
    if (done := finished_eval(store, ckpt, dc, split, seed, cfg.max_users)) is not None:
        return done
    return evaluate(ckpt, cfg.base.data, EvalConfig(split=split, max_users=cfg.max_users, decode=dc),
                    store, seed=seed)


def finished_most_popular(cfg: ExperimentConfig, store) -> dict | None:
    """The baseline does not depend on the seed: one complete run per data, split and users."""
    if store is None:
        return None
    dataset = load_dataset(cfg.base.data)
    training = dataset.training_split_name(cfg.base.train_on_valid)
    for r in reversed(store.runs(kind="baseline", split=cfg.split, status="complete")):
        if (r["dataset_fingerprint"] == dataset.fingerprint and r["config"].get("k") == cfg.num_beams
                and r["config"].get("max_users") == cfg.max_users and r["config"].get("training_split") == training):
            return r["metrics"]
    return None


def finished_eval(store, ckpt: Path, dc: DecodeConfig, split: str, seed: int,
                  max_users: int | None) -> dict | None:
    """Metrics of a complete evaluation of this very checkpoint (started after it was last
    written) with the same decoding, split, users and seed: a rerun experiment resumes."""
    if store is None:
        return None
    written = datetime.fromtimestamp((Path(ckpt) / META).stat().st_mtime, timezone.utc)
    alpha = dc.alpha if dc.method == "igd" else None
    for r in reversed(store.runs(kind="eval", decoding=dc.method, split=split, seed=seed, status="complete")):
        same = (r["alpha"] == alpha and Path(r["checkpoint"] or "").resolve() == Path(ckpt).resolve()
                and r["config"].get("max_users") == max_users and r["config"].get("num_beams") == dc.num_beams)
        if same and datetime.fromisoformat(r["started_at"]) >= written.replace(microsecond=0):
            return r["metrics"]
    return None
