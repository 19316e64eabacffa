"""Benchmark the shared prompt prefill of igd's beam search (`igd.decode.prompt_cache`) against
HF's plain beam search, which expands every prompt to `beams` copies before running it; and
keeping the prompt once in the cache for all its beams (`igd.prompt_sharing`, the default)
against copying it to every beam, which HF then copies again at every step (cat + reorder).

    python benchmarks/prefill.py [--data DIR] [--checkpoint CKPT] [--json] [--repeats 5]

Workload: `recommend_batch` exactly as `igd evaluate` calls it (trie-constrained IGD decoding,
alpha 0.2, 10 beams, 16 real MovieLens-100K test prompts per call, max_new_tokens = the
longest title). The model is a trained checkpoint when --checkpoint is given, else `tiny`
(default TinyConfig, seed 0, randomly initialised) with the trie `igd train` would build.

Before anything is timed, all paths must return the same titles for every prompt and scores
within 1e-4. Timings: one warm-up, then repeats with the two paths side by side (order swapped
every repeat, so background load hits both alike); medians and their ratio.
"""

from __future__ import annotations

import argparse, statistics, sys, time  # noqa: E401
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]  # run from anywhere, igd installed or not

import torch  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.data import evenly_spaced, load_dataset  # noqa: E402
from igd.decode import DecodeConfig, processor_for, recommend_batch  # noqa: E402
from igd.templates import prompt_ids_batch  # noqa: E402

PROMPTS, BEAMS, ALPHA, THREADS = 16, 10, 0.2, 2
PATHS = {"plain": "HF plain beam search (each prompt prefilled once per beam)",
         "shared": "igd prompt_cache, prompt copied to every beam",
         "kept_once": "igd prompt_cache, prompt kept once (igd.prompt_sharing)"}


def setup(data: Path, checkpoint: Path | None):
    """(model, IG trie, prompts, pad id, what the model is)."""
    dataset = load_dataset(data)
    rows = evenly_spaced(list(dataset.splits["test"]), PROMPTS)
    if checkpoint is not None:
        from igd.checkpoint import load_checkpoint
        from igd.evaluate import checkpoint_trie

        ck = load_checkpoint(checkpoint)
        model, tok, template, ig, what = ck.model, ck.tokenizer, ck.template, checkpoint_trie(ck, dataset), str(checkpoint)
    else:
        from igd.info_gain import build_ig_trie, title_counts
        from igd.models import TinyConfig, build_tiny, compact_vocabulary
        from igd.tokenization import load_tokenizer
        from igd.train import TrainConfig, split_rows, vocabulary_texts

        config = TrainConfig(data=str(data), out="", category="movies")
        template = config.template()
        tok = compact_vocabulary(load_tokenizer("qwen2.5"), vocabulary_texts(dataset, template))
        model = build_tiny(tok.vocab_size, TinyConfig(), tok, seed=0).eval()
        _, train_rows, _ = split_rows(dataset, False)
        ig = build_ig_trie(dataset.catalogue, title_counts(train_rows, dataset.catalogue), tok, template)
        what = "tiny, randomly initialised (seed 0)"
    titles = dataset.catalogue.titles
    prompts = prompt_ids_batch(tok, template, [[titles[i] for i in s.history] for s in rows])
    return model, ig, prompts, tok.pad_token_id, what


def run(data: Path, checkpoint: Path | None, repeats: int) -> dict[str, Any]:
    torch.set_num_threads(THREADS)
    model, ig, prompts, pad, what = setup(data, checkpoint)
    cfg = DecodeConfig("igd", ALPHA, BEAMS, PROMPTS)
    processor = processor_for(ig, cfg)

    def decode(path: str):
        t0 = time.perf_counter()
        out, invalid = recommend_batch(model, ig, prompts, cfg, pad, processor, shared_prefill=path != "plain",
                                       share_prompt=path == "kept_once")
        return time.perf_counter() - t0, out, invalid

    results = {p: decode(p) for p in PATHS}  # warm-up, and the equality check
    _, plain, bad_plain = results["plain"]
    same_titles, max_diff = True, 0.0
    for p in ("shared", "kept_once"):
        _, other, bad = results[p]
        same_titles &= bad == bad_plain and all([r.title for r in a] == [r.title for r in b]
                                                for a, b in zip(plain, other))
        max_diff = max(max_diff, max(abs(x.score - y.score) for a, b in zip(plain, other) for x, y in zip(a, b)))
    if not same_titles or max_diff > 1e-4:
        raise SystemExit(f"the paths disagree: same titles {same_titles}, max score diff {max_diff:.2e}")
    times: dict[str, list[float]] = {p: [] for p in PATHS}
    for i in range(repeats):
        for p in (PATHS if i % 2 == 0 else reversed(list(PATHS))):
            times[p].append(decode(p)[0])
    median = {p: statistics.median(t) for p, t in times.items()}
    return {"model": what, "prompts": PROMPTS, "beams": BEAMS, "prompt_tokens": [len(p) for p in prompts],
            "max_new_tokens": int(ig.trie.lengths.max()), "repeats": repeats, "seconds": times,
            "median_s": median, "speedup": median["plain"] / median["shared"],
            "speedup_kept_once": median["shared"] / median["kept_once"], "max_score_diff": max_diff,
            "environment": environment()}


def report(r: dict[str, Any], out: Any) -> None:
    toks = r["prompt_tokens"]
    print(f"model: {r['model']}; {r['prompts']} prompts of {min(toks)}-{max(toks)} tokens x {r['beams']} beams, "
          f"up to {r['max_new_tokens']} new tokens; {r['repeats']} repeats, medians", file=out)
    for p, label in PATHS.items():
        print(f"  {label:62s} {r['median_s'][p]:7.3f} s", file=out)
    print(f"  speedup (plain / shared): {r['speedup']:.2f}x; prompt kept once vs copied: "
          f"{r['speedup_kept_once']:.2f}x; same titles, max score difference {r['max_score_diff']:.1e}", file=out)
    env = r["environment"]
    print(f"  {env['cpu_model']}, {env['torch_threads']} torch threads, load average {env['loadavg_1_5_15']}", file=out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO / "data" / "ml-100k")
    ap.add_argument("--checkpoint", type=Path, default=None, help="a trained igd checkpoint of --data")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not (args.data / "info.txt").exists():  # MovieLens-100K is built on demand; other data must exist
        ensure_data(args.data)
    emit(run(args.data, args.checkpoint, args.repeats), report, args.json)


if __name__ == "__main__":
    main()
