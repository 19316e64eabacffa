"""Benchmark one optimiser step of the IGD loss against Hugging Face's own causal-LM loss.

    python benchmarks/train_step.py [--data DIR] [--json] [--repeats 30] [--batch 32] [--grouped]

Setup as `igd train --model tiny --method igd --beta 0.2` builds it (igd.train.prepare): the
compact qwen2.5 vocabulary, a randomly initialised `tiny` model (default TinyConfig, seed 0),
and one real batch of MovieLens-100K training rows (evenly spaced over the training split)
built with igd.examples.build_examples and collated with igd.examples.collate. `--grouped`: the
batch is instead `batch` rows of similar length, as the Trainer's `group_by_length` sampler
(which `igd train` uses) draws them: the middle of 50 x batch evenly spaced rows sorted by length.

One step = forward, loss, backward, AdamW step, zero_grad, with
  (a) plain CE as HF computes it: `model(input_ids, attention_mask, labels=labels).loss`;
  (b) igd's path: `model(input_ids, attention_mask).logits` then
      `igd.loss.weighted_cross_entropy(logits, labels, token_weights)`;
  (b') the same through `IGDTrainer.compute_loss` (an IGDTrainer on the batch, no training
      loop), with Eq. 7's denominator `label_weight_sum` computed in the step as
      `get_batch_samples` does: includes the override's overhead (popping keys, the
      zero-/non-zero-IG loss tracking), and its saving: logits only from one before the
      batch's first label to the end (`igd.loss.target_window`), where (a) and (b) project
      every prompt position onto the vocabulary.
Each variant has its own copy of the model and its own AdamW. Warm-up, then the variants
interleaved (order rotated every repeat) so background load hits all alike; medians.
Checked first: with all weights 1, (b) gives HF's loss, and (b') gives (b)'s loss.
"""

from __future__ import annotations

import argparse, copy, os, statistics, sys, tempfile, time  # noqa: E401
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]  # run from anywhere, igd installed or not

import torch  # noqa: E402
from transformers import TrainingArguments  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.data import evenly_spaced, load_dataset  # noqa: E402
from igd.examples import TargetTable, WeightSpec, build_examples, collate  # noqa: E402
from igd.info_gain import build_ig_trie, title_counts  # noqa: E402
from igd.loss import label_weight_sum, target_window, weighted_cross_entropy  # noqa: E402
from igd.models import build_tiny, compact_vocabulary  # noqa: E402
from igd.tokenization import load_tokenizer  # noqa: E402
from igd.train import IGDTrainer, TrainConfig, split_rows, vocabulary_texts  # noqa: E402

BETA, LR, THREADS, SEED = 0.2, 1e-3, 2, 0
TARGET = 1.03
VARIANTS = ("hf", "igd", "trainer")
LABELS = {"hf": "(a) HF CE: model(..., labels).loss", "igd": "(b) logits + weighted_cross_entropy",
          "trainer": "(b') IGDTrainer.compute_loss"}


def real_batch(data: Path, rows: int, grouped: bool = False):
    """igd.train.prepare for `--model tiny --method igd --beta 0.2`, except that only `rows`
    evenly spaced training rows are tokenised (IG priors still come from the whole split)."""
    cfg = TrainConfig(data=str(data), out="-", method="igd", beta=BETA, seed=SEED)
    dataset = load_dataset(data)
    _, train_rows, _ = split_rows(dataset, cfg.train_on_valid)
    template = cfg.template()
    tokenizer = compact_vocabulary(load_tokenizer(cfg.tokenizer), vocabulary_texts(dataset, template))
    model = build_tiny(tokenizer.vocab_size, cfg.tiny, tokenizer, cfg.seed)
    ig = build_ig_trie(dataset.catalogue, title_counts(train_rows, dataset.catalogue), tokenizer,
                       template, cfg.unseen)
    spec = WeightSpec(cfg.method, cfg.beta, cfg.igd_weighting, float(ig.edge_ig.max()))
    picked = evenly_spaced(train_rows, rows * 50 if grouped else rows)
    examples = build_examples(picked, dataset.catalogue, tokenizer, template, TargetTable(ig, spec), cfg.max_length)
    if grouped:  # the middle `rows` of the length-sorted sample: a batch group_by_length draws
        examples = sorted(examples, key=lambda e: len(e["input_ids"]))
        examples = examples[len(examples) // 2 - rows // 2:][:rows]
    return model, tokenizer, collate(tokenizer.pad_token_id)(examples)


def make_steps(model, batch: dict[str, torch.Tensor], tmp: str) -> tuple[dict[str, Callable[[], float]], Any]:
    """One step function per variant, each on its own model copy and AdamW; returns the loss."""
    ids, mask, labels, weights = (batch[k] for k in ("input_ids", "attention_mask", "labels", "token_weights"))
    models = {v: copy.deepcopy(model).train() for v in VARIANTS}
    opts = {v: torch.optim.AdamW(m.parameters(), lr=LR) for v, m in models.items()}
    args = TrainingArguments(output_dir=tmp, use_cpu=True, report_to=[], per_device_train_batch_size=len(ids),
                             remove_unused_columns=False, seed=SEED)
    trainer = IGDTrainer(model=models["trainer"], args=args, method="igd", cft_alpha=0.1)
    models["trainer"].train()

    def finish(v: str, loss: torch.Tensor) -> float:
        loss.backward()
        opts[v].step()
        opts[v].zero_grad(set_to_none=True)
        return float(loss.detach())

    def hf() -> float:
        return finish("hf", models["hf"](input_ids=ids, attention_mask=mask, labels=labels).loss)

    def igd() -> float:
        logits = models["igd"](input_ids=ids, attention_mask=mask).logits
        return finish("igd", weighted_cross_entropy(logits, labels, weights)[0])

    def via_trainer() -> float:
        inputs = dict(batch)  # compute_loss pops keys; the tensors are not copied
        total = label_weight_sum(inputs["labels"], inputs["token_weights"])  # get_batch_samples
        return finish("trainer", trainer.compute_loss(models["trainer"], inputs, num_items_in_batch=total))

    return {"hf": hf, "igd": igd, "trainer": via_trainer}, trainer


@torch.no_grad()
def check_losses(model, batch, trainer) -> dict[str, float]:
    """With all weights 1, weighted CE is HF's CE; compute_loss equals the direct call."""
    m = copy.deepcopy(model).train()
    ids, mask, labels, weights = (batch[k] for k in ("input_ids", "attention_mask", "labels", "token_weights"))
    hf = m(input_ids=ids, attention_mask=mask, labels=labels).loss
    logits = m(input_ids=ids, attention_mask=mask).logits
    ones = weighted_cross_entropy(logits, labels, torch.ones_like(weights))[0]
    direct = weighted_cross_entropy(logits, labels, weights)[0]
    via = trainer.compute_loss(m, dict(batch), num_items_in_batch=label_weight_sum(labels, weights))
    d_ones, d_via = abs(float(hf - ones)), abs(float(direct - via))
    assert d_ones < 1e-5, f"weighted CE with weights 1 differs from HF's loss by {d_ones}"
    assert d_via < 1e-6, f"IGDTrainer.compute_loss differs from weighted_cross_entropy by {d_via}"
    return {"hf_loss": float(hf), "igd_loss": float(direct), "max_diff_ones_vs_hf": d_ones,
            "max_diff_trainer_vs_direct": d_via}


def report(r: dict[str, Any], out: Any) -> None:
    e, b, t = r["environment"], r["batch"], r["timings"]
    lines: list[str] = []
    p = lines.append
    p(f"Training step benchmark: MovieLens-100K, tiny model (TinyConfig(), seed {SEED}, random "
      f"init, vocabulary {r['vocab_size']:,}, {r['parameters'] / 1e6:.2f}M parameters), AdamW lr {LR}")
    p(f"env: python {e['python']}, torch {e['torch']}, transformers {e['transformers']}, numpy "
      f"{e['numpy']}, {e['cpu_count']} CPUs ({e['cpu_model']}), torch threads {e['torch_threads']}")
    p("load average (1/5/15 min): at start " + "/".join(f"{x:.2f}" for x in r["loadavg_start"])
      + ", at end " + "/".join(f"{x:.2f}" for x in e["loadavg_1_5_15"]))
    p(f"batch: {b['rows']} training rows{' of similar length (--grouped)' if r['grouped'] else ''} x "
      f"{b['width']} tokens (right-padded), {b['label_tokens']} label tokens, {b['zero_ig_label_tokens']} "
      f"zero-IG (weight {BETA}); IGD beta {BETA}; (b') computes logits at the last {b['window']} positions")
    c = r["check"]
    p(f"checks: weights 1 -> HF's loss (|diff| {c['max_diff_ones_vs_hf']:.1e}); compute_loss == direct "
      f"(|diff| {c['max_diff_trainer_vs_direct']:.1e}); initial CE {c['hf_loss']:.4f}, IGD loss {c['igd_loss']:.4f}")
    p(f"\n{'one optimiser step':<40}{'median [ms]':>12}{'min':>9}{'max':>9}{'vs (a)':>9}")
    for v in VARIANTS:
        x = t[v]
        p(f"{LABELS[v]:<40}{x['median_ms']:>12.1f}{x['min_ms']:>9.1f}{x['max_ms']:>9.1f}"
          f"{x['median_ms'] / t['hf']['median_ms']:>9.3f}")
    p(f"{r['repeats']} interleaved repeats after {r['warmup']} warm-up steps each; paired ratios "
      "(median over repeats of each repeat's ratio): "
      f"(b)/(a) {r['paired_ratio_b_over_a']:.3f}, (b')/(a) {r['paired_ratio_trainer_over_a']:.3f}")
    p(f"ratio (b)/(a): {r['ratio_b_over_a']:.3f} (target <= {TARGET}: "
      f"{'MET' if r['targets_met']['b_over_a'] else 'NOT MET'})")
    p(f"ratio (b')/(a), through IGDTrainer.compute_loss: {r['ratio_trainer_over_a']:.3f} "
      f"(target <= {TARGET}: {'MET' if r['targets_met']['trainer_over_a'] else 'NOT MET'})")
    print("\n".join(lines), file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO / "data" / "ml-100k")
    ap.add_argument("--json", action="store_true", help="JSON object on stdout, table on stderr")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--grouped", action="store_true", help="a batch of similar-length rows (group_by_length)")
    args = ap.parse_args()
    if args.repeats < 20:
        ap.error("--repeats >= 20")
    torch.set_num_threads(THREADS)
    load_start = os.getloadavg()
    ensure_data(args.data)
    model, tokenizer, batch = real_batch(args.data, args.batch, args.grouped)
    with tempfile.TemporaryDirectory() as tmp:
        steps, trainer = make_steps(model, batch, tmp)
        check = check_losses(model, batch, trainer)
        for fn in steps.values():
            for _ in range(args.warmup):
                fn()
        runs: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for r in range(args.repeats):
            for v in VARIANTS[r % 3:] + VARIANTS[:r % 3]:
                t0 = time.perf_counter()
                steps[v]()
                runs[v].append(time.perf_counter() - t0)
    med = statistics.median
    timings = {v: {"median_ms": med(x) * 1e3, "min_ms": min(x) * 1e3, "max_ms": max(x) * 1e3,
                   "runs_ms": [t * 1e3 for t in x]} for v, x in runs.items()}
    labels, zero = batch["labels"][:, 1:] != -100, batch["zero_ig"][:, 1:]
    r = {"data": str(args.data), "vocab_size": tokenizer.vocab_size,
         "parameters": sum(p.numel() for p in model.parameters()), "repeats": args.repeats,
         "warmup": args.warmup, "loadavg_start": load_start, "environment": environment(),
         "grouped": args.grouped,
         "batch": {"rows": args.batch, "width": int(batch["input_ids"].shape[1]),
                   "window": target_window(batch["labels"]),
                   "label_tokens": int(labels.sum()), "zero_ig_label_tokens": int((labels & zero).sum())},
         "check": check, "timings": timings,
         "ratio_b_over_a": timings["igd"]["median_ms"] / timings["hf"]["median_ms"],
         "ratio_trainer_over_a": timings["trainer"]["median_ms"] / timings["hf"]["median_ms"],
         "paired_ratio_b_over_a": med(b / a for a, b in zip(runs["hf"], runs["igd"])),
         "paired_ratio_trainer_over_a": med(b / a for a, b in zip(runs["hf"], runs["trainer"]))}
    r["targets_met"] = {"b_over_a": r["ratio_b_over_a"] <= TARGET,
                        "trainer_over_a": r["ratio_trainer_over_a"] <= TARGET}
    emit(r, report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
