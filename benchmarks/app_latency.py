"""Benchmark the app's three-way comparison (BIGRec + D3 on the SFT checkpoint, IGD on the
IGD-tuned one) on the embedded demo checkpoints, as the Recommend page runs it: one history at
a time, 10 beams, K = 10. Target: under 3 s per comparison on the CPU.

    python benchmarks/app_latency.py [--models models] [--data data/ml-100k] [--users 30] [--json]

Histories are real test users' (evenly spread). The first comparison (first-call costs) is a
warm-up and not counted; loading the checkpoints and building their tries (what
`st.cache_resource` keeps) is timed separately. Per comparison, the three methods run side by
side in one call, so background load hits all alike.
"""

from __future__ import annotations

import argparse, os, statistics, sys, time  # noqa: E401
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import torch  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.compare import compare_arms, load, preset_arms  # noqa: E402
from igd.data import evenly_spaced, load_dataset  # noqa: E402

TARGET_S, THREADS = 3.0, 2


def measure(models: Path, data: Path, users: int) -> dict[str, Any]:
    dataset = load_dataset(data)
    t0 = time.perf_counter()
    sft, igd = load(models / "demo-sft", dataset), load(models / "demo-igd-beta0.2", dataset)
    load_s = time.perf_counter() - t0
    titles = dataset.catalogue.titles
    rows = evenly_spaced(list(dataset.split("test")), users + 1)
    histories = [[titles[i] for i in r.history] for r in rows]
    arms = preset_arms(("BIGRec", "D3", "IGD-Tuning + IGD-Decoding"), sft, igd, alpha=0.2)
    compare_arms(arms, histories[0])  # warm-up
    totals, per_method = [], {a.label: [] for a in arms}
    for history in histories[1:]:
        result = compare_arms(arms, history, k=10, beams=10)
        totals.append(result.seconds)
        for m, side in result.sides.items():
            per_method[m].append(side.seconds)
    q = lambda xs, p: sorted(xs)[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
    return {"load_s": load_s, "comparisons": len(totals), "median_s": statistics.median(totals),
            "p90_s": q(totals, 0.9), "max_s": max(totals),
            "per_method_median_s": {m: statistics.median(v) for m, v in per_method.items()},
            "target_s": TARGET_S, "target_met": q(totals, 0.9) < TARGET_S}


def report(r: dict[str, Any], out) -> None:
    e = r["environment"]
    lines = [f"App three-way comparison (BIGRec, D3, IGD) on {r['models']} with {r['data']}: "
             f"{r['comparisons']} real test histories, 10 beams, K = 10",
             f"env: python {e['python']}, torch {e['torch']}, {e['cpu_count']} CPUs ({e['cpu_model']}), "
             f"torch threads {e['torch_threads']}, load average at end "
             + "/".join(f"{x:.2f}" for x in e["loadavg_1_5_15"]),
             f"  load both checkpoints + build their IG tries (cached by the app): {r['load_s']:.1f} s",
             f"  per comparison: median {r['median_s']:.3f} s, p90 {r['p90_s']:.3f} s, max {r['max_s']:.3f} s "
             f"(target < {r['target_s']:g} s at p90: {'MET' if r['target_met'] else 'NOT MET'})",
             "  per method (median): " + ", ".join(f"{m} {s:.3f} s" for m, s in r["per_method_median_s"].items()),
             f"  ratio p90 / target: {r['p90_s'] / r['target_s']:.2f}"]
    print("\n".join(lines), file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", type=Path, default=REPO / "models")
    ap.add_argument("--data", type=Path, default=REPO / "data" / "ml-100k")
    ap.add_argument("--users", type=int, default=30)
    ap.add_argument("--json", action="store_true", help="JSON object on stdout, table on stderr")
    args = ap.parse_args()
    if not (args.models / "demo-sft").exists():
        ap.error(f"{args.models}/demo-sft is missing: run `igd demo-models`")
    torch.set_num_threads(THREADS)
    ensure_data(args.data)
    load_start = os.getloadavg()
    with torch.no_grad():
        r = measure(args.models, args.data, args.users)
    r |= {"models": str(args.models), "data": str(args.data), "loadavg_start": load_start,
          "environment": environment()}
    emit(r, report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
