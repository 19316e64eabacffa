"""Train GRU4Rec, SASRec and LRURec with their defaults and time them.

    python benchmarks/seqrec_time.py DATA_DIR [--seed 0] [--max-users 2000] [--models ...]

One line per model: wall-clock training seconds, epochs run (early stopping included), then
the test-split HR@5/10 and NDCG@5/10 on `--max-users` evenly spread users. Nothing is
recorded in a store; the numbers are whatever this machine and these defaults give.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO)]  # run from anywhere, igd installed or not

from igd.seqrec import MODELS, SeqRecConfig, train_baseline  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="dataset directory (D3 layout)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-users", type=int, default=2000)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--progress", action="store_true", help="tqdm bars on stderr")
    args = parser.parse_args(argv)
    print(f"# {args.data}, seed {args.seed}, {args.max_users} test users, "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"{'model':<8} {'train_s':>8} {'epochs':>6} {'hr@5':>7} {'hr@10':>7} {'ndcg@5':>7} {'ndcg@10':>7}")
    for model in args.models:
        cfg = SeqRecConfig(model=model, data=args.data, seed=args.seed, max_users=args.max_users)
        m = train_baseline(cfg, progress=args.progress)
        print(f"{model:<8} {m['train_seconds']:8.1f} {int(m['epochs']):6d} {m['hr@5']:7.4f} "
              f"{m['hr@10']:7.4f} {m['ndcg@5']:7.4f} {m['ndcg@10']:7.4f}", flush=True)


if __name__ == "__main__":
    main()
