"""Benchmark the app on the embedded demo checkpoints: its first use, and warm comparisons.

    python benchmarks/app_latency.py [--models models] [--data data/ml-100k] [--users 30] [--json]

First use: in a fresh process, the Recommend page's first run as a visitor gets it (AppTest:
the worked example's history decoded by the 4 default arms, from loading the dataset and both
checkpoints to the drawn lists). "served" is what `igd app` gives: it imports torch and
transformers (igd.app_server.preload, timed apart) before the server answers; "cold" is
`streamlit run app/streamlit_app.py` without that. AppTest's own one-time costs are paid on a
one-line script first. Target: served first use < 5 s.

Warm: the app's three-arm comparison (BIGRec + D3 on the SFT checkpoint, IGD-Tuning +
IGD-Decoding on the IGD-tuned one) as the Recommend page runs it, one real test history at a
time (evenly spread), 10 beams, K = 10, the three arms side by side in one call so background
load hits all alike; the first comparison is a warm-up. Target: p90 < 1 s.
"""

from __future__ import annotations

import argparse, json, os, statistics, subprocess, sys, time  # noqa: E401
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import torch  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.compare import compare_arms, load, preset_arms  # noqa: E402
from igd.data import evenly_spaced, load_dataset  # noqa: E402

TARGET_S, FIRST_USE_TARGET_S, THREADS = 1.0, 5.0, 2
APP = REPO / "app" / "streamlit_app.py"


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


def first_use_child(mode: str) -> dict[str, float]:
    """In this fresh process: the Recommend page's first run (see the module docstring)."""
    from streamlit.testing.v1 import AppTest

    AppTest.from_string("import streamlit as st\nst.write('warm')").run()  # AppTest's own first costs
    preload_s = 0.0
    if mode == "served":
        from igd.app_server import preload

        preload_s = preload()
    at = AppTest.from_file(str(APP), default_timeout=600)
    t0 = time.perf_counter()
    at.run()
    first = time.perf_counter() - t0
    if at.exception or "comparison" not in at.session_state:
        raise SystemExit(f"the Recommend page did not show the worked example: {at.exception}")
    return {"preload_s": preload_s, "first_use_s": first,
            "arms": len(at.session_state["comparison"]["result"].sides)}


def first_use(models: Path, data: Path) -> dict[str, dict[str, float]]:
    env = {**os.environ, "IGD_MODELS": str(models), "IGD_DATA": str(data), "IGD_RUNS_DB": str(models / "runs.db")}
    out = {}
    for mode in ("cold", "served"):
        run = subprocess.run([sys.executable, __file__, "--first-use-child", mode], env=env, check=True,
                             capture_output=True, text=True)
        out[mode] = json.loads(run.stdout.strip().splitlines()[-1])
    return out


def report(r: dict[str, Any], out) -> None:
    e = r["environment"]
    f, c = r["first_use"]["served"], r["first_use"]["cold"]
    lines = [f"App first use on {r['models']} with {r['data']} (Recommend page, worked example, "
             f"{f['arms']} arms, fresh processes):",
             f"  served (`igd app`): {f['first_use_s']:.2f} s, after the server's {f['preload_s']:.1f} s of imports "
             f"before it answers (target < {FIRST_USE_TARGET_S:g} s: "
             f"{'MET' if f['first_use_s'] < FIRST_USE_TARGET_S else 'NOT MET'})",
             f"  cold (`streamlit run`, nothing imported): {c['first_use_s']:.2f} s",
             f"  ratio served / cold: {f['first_use_s'] / c['first_use_s']:.2f}",
             f"App three-way comparison (BIGRec, D3, IGD) on {r['models']} with {r['data']}: "
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
    ap.add_argument("--first-use-child", choices=("cold", "served"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.first_use_child:
        print(json.dumps(first_use_child(args.first_use_child)))
        return 0
    if not (args.models / "demo-sft").exists():
        ap.error(f"{args.models}/demo-sft is missing: run `igd demo-models`")
    torch.set_num_threads(THREADS)
    ensure_data(args.data)
    load_start = os.getloadavg()
    first = first_use(args.models, args.data)
    with torch.no_grad():
        r = measure(args.models, args.data, args.users)
    r |= {"first_use": first, "models": str(args.models), "data": str(args.data), "loadavg_start": load_start,
          "environment": environment()}
    emit(r, report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
