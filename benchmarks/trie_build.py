"""Benchmark the IG trie: build over the union of the shared Amazon catalogues, and the
per-step lookups of constrained decoding; igd's vectorised arrays vs. a per-node dict trie
(benchmarks/naive_trie.py), which must give the same IG on every path.

    python benchmarks/trie_build.py [--data-root DIR] [--json] [--repeats 3] [--reps 200]

Every measured build runs in a fresh child process (this script with --child), because the
RSS high-water mark only rises: the child takes its baseline after imports, data and
tokenizer loading, then resets the mark (/proc/self/clear_refs, Linux) before building.
"""

from __future__ import annotations

import argparse, gc, json, statistics, subprocess, sys, time  # noqa: E401
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]  # run from anywhere, igd installed or not

import numpy as np  # noqa: E402

from common import emit, environment  # noqa: E402
from igd.data import Catalogue, load_dataset, read_info  # noqa: E402
from igd.info_gain import IGTrie, build_ig_trie, title_counts  # noqa: E402
from igd.templates import Template  # noqa: E402
from igd.tokenization import load_tokenizer  # noqa: E402
from naive_trie import NaiveIGTrie, same_allowed, verify_paths  # noqa: E402

DEFAULT_ROOT = REPO.parent / "shared" / "data" / "amazon-d3-samples"
TOKENIZER, TARGET_S, TARGET_MB, BEAMS = "qwen2.5", 5.0, 300.0, 160  # 16 prompts x 10 beams
KINDS = ("vectorised", "naive")


def load_inputs(root: Path) -> tuple[tuple[str, ...], Counter[str]]:
    """Union of the distinct titles of every info.txt (folders sorted, first-seen order) and
    the target-title counts over every valid.csv (folders without rows add titles only)."""
    titles: dict[str, None] = {}
    counts: Counter[str] = Counter()
    for folder in sorted(p for p in root.iterdir() if (p / "info.txt").is_file()):
        if (folder / "valid.csv").is_file():
            ds = load_dataset(folder)
            catalogue = ds.catalogue
            counts.update(title_counts(ds.split("valid"), catalogue))
        else:  # toys-info-only: load_dataset rejects a folder without any split
            catalogue = read_info(folder / "info.txt")[0]
        titles.update(dict.fromkeys(catalogue.distinct_titles))
    return tuple(titles), counts


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":")) / 1024


def child(kind: str, root: Path, trace: bool) -> dict[str, Any]:
    """One measured build in this fresh process; returns its numbers."""
    titles, counts = load_inputs(root)
    t0 = time.perf_counter()
    tok = load_tokenizer(TOKENIZER)
    load_s = time.perf_counter() - t0
    gc.collect()
    base, reset = _status_mb("VmRSS"), True
    try:  # VmHWM (and ru_maxrss) := current RSS, so data loading's transient peak is forgotten
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not resettable here: the peak below may then include data loading's
        reset = False
    if trace:  # separate run: tracemalloc slows allocation-heavy code several-fold
        tracemalloc.start()
    t0 = time.perf_counter()
    if kind == "vectorised":
        built: Any = build_ig_trie(Catalogue(titles), counts, tok, Template())
    else:
        built = NaiveIGTrie(titles, counts, tok, Template())
    seconds = time.perf_counter() - t0
    out = {"tokenizer_load_s": load_s, "build_s": seconds, "baseline_rss_mb": base,
           "hwm_reset": reset, "peak_rss_increase_mb": _status_mb("VmHWM") - base,
           "retained_rss_mb": _status_mb("VmRSS") - base}
    if trace:
        current, peak = tracemalloc.get_traced_memory()
        out |= {"tracemalloc_peak_mb": peak / 2**20, "tracemalloc_retained_mb": current / 2**20}
    del built
    return out


def run_child(kind: str, root: Path, trace: bool = False) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", kind, "--data-root", str(root)]
    proc = subprocess.run(cmd + ["--tracemalloc"] * trace, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"child build ({kind}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_builds(root: Path, repeats: int) -> dict[str, dict[str, Any]]:
    # Interleaved, so that background load on a shared machine hits both kinds alike.
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    for _ in range(repeats):
        for kind in KINDS:
            runs[kind].append(run_child(kind, root))
    median, res = statistics.median, {}
    agg = {"build_s": median, "tokenizer_load_s": median, "baseline_rss_mb": median,
           "peak_rss_increase_mb": max, "retained_rss_mb": median, "hwm_reset": all}
    for kind in KINDS:
        res[kind] = {key: f([r[key] for r in runs[kind]]) for key, f in agg.items()}
        res[kind]["build_s_runs"] = [r["build_s"] for r in runs[kind]]
        traced = run_child(kind, root, trace=True)
        res[kind] |= {k: traced[k] for k in ("tracemalloc_peak_mb", "tracemalloc_retained_mb")}
    return res


def median_us(fn: Callable[[], object], reps: int) -> float:
    fn()  # warm-up: first-call costs (imports, caches) are not the per-step cost
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e3


def measure_lookups(ig: IGTrie, naive: NaiveIGTrie, seed: int, reps: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    trie = ig.trie
    seqs = rng.integers(0, trie.n_sequences, BEAMS)
    # Prefix lengths 0..len-1: a decoding beam never asks for children after EOS, and every
    # such prefix has a next token for the incremental step. Row 0 is the empty prefix.
    lengths = rng.integers(0, trie.lengths[seqs])
    lengths[0] = 0
    full = [trie.edge_token[trie.path(s) - 1] for s in seqs]
    prefixes = [f[:n].tolist() for f, n in zip(full, lengths)]
    padded = np.full((BEAMS, int(lengths.max())), -1, dtype=np.int64)
    for i, p in enumerate(prefixes):
        padded[i, : len(p)] = p
    next_tok = np.array([f[n] for f, n in zip(full, lengths)], dtype=np.int64)
    next_list = next_tok.tolist()
    nodes, n_nodes = trie.walk(padded), naive.walk(prefixes)
    nxt, n_nxt = trie.step(nodes, next_tok), naive.step(n_nodes, next_list)
    ok_walk = same_allowed(ig.allowed(nodes), naive.allowed(n_nodes))
    ok_step = same_allowed(ig.allowed(nxt), naive.allowed(n_nxt))
    assert ok_walk and ok_step, "vectorised and naive tries disagree on allowed tokens"
    cases = {
        "walk": (lambda: trie.walk(padded), lambda: naive.walk(prefixes)),
        "allowed": (lambda: ig.allowed(nodes), lambda: naive.allowed(n_nodes)),
        "walk+allowed": (lambda: ig.allowed(trie.walk(padded)),
                         lambda: naive.allowed(naive.walk(prefixes))),
        "step": (lambda: trie.step(nodes, next_tok), lambda: naive.step(n_nodes, next_list)),
        "allowed(next)": (lambda: ig.allowed(nxt), lambda: naive.allowed(n_nxt)),
        "step+allowed": (lambda: ig.allowed(trie.step(nodes, next_tok)),
                         lambda: naive.allowed(naive.step(n_nodes, next_list)))}
    timings = {name: {"vectorised_us": median_us(v, reps), "naive_us": median_us(n, reps)}
               for name, (v, n) in cases.items()}
    for t in timings.values():
        t["ratio_naive_over_vectorised"] = t["naive_us"] / t["vectorised_us"]
    return {"beams": BEAMS, "reps": reps, "seed": seed, "timings_us": timings,
            "prefix_len_mean": float(lengths.mean()), "prefix_len_max": int(lengths.max()),
            "allowed_per_beam_mean": len(ig.allowed(nodes)[0]) / BEAMS,
            "allowed_sets_equal": {"walk": ok_walk, "step": ok_step}}


def report(r: dict[str, Any], out: Any) -> None:
    v, n, e = r["builds"]["vectorised"], r["builds"]["naive"], r["environment"]
    lines: list[str] = []
    p = lines.append
    p(f"IG trie benchmark: {r['titles']:,} titles (union of {r['folders']} info.txt), "
      f"{r['targets']:,} valid targets on {r['seen_titles']:,} titles, tokenizer {TOKENIZER}")
    p(f"env: python {e['python']}, numpy {e['numpy']}, tokenizers {e['tokenizers']}, "
      f"{e['cpu_count']} CPUs ({e['cpu_model']}), {e['platform']}, load average at end "
      + "/".join(f"{x:.2f}" for x in e["loadavg_1_5_15"]))
    p(f"tokenizer load (excluded from builds), median of {len(v['build_s_runs'])} fresh "
      f"processes: {v['tokenizer_load_s']:.2f} s")
    p("memory: RSS = VmHWM - VmRSS baseline after imports+data+tokenizer (HWM reset: "
      f"{v['hwm_reset'] and n['hwm_reset']}), worst run, can miss reuse of memory freed "
      "before the baseline;\n        tracemalloc = Python/numpy heap only (not Rust), own run")
    cols = f"{'vectorised':>12}{'naive dict':>12}{'naive/vec':>11}"
    p(f"\n{'build (fresh process per run)':<32}{cols}")
    for label, key in [("time, median [s]", "build_s"), ("peak RSS increase [MB]",
                       "peak_rss_increase_mb"), ("RSS retained [MB]", "retained_rss_mb"),
                       ("tracemalloc peak [MB]", "tracemalloc_peak_mb"),
                       ("tracemalloc retained [MB]", "tracemalloc_retained_mb")]:
        fmt = ".2f" if key == "build_s" else ".1f"
        p(f"{label:<32}{v[key]:>12{fmt}}{n[key]:>12{fmt}}{n[key] / v[key]:>10.1f}x")
    p(f"{'  each run [s]':<20}" + "".join(f"{' '.join(f'{t:.2f}' for t in x['build_s_runs']):>24}"
                                         for x in (v, n)))
    p(f"{'trie nodes':<32}{r['nodes']:>12,}{r['nodes']:>12,}")
    t = r["targets_met"]
    p(f"targets: time < {TARGET_S:g} s: {'MET' if t['time'] else 'NOT MET'}; peak < "
      f"{TARGET_MB:g} MB (RSS and tracemalloc): {'MET' if t['memory'] else 'NOT MET'}")
    p(f"IG paths identical for all {r['titles']:,} titles (max |diff| {r['max_ig_diff']:.1e})")
    lk = r["lookups"]
    head = f"lookup, {BEAMS} beams [us, median]"
    p(f"\n{head:<32}{cols}")
    for name, tm in lk["timings_us"].items():
        p(f"{name:<32}{tm['vectorised_us']:>12.1f}{tm['naive_us']:>12.1f}"
          f"{tm['ratio_naive_over_vectorised']:>10.1f}x")
    p(f"{lk['reps']} reps; prefix length mean {lk['prefix_len_mean']:.1f}, "
      f"max {lk['prefix_len_max']}; "
      f"{lk['allowed_per_beam_mean']:.1f} allowed tokens/beam; allowed sets equal: "
      f"{lk['allowed_sets_equal']}")
    print("\n".join(lines), file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--json", action="store_true", help="JSON object on stdout, table on stderr")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reps", type=int, default=200, help="repetitions per lookup timing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    root = args.data_root.resolve()
    if args.child:
        print(json.dumps(child(args.child, root, args.tracemalloc)))
        return 0
    if not root.is_dir():
        msg = f"skipped: no data at {root} (pass --data-root DIR)"
        print(json.dumps({"skipped": True, "reason": msg}) if args.json else msg)
        return 0
    titles, counts = load_inputs(root)
    builds = measure_builds(root, args.repeats)
    tok = load_tokenizer(TOKENIZER)
    ig = build_ig_trie(Catalogue(titles), counts, tok, Template())
    naive = NaiveIGTrie(titles, counts, tok, Template())
    v = builds["vectorised"]
    r = {"data_root": str(root), "folders": sum((p / "info.txt").is_file() for p in root.iterdir()),
         "titles": len(titles), "targets": sum(counts.values()), "seen_titles": len(counts),
         "nodes": ig.trie.n_nodes, "environment": environment(), "builds": builds,
         "ratio_time_naive_over_vectorised": builds["naive"]["build_s"] / v["build_s"],
         "targets_met": {"time": v["build_s"] < TARGET_S, "memory": max(
             v["peak_rss_increase_mb"], v["tracemalloc_peak_mb"]) < TARGET_MB},
         "max_ig_diff": verify_paths(ig, naive, titles),
         "lookups": measure_lookups(ig, naive, args.seed, args.reps)}
    emit(r, report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
