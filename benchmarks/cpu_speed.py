"""Benchmark `--dtype auto --threads auto` against today's default (fp32, torch's default
threads) on this CPU, quiet and with the other core busy.

    python benchmarks/cpu_speed.py [--data DIR] [--agreement-users 200] [--speed-users 16]
        [--repeats 3] [--force-bf16] [--profile] [--json]

Workloads, each timed for both settings side by side (order swapped every repeat, medians):
  (a) SmolLM2-135M + LoRA (r 32, alpha 64, q/k/v/o, the paper's recipe): one optimiser step on
      8 real training prompts (the study's micro-batch) of --data (igd.train.prepare and IGDTrainer.compute_loss, as
      `igd train` runs them), in non-padding tokens/s;
  (b) SmolLM2 trie-constrained beam-10 decoding with the prompt cache (igd.decode.recommend_batch,
      D3), --speed-users test prompts in one batch, in s/user;
  (c) the same two for `tiny` (TinyConfig(), compact vocabulary).
The models are as training starts (SmolLM2: the pretrained base, its fresh LoRA adapter adds 0;
tiny: random weights, seed 0): speed does not depend on the weights' values. --data defaults to
the Amazon cds-small sample when it is beside the repository, else MovieLens-100K.
"busy": a second process spins on one core during the timing (what a parallel job does).
Then the top-10 agreement of the two settings' decodings (identical sets of titles) on
--agreement-users test users, for tiny and SmolLM2. Where `auto` resolves to the default's
dtype the decodings are the same computation; --force-bf16 makes the auto side bf16 whatever
the CPU has, to measure what bf16 costs and changes here. --profile prints torch.profiler's
top operators of one SmolLM2 training step and one decode batch (auto setting).
Targets (issue 24): with native bf16 (AVX512-BF16/AMX) training >= 3x and decoding >= 2x; without
it auto no slower than the default; identical top-10 sets for >= 95% of users.
"""

from __future__ import annotations

import argparse, os, statistics, subprocess, sys, time  # noqa: E401
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]

import torch  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.config import DecodeConfig, LoraSettings, TrainConfig  # noqa: E402
from igd.data import evenly_spaced  # noqa: E402
from igd.decode import processor_for, recommend_batch  # noqa: E402
from igd.examples import collate  # noqa: E402
from igd.precision import BF16_FLAGS, auto_threads, cpu_flags, resolve_dtype  # noqa: E402
from igd.templates import prompt_ids_batch  # noqa: E402
from igd.train import IGDTrainer, prepare  # noqa: E402

AMAZON = REPO.parent / "shared" / "data" / "amazon-d3-samples" / "cds-small"
BATCH, BEAMS = 8, 10
TARGETS = {"train_native": 3.0, "decode_native": 2.0, "agreement": 0.95}


class Setting:
    """A (dtype, threads) pair: the default or auto."""

    def __init__(self, name: str, dtype: str, threads: Callable[[], int]):
        self.name, self.dtype, self.threads = name, dtype, threads


class Workload:
    """A model set up for training and decoding in one dtype (LoRA: base weights in that dtype,
    adapter in fp32; full: fp32 weights, bf16 autocast)."""

    def __init__(self, cfg: TrainConfig, dtype: str, users: int):
        self.dtype = dtype
        dataset, _, model, tok, template, ig, _, train_ex, _ = prepare(replace(cfg, dtype=dtype))
        self.model, self.ig, self.pad = model, ig, tok.pad_token_id
        self.batch = collate(tok.pad_token_id)([train_ex[i] for i in range(BATCH)])
        self.tokens = int(self.batch["attention_mask"].sum())
        rows = evenly_spaced(list(dataset.split("test")), users)
        titles = dataset.catalogue.titles
        self.prompts = prompt_ids_batch(tok, template, [[titles[i] for i in s.history] for s in rows])
        params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(params, lr=1e-4)
        args_dir = Path("/tmp") / f"cpu-speed-{id(self)}"
        from transformers import TrainingArguments

        self.trainer = IGDTrainer(model=model, args=TrainingArguments(
            output_dir=str(args_dir), use_cpu=True, report_to=[], remove_unused_columns=False,
            per_device_train_batch_size=BATCH), method=cfg.method, cft_alpha=0.1)

    def train_step(self) -> float:
        self.model.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.dtype == "bf16"):
            loss = self.trainer.compute_loss(self.model, dict(self.batch))
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    def decode(self, prompts) -> list[list[str]]:
        self.model.eval()
        cfg = DecodeConfig("d3", num_beams=BEAMS, batch_size=len(prompts))
        out, _ = recommend_batch(self.model, self.ig, prompts, cfg, self.pad, processor_for(self.ig, cfg))
        return [[r.title for r in recs] for recs in out]


def timed(fn: Callable[[], Any], threads: int) -> float:
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def compare(work: dict[str, Workload], settings: list[Setting], repeats: int, busy: bool) -> dict[str, Any]:
    """Median training tokens/s and decoding s/user of each setting, interleaved."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        time.sleep(1.0 if busy else 0.0)
        threads = {s.name: s.threads() for s in settings}  # auto measures the load now
        for s in settings:  # warm-up
            timed(work[s.dtype].train_step, threads[s.name])
            timed(lambda: work[s.dtype].decode(work[s.dtype].prompts[:2]), threads[s.name])
        runs: dict[str, dict[str, list[float]]] = {s.name: {"train": [], "decode": []} for s in settings}
        for r in range(repeats):
            for s in (settings if r % 2 == 0 else settings[::-1]):
                w = work[s.dtype]
                runs[s.name]["train"].append(w.tokens / timed(w.train_step, threads[s.name]))
                runs[s.name]["decode"].append(timed(lambda: w.decode(w.prompts), threads[s.name]) / len(w.prompts))
    finally:
        if spinner is not None:
            spinner.kill()
    med = statistics.median
    return {s.name: {"threads": threads[s.name], "dtype": s.dtype, "train_tokens_s": med(runs[s.name]["train"]),
                     "decode_s_user": med(runs[s.name]["decode"])} for s in settings}


def agreement(a: Workload, b: Workload, users: int, threads: int) -> dict[str, Any]:
    torch.set_num_threads(threads)
    same, n = 0, min(users, len(a.prompts))
    for i in range(0, n, BATCH):
        prompts = a.prompts[i:min(i + BATCH, n)]
        same += sum(set(x) == set(y) for x, y in zip(a.decode(prompts), b.decode(prompts)))
    return {"users": n, "identical_top10": same, "share": same / n if n else float("nan")}


def profile(w: Workload, threads: int, users: int) -> str:
    from torch.profiler import ProfilerActivity, profile as torch_profile

    torch.set_num_threads(threads)
    tables = []
    for name, fn in (("training step", w.train_step), ("decode batch", lambda: w.decode(w.prompts[:users]))):
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        tables.append(f"-- {name} ({w.dtype}, {threads} threads): top operators by self CPU time\n"
                      + prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))
    return "\n".join(tables)


def run(args: argparse.Namespace) -> dict[str, Any]:
    cores = len(os.sched_getaffinity(0))
    auto_dtype = "bf16" if args.force_bf16 else resolve_dtype("auto", "cpu")
    settings = [Setting("default", "fp32", lambda: cores), Setting("auto", auto_dtype, auto_threads)]
    models = {
        "smollm2": TrainConfig(data=str(args.data), out="", model="smollm2-135m", method="igd", beta=0.2,
                               preamble="official", train_on_valid=args.train_on_valid, category=args.category,
                               lora=LoraSettings(r=32, alpha=64), max_train_rows=BATCH, max_eval_rows=1),
        "tiny": TrainConfig(data=str(args.data), out="", model="tiny", method="igd", beta=0.2,
                            train_on_valid=args.train_on_valid, category=args.category,
                            max_train_rows=BATCH, max_eval_rows=1),
    }
    users = max(args.agreement_users, args.speed_users)
    out: dict[str, Any] = {"cpu_bf16_flags": sorted(cpu_flags() & set(BF16_FLAGS)), "auto_dtype": auto_dtype,
                           "forced_bf16": args.force_bf16, "cores": cores, "models": {}}
    for name, cfg in models.items():
        work = {d: Workload(cfg, d, users) for d in {"fp32", auto_dtype}}
        for w in work.values():
            w.prompts_all, w.prompts = w.prompts, w.prompts[:args.speed_users]
        r = {"train_tokens": work["fp32"].tokens, "quiet": compare(work, settings, args.repeats, busy=False),
             "busy": compare(work, settings, args.repeats, busy=True)}
        for w in work.values():
            w.prompts = w.prompts_all
        n = args.agreement_users if name == "tiny" or auto_dtype != "fp32" else args.speed_users
        r["agreement"] = agreement(work["fp32"], work[auto_dtype], n, auto_threads())
        r["agreement"]["same_dtype"] = auto_dtype == "fp32"
        if args.profile and name == "smollm2":
            r["profile"] = profile(work[auto_dtype], auto_threads(), args.speed_users)
        out["models"][name] = r
    return out


def report(r: dict[str, Any], out: Any) -> None:
    e = r["environment"]
    p = lambda s="": print(s, file=out)  # noqa: E731
    p(f"CPU speed benchmark: `--dtype auto --threads auto` vs the default (fp32, torch's {r['cores']} threads)")
    p(f"env: {e['cpu_model']}, {e['cpu_count']} CPUs, torch {e['torch']}, transformers {e['transformers']}; "
      f"native bf16 flags: {', '.join(r['cpu_bf16_flags']) or 'none'} -> auto dtype {r['auto_dtype']}"
      + (" (forced by --force-bf16)" if r["forced_bf16"] else ""))
    native = bool(r["cpu_bf16_flags"]) or r["forced_bf16"]
    for name, m in r["models"].items():
        p(f"\n{name}: training step of {BATCH} real prompts ({m['train_tokens']} tokens), "
          f"beam-{BEAMS} decoding (D3, prompt cache)")
        p(f"{'condition':<8}{'setting':<9}{'dtype':>6}{'threads':>8}{'train tok/s':>13}{'decode s/user':>15}")
        for cond in ("quiet", "busy"):
            for s in ("default", "auto"):
                x = m[cond][s]
                p(f"{cond:<8}{s:<9}{x['dtype']:>6}{x['threads']:>8}{x['train_tokens_s']:>13.1f}{x['decode_s_user']:>15.3f}")
            d, a = m[cond]["default"], m[cond]["auto"]
            tr, dr = a["train_tokens_s"] / d["train_tokens_s"], d["decode_s_user"] / a["decode_s_user"]
            want = (f">= {TARGETS['train_native']:g}x / >= {TARGETS['decode_native']:g}x" if native else ">= 1x (no slower)")
            p(f"  {cond}: auto vs default: training {tr:.2f}x, decoding {dr:.2f}x (target {want})")
        g = m["agreement"]
        how = " (same dtype: the same computation)" if g["same_dtype"] else ""
        p(f"  identical top-10 sets, default vs auto: {g['identical_top10']}/{g['users']} users "
          f"({g['share']:.1%}; target >= {TARGETS['agreement']:.0%}){how}")
        if "profile" in m:
            p(m["profile"])
    p("\nload average (1/5/15 min) at the end: " + "/".join(f"{x:.2f}" for x in e["loadavg_1_5_15"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=AMAZON if AMAZON.is_dir() else REPO / "data" / "ml-100k")
    ap.add_argument("--agreement-users", type=int, default=200)
    ap.add_argument("--speed-users", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--force-bf16", action="store_true", help="the auto side in bf16 even without native bf16")
    ap.add_argument("--profile", action="store_true", help="torch.profiler tables of SmolLM2 (auto setting)")
    ap.add_argument("--json", action="store_true", help="JSON object on stdout, table on stderr")
    args = ap.parse_args()
    if args.data.name == "ml-100k":
        ensure_data(args.data)
    args.train_on_valid = not (args.data / "train.csv").exists()
    args.category = "movies" if args.data.name == "ml-100k" else "items"
    r = run(args)
    r["environment"] = environment({"threads_auto_at_end": auto_threads()})
    emit(r, report, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
