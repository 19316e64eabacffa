"""The cost of the official code's beam stopping: HF `early_stopping=False` (`--beam-stop
official`) against igd's default `fast` (True when the length penalty is 0), side by side on
the same users, and how many top-10 lists differ.

    python benchmarks/beam_stop.py [--models models] [--data data/ml-100k] [--users 256] [--json]

The demo checkpoints (SFT for D3, IGD-tuned for D3 + IGD, alpha 0.2) decode evenly spread test
users in batches of 16 prompts; for each batch the two settings run one after the other in an
order that alternates between batches, so background load hits both alike. `fast` can stop a
prompt's search while a running beam could still have beaten a finished one (in principle), so
the lists are compared title by title.
"""

from __future__ import annotations

import argparse, sys, time  # noqa: E401
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import torch  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.checkpoint import load_checkpoint  # noqa: E402
from igd.config import DecodeConfig  # noqa: E402
from igd.data import evenly_spaced, load_dataset  # noqa: E402
from igd.evaluate import checkpoint_trie, decode_users  # noqa: E402

BATCH, THREADS = 16, 2
ARMS = (("demo-sft", "d3"), ("demo-igd-beta0.2", "igd"))


def measure(models: Path, data: Path, users: int) -> dict[str, Any]:
    dataset = load_dataset(data)
    rows = evenly_spaced(list(dataset.split("test")), users)
    out: dict[str, Any] = {"users": len(rows), "arms": {}}
    for name, decoding in ARMS:
        ck = load_checkpoint(models / name)
        ig = checkpoint_trie(ck, dataset)
        warm = DecodeConfig(decoding, alpha=0.2, num_beams=10, batch_size=BATCH)
        decode_users(ck, ig, dataset, rows[:BATCH], warm, progress=False)  # first-call costs, untimed
        seconds = {"fast": 0.0, "official": 0.0}
        lists: dict[str, list] = {"fast": [], "official": []}
        for b, start in enumerate(range(0, len(rows), BATCH)):
            batch = rows[start:start + BATCH]
            order = ("fast", "official") if b % 2 == 0 else ("official", "fast")
            for stop in order:
                cfg = DecodeConfig(decoding, alpha=0.2, num_beams=10, batch_size=BATCH, beam_stop=stop)
                t0 = time.perf_counter()
                result, _ = decode_users(ck, ig, dataset, batch, cfg, progress=False)
                seconds[stop] += time.perf_counter() - t0
                lists[stop] += [r["items"] for r in result]
        differ = sum(a != b for a, b in zip(lists["fast"], lists["official"]))
        out["arms"][decoding] = {"checkpoint": name, "seconds": seconds, "lists_differ": differ,
                                 "official_over_fast": seconds["official"] / seconds["fast"]}
    return out


def report(r: dict[str, Any], f) -> None:
    print(f"{r['users']} test users, 10 beams, batches of {BATCH}:", file=f)
    for decoding, a in r["arms"].items():
        s = a["seconds"]
        print(f"  {decoding:4} ({a['checkpoint']}): fast {s['fast']:.1f} s, official {s['official']:.1f} s, "
              f"official/fast {a['official_over_fast']:.2f}; top-10 lists that differ: {a['lists_differ']}", file=f)
    print(f"  environment: {r['environment']}", file=f)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=Path, default=REPO / "models")
    p.add_argument("--data", type=Path, default=REPO / "data" / "ml-100k")
    p.add_argument("--users", type=int, default=256)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(THREADS)
    ensure_data(args.data)
    r = measure(args.models, args.data, args.users)
    r["environment"] = environment()
    emit(r, report, args.json)


if __name__ == "__main__":
    main()
