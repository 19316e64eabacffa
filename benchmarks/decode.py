"""Benchmark trie-constrained IGD beam search on MovieLens-100K: igd's vectorised
`TrieLogitsProcessor` against plain beam search and against a per-beam Python trie walk
written the way public code does it (nested-dict trie, full-vocabulary -inf mask per step).

    python benchmarks/decode.py [--data DIR] [--json] [--repeats 9] [--new-tokens 8]

Setup as `igd train --model tiny` builds it (igd/train.py:prepare): the catalogue trie with IG
from the training split, a CompactTokenizer of qwen2.5 and a randomly initialised `tiny`
model (default TinyConfig, seed 0); and the same over the full Qwen vocabulary (151,665 ids,
trie built with the base tokenizer), since mask work scales with the vocabulary.
16 real test prompts x 10 beams in one `generate` call.

Every variant runs exactly --new-tokens steps: `generate` gets an eos_token_id outside the
vocabulary (the model's vocab_size), which no variant can emit, so no beam finishes early and
constrained beams that complete a title just die with -inf. Checked: every output has exactly
that many new tokens and each processor is called once per step.

Before anything is timed, (c) must reproduce (b): the same returned sequences and scores
(within 1e-4) on the timed workload, and the same top-10 titles and scores with igd's real
decoding (`recommend_batch`: trie EOS, max_new_tokens = longest title) for every prompt.

Timings: warm-up, then repeats with the methods side by side (order rotated every repeat so
background load hits all alike); medians. Each method is also timed with one new token, so
T(N) - T(1) isolates the N-1 decoding steps from the prompt prefill that dominates a tiny model.
"""

from __future__ import annotations

import argparse, os, statistics, sys, time  # noqa: E401
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "benchmarks")]  # run from anywhere, igd installed or not

import numpy as np  # noqa: E402
import torch  # noqa: E402
from transformers import LogitsProcessor, LogitsProcessorList  # noqa: E402

from common import emit, ensure_data, environment  # noqa: E402
from igd.data import evenly_spaced, load_dataset  # noqa: E402
from igd.decode import (DecodeConfig, TrieLogitsProcessor, generation_config, left_pad,  # noqa: E402
                        recommend_batch)
from igd.info_gain import build_ig_trie, title_counts  # noqa: E402
from igd.models import TinyConfig, build_tiny, compact_vocabulary  # noqa: E402
from igd.templates import prompt_ids_batch  # noqa: E402
from igd.tokenization import load_tokenizer  # noqa: E402
from igd.train import TrainConfig, split_rows, vocabulary_texts  # noqa: E402
from naive_trie import NaiveIGTrie, verify_paths  # noqa: E402

TOKENIZER, ALPHA, BEAMS, PROMPTS, SEED, THREADS = "qwen2.5", 0.2, 10, 16, 0, 2
TARGET_B_OVER_A, TARGET_C_OVER_B = 1.10, 3.0
METHODS = ("plain", "igd", "naive")
LABELS = {"plain": "(a) plain beam search", "igd": "(b) igd TrieLogitsProcessor",
          "naive": "(c) per-beam Python trie walk"}


class Timed(LogitsProcessor):
    """Wraps a processor and records the wall time of every call (CPU: torch is synchronous)."""

    def __init__(self, inner: LogitsProcessor):
        self.inner, self.calls = inner, []

    def __call__(self, input_ids, scores):
        t0 = time.perf_counter()
        out = self.inner(input_ids, scores)
        self.calls.append(time.perf_counter() - t0)
        return out


class NaiveTrieProcessor(LogitsProcessor):
    """The straightforward processor of public code: for each beam, walk the nested-dict trie
    from the root over the generated tokens, collect the allowed ids and their IG, write 0 into
    a fresh beams x vocab -inf mask, add it to the scores, then multiply each beam's allowed
    log-probs by 1 - alpha * IG~ (max-min normalised among the beam's candidates, in Python)."""

    def __init__(self, trie: NaiveIGTrie, prompt_len: int, alpha: float):
        self.root, self.prompt_len, self.alpha = trie.root, prompt_len, alpha

    def __call__(self, input_ids, scores):
        mask = torch.full((scores.shape[0], scores.shape[1]), float("-inf"), device=scores.device)
        allowed = []
        for i, generated in enumerate(input_ids[:, self.prompt_len:].tolist()):
            node = self.root
            for tok in generated:
                node = node.children.get(tok)
                if node is None:  # a padding beam that took a -inf token: dead
                    break
            if node is None or not node.children:  # dead, or a complete title (leaf): all -inf
                continue
            tokens = list(node.children)
            igs = [child.ig for child in node.children.values()]
            lo, hi = min(igs), max(igs)
            weights = [1.0 - self.alpha * ((g - lo) / (hi - lo) if hi > lo else 0.0) for g in igs]
            mask[i, tokens] = 0.0
            allowed.append((i, tokens, weights))
        scores = scores + mask
        for i, tokens, weights in allowed:
            scores[i, tokens] = scores[i, tokens] * torch.tensor(weights, device=scores.device)
        return scores


class Setup:
    """Model, IG trie, dict trie and left-padded prompts of one vocabulary variant."""

    def __init__(self, name: str, tokenizer, dataset, template, counts, rows):
        self.name, self.tokenizer = name, tokenizer
        t0 = time.perf_counter()
        self.ig = build_ig_trie(dataset.catalogue, counts, tokenizer, template)
        self.ig_build_s = time.perf_counter() - t0
        titles = dataset.catalogue.distinct_titles
        self.naive = NaiveIGTrie(titles, counts, tokenizer, template)
        self.max_ig_diff = verify_paths(self.ig, self.naive, tuple(titles))
        self.seq_title = {tokens: title for title, tokens in self.naive.title_tokens.items()}
        self.model = build_tiny(tokenizer.vocab_size, TinyConfig(), tokenizer, SEED).eval()
        histories = [[dataset.catalogue.titles[i] for i in s.history] for s in rows]
        self.prompts = prompt_ids_batch(tokenizer, template, histories)
        self.input_ids, self.mask = left_pad(self.prompts, tokenizer.pad_token_id, "cpu")
        self.prompt_len = self.input_ids.shape[1]
        # An id outside the vocabulary: no variant can emit it, so every beam runs all steps.
        self.never_eos = self.model.config.vocab_size

    def gen_config(self, new_tokens: int, output_scores: bool = False):
        return generation_config(DecodeConfig("igd", ALPHA, BEAMS, PROMPTS), new_tokens,
                                 self.never_eos, self.tokenizer.pad_token_id, output_scores)

    def processor(self, method: str) -> Timed | None:
        if method == "igd":
            return Timed(TrieLogitsProcessor(self.ig, self.prompt_len, ALPHA).reset(self.prompt_len, PROMPTS))
        if method == "naive":
            return Timed(NaiveTrieProcessor(self.naive, self.prompt_len, ALPHA))
        return None

    def generate(self, method: str, new_tokens: int, gen_cfg=None):
        proc = self.processor(method)
        gen_cfg = gen_cfg or self.gen_config(new_tokens)
        t0 = time.perf_counter()
        out = self.model.generate(input_ids=self.input_ids, attention_mask=self.mask,
                                  generation_config=gen_cfg,
                                  logits_processor=LogitsProcessorList([proc] if proc else []))
        return time.perf_counter() - t0, out, proc

    def naive_recommend(self) -> list[list[tuple[str, float]]]:
        """recommend_batch's decoding (trie EOS, longest title) with the naive processor;
        titles read back through the dict trie's own token paths."""
        ig, tok = self.ig, self.tokenizer
        gen_cfg = generation_config(DecodeConfig("igd", ALPHA, BEAMS, PROMPTS),
                                    int(ig.trie.lengths.max()), ig.eos_token_id, tok.pad_token_id,
                                    output_scores=True)
        out = self.generate("naive", 0, gen_cfg)[1]
        generated = out.sequences[:, self.prompt_len:].tolist()
        scores = out.sequences_scores.float().tolist()
        results = []
        for i in range(len(self.prompts)):
            recs = []
            for seq, score in zip(generated[i * BEAMS:(i + 1) * BEAMS], scores[i * BEAMS:(i + 1) * BEAMS]):
                if not np.isfinite(score):
                    continue
                if ig.eos_token_id in seq:
                    seq = seq[:seq.index(ig.eos_token_id) + 1]
                title = self.seq_title.get(tuple(seq))
                if title is not None:
                    recs.append((title, score))
            results.append(sorted(recs, key=lambda r: -r[1]))
        return results


def check_same(s: Setup, new_tokens: int) -> dict[str, Any]:
    """(c) must equal (b), on the timed workload and on igd's real decoding; asserts."""
    with_scores = s.gen_config(new_tokens, output_scores=True)  # HF's sequences_scores, to compare
    _, out_b, proc_b = s.generate("igd", new_tokens, with_scores)
    _, out_c, proc_c = s.generate("naive", new_tokens, with_scores)
    _, out_a, _ = s.generate("plain", new_tokens, with_scores)
    for out in (out_a, out_b, out_c):
        assert out.sequences.shape == (PROMPTS * BEAMS, s.prompt_len + new_tokens), out.sequences.shape
    assert len(proc_b.calls) == len(proc_c.calls) == new_tokens, (len(proc_b.calls), len(proc_c.calls))
    seq_b, seq_c = out_b.sequences[:, s.prompt_len:], out_c.sequences[:, s.prompt_len:]
    sc_b, sc_c = out_b.sequences_scores, out_c.sequences_scores
    fin_b, fin_c = torch.isfinite(sc_b), torch.isfinite(sc_c)
    assert torch.equal(fin_b, fin_c), "(b) and (c) keep different numbers of live beams"
    assert torch.equal(seq_b[fin_b], seq_c[fin_c]), "(b) and (c) return different sequences"
    timed_diff = float((sc_b[fin_b] - sc_c[fin_c]).abs().max())
    assert timed_diff <= 1e-4, f"(b) and (c) scores differ by {timed_diff}"
    # Real decoding: igd's own recommend_batch vs the naive processor, top-10 titles and scores.
    recs_b, invalid_b = recommend_batch(s.model, s.ig, s.prompts, DecodeConfig("igd", ALPHA, BEAMS, PROMPTS),
                                        s.tokenizer.pad_token_id)
    recs_c = s.naive_recommend()
    worst, n_titles = 0.0, 0
    for i, (b, c) in enumerate(zip(recs_b, recs_c)):
        assert [r.title for r in b] == [t for t, _ in c], f"prompt {i}: top-10 titles differ"
        if b:
            worst = max(worst, max(abs(r.score - sc) for r, (_, sc) in zip(b, c)))
        n_titles += len(b)
    assert worst <= 1e-4, f"top-10 scores differ by {worst}"
    return {"timed_run_live_beams": int(fin_b.sum()), "timed_run_max_score_diff": timed_diff,
            "recommend_titles_compared": n_titles, "recommend_invalid": invalid_b,
            "recommend_max_score_diff": worst, "same_top10_titles": True}


def measure(s: Setup, new_tokens: int, repeats: int) -> dict[str, Any]:
    lengths = (new_tokens, 1)
    for method in METHODS:  # warm-up (first-call costs, allocator growth)
        for n in lengths:
            s.generate(method, n)
    times = {(m, n): [] for m in METHODS for n in lengths}
    proc_calls: dict[str, list[list[float]]] = {m: [] for m in METHODS if m != "plain"}
    for r in range(repeats):
        order = METHODS[r % 3:] + METHODS[:r % 3]
        for method in order:
            for n in lengths:
                sec, _, proc = s.generate(method, n)
                times[method, n].append(sec)
                if proc is not None and n == new_tokens:
                    proc_calls[method].append(proc.calls)
    med = statistics.median
    res: dict[str, Any] = {"methods": {}}
    for m in METHODS:
        full, one = times[m, new_tokens], times[m, 1]
        steps = [a - b for a, b in zip(full, one)]  # same repeat: same background load
        res["methods"][m] = {"generate_s": med(full), "generate_s_runs": full,
                             "one_token_s": med(one), "steps_s": med(steps),
                             "per_step_ms": med(steps) / (new_tokens - 1) * 1e3}
        if m in proc_calls:
            per_run = [sum(c) / len(c) for c in proc_calls[m]]
            res["methods"][m] |= {"processor_ms_per_step": med(per_run) * 1e3,
                                  "processor_ms_first_step": med(c[0] for c in proc_calls[m]) * 1e3,
                                  "processor_ms_later_steps": med(
                                      sum(c[1:]) / (len(c) - 1) for c in proc_calls[m]) * 1e3,
                                  "processor_share_of_generate": med(
                                      sum(c) / t for c, t in zip(proc_calls[m], full))}
    mt = res["methods"]
    res["ratio_b_over_a"] = mt["igd"]["generate_s"] / mt["plain"]["generate_s"]
    res["ratio_c_over_b"] = mt["naive"]["generate_s"] / mt["igd"]["generate_s"]
    res["steps_ratio_b_over_a"] = mt["igd"]["steps_s"] / mt["plain"]["steps_s"]
    res["steps_ratio_c_over_b"] = mt["naive"]["steps_s"] / mt["igd"]["steps_s"]
    paired = lambda x, y: med(b / a for a, b in zip(times[x, new_tokens], times[y, new_tokens]))  # noqa: E731
    res["paired_ratio_b_over_a"] = paired("plain", "igd")
    res["paired_ratio_c_over_b"] = paired("igd", "naive")
    res["processor_ratio_c_over_b"] = (mt["naive"]["processor_ms_per_step"]
                                       / mt["igd"]["processor_ms_per_step"])
    res["targets_met"] = {"b_over_a": res["ratio_b_over_a"] <= TARGET_B_OVER_A,
                          "c_over_b": res["ratio_c_over_b"] >= TARGET_C_OVER_B}
    return res


def output_scores_cost(s: Setup, new_tokens: int, repeats: int) -> dict[str, float]:
    """Plain beam search with output_scores=True (HF then clones the beams x vocab log-probs
    every step; igd rebuilds beam scores in its processor and asks for False): informational."""
    on, off = s.gen_config(new_tokens, output_scores=True), s.gen_config(new_tokens)
    runs_on, runs_off = [], []
    s.generate("plain", 0, off)
    for _ in range(repeats):
        runs_on.append(s.generate("plain", 0, on)[0])
        runs_off.append(s.generate("plain", 0, off)[0])
    return {"with_scores_s": statistics.median(runs_on), "without_scores_s": statistics.median(runs_off)}


def report(r: dict[str, Any], out: Any) -> None:
    lines: list[str] = []
    p = lines.append
    e = r["environment"]
    p(f"Constrained beam search benchmark: MovieLens-100K ({r['titles']:,} titles, IG from "
      f"{r['train_rows']:,} training rows), tiny model (TinyConfig(), seed {SEED}, random init), "
      f"{PROMPTS} test prompts x {BEAMS} beams, exactly {r['new_tokens']} new tokens, alpha {ALPHA}")
    p(f"env: python {e['python']}, torch {e['torch']}, transformers {e['transformers']}, numpy "
      f"{e['numpy']}, {e['cpu_count']} CPUs ({e['cpu_model']}), torch threads {e['torch_threads']}")
    p("load average (1/5/15 min): at start " + "/".join(f"{x:.2f}" for x in r["loadavg_start"])
      + ", at end " + "/".join(f"{x:.2f}" for x in e["loadavg_1_5_15"]))
    for v in r["variants"]:
        m = v["timings"]["methods"]
        p(f"\n[{v['name']}] vocabulary {v['vocab_size']:,}, trie {v['nodes']:,} nodes, prompt "
          f"length {v['prompt_len']} (left-padded), {v['repeats']} repeats, medians")
        p(f"  checks: dict trie IG = igd IG on all paths (max |diff| {v['max_ig_diff']:.1e}); (c) == (b): "
          f"same sequences on the timed run ({v['check']['timed_run_live_beams']} live beams, max score "
          f"diff {v['check']['timed_run_max_score_diff']:.1e}); same top-10 titles in recommend_batch "
          f"decoding ({v['check']['recommend_titles_compared']} titles, max score diff "
          f"{v['check']['recommend_max_score_diff']:.1e})")
        p(f"  {'':<32}{'generate [s]':>13}{'1 token [s]':>12}{'step [ms]':>11}"
          f"{'processor/step [ms]':>21}{'(1st, later)':>16}{'share':>7}")
        for meth in METHODS:
            t = m[meth]
            proc = ""
            if "processor_ms_per_step" in t:
                split = f"({t['processor_ms_first_step']:.1f}, {t['processor_ms_later_steps']:.2f})"
                proc = (f"{t['processor_ms_per_step']:>21.2f}{split:>16}"
                        f"{t['processor_share_of_generate'] * 100:>6.1f}%")
            p(f"  {LABELS[meth]:<32}{t['generate_s']:>13.3f}{t['one_token_s']:>12.3f}"
              f"{t['per_step_ms']:>11.1f}{proc}")
        p("  generate runs [s]: " + "; ".join(
            f"{meth} " + " ".join(f"{x:.3f}" for x in m[meth]["generate_s_runs"]) for meth in METHODS))
        tm = v["timings"]
        p(f"  ratio (b)/(a) generate: {tm['ratio_b_over_a']:.3f} (target <= {TARGET_B_OVER_A}: "
          f"{'MET' if tm['targets_met']['b_over_a'] else 'NOT MET'}); paired (median of per-repeat "
          f"ratios) {tm['paired_ratio_b_over_a']:.3f}; decoding steps only "
          f"[T(N) - T(1), a difference of two runs: noisy]: {tm['steps_ratio_b_over_a']:.3f}")
        p(f"  ratio (c)/(b) generate: {tm['ratio_c_over_b']:.2f} (target >= {TARGET_C_OVER_B:g}: "
          f"{'MET' if tm['targets_met']['c_over_b'] else 'NOT MET'}); paired {tm['paired_ratio_c_over_b']:.2f}; "
          f"decoding steps only: "
          f"{tm['steps_ratio_c_over_b']:.2f}; processor per step: {tm['processor_ratio_c_over_b']:.1f}x")
        sc = v["output_scores"]
        p(f"  (info) plain generate with output_scores=True {sc['with_scores_s']:.3f} s vs False "
          f"{sc['without_scores_s']:.3f} s (every timed run above uses False: igd's processor keeps the "
          f"step scores of the trie edges it allowed and rebuilds beam scores from them)")
    print("\n".join(lines), file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=REPO / "data" / "ml-100k")
    ap.add_argument("--json", action="store_true", help="JSON object on stdout, table on stderr")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--new-tokens", type=int, default=8)
    ap.add_argument("--variants", default="compact,full", help="compact, full or both")
    args = ap.parse_args()
    if args.repeats < 5 or args.new_tokens < 2:
        ap.error("--repeats >= 5 and --new-tokens >= 2")
    torch.set_num_threads(THREADS)
    load_start = os.getloadavg()
    ensure_data(args.data)
    dataset = load_dataset(args.data)
    template = TrainConfig(data=str(args.data), out="-").template()  # tiny's template
    _, train_rows, _ = split_rows(dataset, train_on_valid=False)
    counts = title_counts(train_rows, dataset.catalogue)
    rows = evenly_spaced(list(dataset.split("test")), PROMPTS)
    base = load_tokenizer(TOKENIZER)
    variants = []
    for name in args.variants.split(","):
        tok = compact_vocabulary(base, vocabulary_texts(dataset, template)) if name == "compact" else base
        s = Setup(name, tok, dataset, template, counts, rows)
        with torch.no_grad():
            check = check_same(s, args.new_tokens)
            timings = measure(s, args.new_tokens, args.repeats)
            scores = output_scores_cost(s, args.new_tokens, max(3, args.repeats // 2))
        variants.append({"name": name, "vocab_size": tok.vocab_size, "nodes": s.ig.trie.n_nodes,
                         "prompt_len": s.prompt_len, "repeats": args.repeats, "max_ig_diff": s.max_ig_diff,
                         "check": check, "timings": timings, "output_scores": scores})
        del s
    r = {"data": str(args.data), "titles": len(dataset.catalogue.distinct_titles),
         "train_rows": len(train_rows), "new_tokens": args.new_tokens, "alpha": ALPHA,
         "loadavg_start": load_start, "environment": environment(), "variants": variants,
         "targets_met": all(all(v["timings"]["targets_met"].values()) for v in variants)}
    emit(r, report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
