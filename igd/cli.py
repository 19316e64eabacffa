"""The `igd` command line: a thin shell over the library (one function per command)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Callable, Sequence

from igd.cli_config import resolve_option, train_config
from igd.config import ConfigError, DecodeConfig, EvalConfig, TrainConfig, default
from igd.experiment_config import ExperimentConfig
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

    dataset = load_dataset(args.data, items=args.items)
    unseen = resolve_option(args, "unseen", default(TrainConfig, "unseen"))
    tokenizer, style = load_tokenizer(args.tokenizer), args.style
    if args.items == "sid":  # code tokens, one per (level, code); targets are codes + EOS
        from igd.sid_tokens import SidTokenizer

        tokenizer, style = SidTokenizer.for_ids(tokenizer, dataset.catalogue.titles), "codes"
    stats = dataset_stats(dataset, tokenizer, Template(style=style),
                          StatsConfig(train_on_valid=args.train_on_valid, unseen=unseen,
                                      decisiveness=args.decisiveness))
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def _store(args: argparse.Namespace):
    """The run store of a command that writes runs (None for --db ''), opened before any work,
    so a bad store is refused at once; writing opens migrate it, and starting a run reaps."""
    from igd.store import RunStore

    return RunStore(args.db) if args.db else None


def cmd_train(args: argparse.Namespace) -> int:
    from igd.train import train

    path = train(train_config(args), _store(args))
    print(f"checkpoint: {path}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from igd.evaluate import evaluate

    cfg = EvalConfig(split=args.split, max_users=args.max_users, unseen=resolve_option(args, "unseen", None),
                     decisiveness=args.decisiveness,
                     decode=DecodeConfig(method=args.decoding, alpha=args.alpha, num_beams=args.beams,
                                         batch_size=args.batch_size, dtype=args.dtype,
                                         beam_stop=resolve_option(args, "beam_stop", default(DecodeConfig, "beam_stop"))))
    metrics = evaluate(args.checkpoint, args.data, cfg, _store(args), seed=args.seed)
    if metrics:  # only the main process prints
        print(json.dumps(metrics, indent=2))
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from igd.checkpoint import load_checkpoint, read_meta
    from igd.data import load_dataset
    from igd.decode import explain, recommend_batch
    from igd.evaluate import checkpoint_items, checkpoint_trie
    from igd.sid_view import history_keys, item_labels
    from igd.templates import prompt_ids

    # Options and the history are checked before the checkpoint loads (seconds for a big model).
    cfg = DecodeConfig(method=args.decoding, alpha=args.alpha, num_beams=args.beams, batch_size=1, dtype=args.dtype,
                       beam_stop=resolve_option(args, "beam_stop", default(DecodeConfig, "beam_stop")))
    # A semantic-ID checkpoint reads the dataset's IDs; titles given by the user become IDs.
    dataset = load_dataset(args.data, items=checkpoint_items(read_meta(Path(args.checkpoint))))
    shown = item_labels(dataset.catalogue)  # "title · ID" for semantic IDs
    if args.user_index is not None:
        rows = dataset.split(args.split)
        if not 0 <= args.user_index < len(rows):
            raise ValueError(f"--user-index {args.user_index}: {args.split}.csv has no such row. Fix: pass a row "
                             f"in 0..{len(rows) - 1}")
        sample = rows[args.user_index]
        history = [dataset.catalogue.titles[i] for i in sample.history]
        target = dataset.catalogue.titles[sample.target]
        print(f"next item in {args.split}.csv: {shown.get(target, target)}")
    else:
        args.history, notes = history_keys(args.history, dataset.catalogue)
        for note in notes:
            print(f"note: {note}")
        unknown = [t for t in args.history if t not in dataset.catalogue.title_to_ids]
        if unknown:
            raise ValueError(f"--history: {unknown[0]!r} is not in the catalogue. Fix: use exact titles from "
                             f"{Path(args.data) / 'info.txt'}")
        history = list(args.history)
    if args.explain_title is not None and not args.explain:
        raise ValueError(f"--explain-title {shlex.quote(args.explain_title)}: shows a title's token path, which "
                         "only --explain prints. Fix: add --explain")
    if args.explain_title is not None:
        args.explain_title = history_keys([args.explain_title], dataset.catalogue)[0][0]
    if args.explain_title is not None and args.explain_title not in dataset.catalogue.title_to_ids:
        raise ValueError(f"--explain-title {args.explain_title!r}: not a catalogue title. Fix: use an exact title "
                         f"from {Path(args.data) / 'info.txt'}")
    ck = load_checkpoint(args.checkpoint, dtype=args.dtype)
    ig = checkpoint_trie(ck, dataset)
    prompt = prompt_ids(ck.tokenizer, ck.template, history)
    [recs], _ = recommend_batch(ck.model, ig, [prompt], cfg, ck.tokenizer.pad_token_id)
    for i, rec in enumerate(recs, start=1):
        print(f"{i:>3}  {rec.score:9.4f}  {shown.get(rec.title, rec.title)}")
    if args.explain and recs:
        title = args.explain_title or recs[0].title
        which = "#1" if args.explain_title is None else repr(title)
        print(f"\ntoken path of {which} ({args.decoding}, alpha {cfg.effective_alpha:g}):")
        print("  token                 log p      IG     IG~  weight  candidates")
        steps = explain(ck.model, ig, prompt, title, cfg.effective_alpha)
        for st in steps:
            text = ck.tokenizer.decode([st.token_id]) or "<eos>"
            print(f"  {text!r:20} {st.logprob:7.3f} {st.ig:7.4f} {st.ig_norm:7.3f} {st.weight:7.3f}  {len(st.candidates)}")
        # Eq. 3, 8: sum of w_d log p_d over len ** length penalty, the beam score of the title
        print(f"  beam score {sum(st.score for st in steps) / len(steps) ** cfg.spec.length_penalty:.4f}")
    return 0


def cmd_slim(args: argparse.Namespace) -> int:
    from igd.store import RunStore

    path = Path(args.db)
    if not path.is_file():
        raise ValueError(f"--db {args.db!r}: no such store. Fix: pass the SQLite file igd experiment --db wrote")
    RunStore(path, readonly=True).close()  # an empty or foreign file is refused, not turned into a store
    before = path.stat().st_size
    n = RunStore(path).slim_predictions()
    print(f"{path}: top-k lists dropped from {n:,} predictions (ranks kept); {before / 2**20:.1f} MB -> "
          f"{path.stat().st_size / 2**20:.1f} MB")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from igd.store import RunStore, format_runs

    metrics = tuple(m.strip() for m in args.metrics.split(",") if m.strip())
    if not metrics:
        raise ValueError(f"--metrics {shlex.quote(args.metrics)}: no metric named. Fix: pass a comma list "
                         "such as hr@10,ndcg@10")
    # Listing never writes: read-only, so no WAL switch, migration or reaping; a run whose
    # process died shows as 'running (dead pid)' until a writer marks it failed.
    store = RunStore(args.db, readonly=True)
    try:
        rows = store.runs(dataset=args.dataset, model=args.model, kind=args.kind, status=args.status,
                          decoding=args.decoding, train_method=args.train_method, arm=args.arm)
    finally:
        store.close()
    print(json.dumps(rows, indent=2, default=str) if args.json else format_runs(rows, metrics))
    return 0


def cmd_sid_build(args: argparse.Namespace) -> int:
    from igd.sid_build import SidConfig, build_sids, format_report

    report = build_sids(SidConfig(str(args.data), str(args.out), args.levels, args.codes, args.method, args.seed))
    print(format_report(report))
    print(f"wrote {args.out} (MiniOneRec layout)")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from igd.report import build_report
    from igd.report_output import check_output
    from igd.store import RunStore

    for db in args.db:
        if not Path(db).is_file():
            raise FileNotFoundError(f"--db {shlex.quote(str(db))}: no run store there. Fix: pass the store "
                                    "`igd experiment --db` wrote (e.g. study/ml-100k-paper.db)")
    check_output(args.out)  # before any work: never a file igd did not write (igd.report_output)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    stores = [RunStore(db, readonly=True) for db in args.db]  # a report never writes a store
    try:
        if not any(r["status"] == "complete" and r["split"] == "test" for store in stores for r in store.runs()):
            raise ValueError(f"--db {' '.join(shlex.quote(str(db)) for db in args.db)}: no complete run on the test "
                             "split, so there is nothing to report. Fix: let `igd experiment` (or `igd evaluate "
                             "--split test`) finish first; `igd runs` lists what is stored (nothing was written)")
        command = " ".join(["igd report", *(f"--db {shlex.quote(str(db))}" for db in args.db),
                            f"--out {shlex.quote(str(args.out))}"]) + (
            f" --title {shlex.quote(args.title)}" if args.title != "igd report" else "")
        files = build_report(stores, args.out, args.title, command)
    finally:
        for store in stores:
            store.close()
    print(f"wrote {files[0]} and {len(files) - 1} figure(s) in {files[0].with_name(files[0].stem + '-figures')}")
    return 0


def cmd_experiment(args: argparse.Namespace) -> int:
    from igd.experiment import run_experiment
    from igd.store import RunStore, format_runs

    def floats(name: str) -> tuple[float, ...] | None:
        text = resolve_option(args, name, None)
        return None if text is None else tuple(_list(text, float))

    cfg = ExperimentConfig(
        base=train_config(args, out="", beta=1.0, history_titles=False), history_titles=args.history_titles,
        methods=tuple(_list(args.methods, str)),
        seeds=tuple(_list(args.seeds, int)), betas=floats("beta") or default(ExperimentConfig, "betas"),
        alphas=floats("alpha") or default(ExperimentConfig, "alphas"), pos_betas=floats("pos_beta"),
        cft_betas=floats("cft_beta"), linear_betas=floats("linear_beta"),
        select_metric=resolve_option(args, "select_metric", default(ExperimentConfig, "select_metric")),
        select_users=args.select_users, select_seed=args.select_seed, out_dir=str(args.out_dir),
        split=args.split, max_users=args.max_users, num_beams=args.beams, batch_size=args.decode_batch_size,
        beam_stop=resolve_option(args, "beam_stop", default(ExperimentConfig, "beam_stop")))
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
    from igd.data import dataset_intact

    # Rebuild unless igd_dataset.json is there and every file matches it: a build killed
    # part-way, or files changed since, never reach the app.
    if data.name == "ml-100k" and not dataset_intact(data):
        from igd.movielens import build_movielens

        print(f"igd app: building MovieLens-100K into {data} first (about 20 s, once)", file=sys.stderr)
        build_movielens(data)
    env = {**os.environ, "IGD_DATA": str(data)}
    env.update({k: str(v) for k, v in (("IGD_MODELS", args.models), ("IGD_RUNS_DB", args.runs)) if v})
    env.update(IGD_DTYPE=args.dtype, IGD_THREADS=str(args.threads))  # the app's decoding (app/ui.py)
    cmd = [sys.executable, "-m", "igd.app_server", "run", str(script), "--server.port", str(args.port),
           "--server.address", args.address, "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    if args.hosted:  # a public deployment (the Space's CMD): app/hosting.py says what changes
        env["IGD_HOSTED"] = "1"
        # "none": in Streamlit "false" still shows tracebacks. 2 MB of widget state per rerun:
        # the pasted history's 100,000 characters (max_chars) fit; a bigger crafted message is refused.
        cmd += ["--client.showErrorDetails", "none", "--server.maxWidgetStateSize", "2"]
    return _serve(cmd, env)


def _serve(cmd: list[str], env: dict[str, str]) -> int:
    """Run the server and stop it with us: `docker stop` (the Space's CMD is `igd app`) and test
    harnesses send SIGTERM to igd only, and an unforwarded signal left streamlit running."""
    import signal
    import subprocess

    stopping = []

    def stop(signum, frame) -> None:
        stopping.append(signum)
        proc.terminate()

    with subprocess.Popen(cmd, env=env) as proc:
        previous = signal.signal(signal.SIGTERM, stop)
        try:
            code = proc.wait()
            # A SIGTERM that reaches streamlit before it has installed its own handler (the
            # first second of its start) kills it by the signal: the stop we asked for, not a failure.
            return 0 if stopping and code == -signal.SIGTERM else code
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


def build_parser() -> argparse.ArgumentParser:
    from igd.cli_parser import build_parser as build

    return build({name[4:].replace("_", "-"): f for name, f in globals().items() if name.startswith("cmd_")})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        if args.command != "app" and getattr(args, "threads", None) is not None:
            from igd.precision import apply_threads

            apply_threads(args.threads)  # before any torch work; the app's server sets its own
        return func(args)
    except ConfigError as err:  # a config field: name the option that set it
        from igd.cli_parser import option_for

        value = ",".join(map(str, err.value)) if isinstance(err.value, (list, tuple)) else str(err.value)
        print(f"igd {args.command}: error: {option_for(err.owner, err.field)} {shlex.quote(value)}: "
              f"{err.problem}. Fix: {err.fix}", file=sys.stderr)
        return 2
    except (DataError, ValueError, FileNotFoundError) as err:
        print(f"igd {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `igd stats ... | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
