"""`igd evaluate`: decode every user of a split with BIGRec / D3 / IGD and score the lists.

Users are sharded over processes (`accelerate launch`): each process decodes a contiguous
slice (accelerate's split_between_processes: no user dropped or duplicated) and the main
process gathers, computes the metrics and writes the run in one transaction.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Mapping, Sequence

import torch
from tqdm.auto import tqdm

from igd.analysis import IGLOGP_USERS, entropy_by_step, ig_logp_summary, returned_token_logp
from igd.checkpoint import Checkpoint, checkpoint_hash, load_checkpoint, read_item_prior
from igd.data import Dataset, Sample, evenly_spaced, load_dataset, split_rows
from igd.config import HOLDOUT, TRAIN_METHODS, DecodeConfig, EvalConfig, arm_of
from igd.decode import processor_for, recommend_batch
from igd.info_gain import IGTrie, build_ig_trie, rescored, title_counts
from igd.metrics import head_tail, head_titles, rank_of, summarize
from igd.store import RunRecord, recorded_run
from igd.templates import prompt_ids_batch


def training_rows_of(ck: Checkpoint, dataset: Dataset) -> list[Sample]:
    """The exact rows the checkpoint was trained on (its item priors come from them)."""
    from igd.data import split_rows

    _, rows, _ = split_rows(dataset, bool(ck.meta.get("train_on_valid")))
    return evenly_spaced(rows, ck.meta.get("config", {}).get("max_train_rows"))


def checkpoint_items(meta: dict) -> str:
    """What the checkpoint's items are (igd.config.ITEMS): titles, or semantic IDs."""
    return meta.get("items") or meta.get("config", {}).get("items") or "title"


def checkpoint_decisiveness(meta: dict) -> str:
    """The decisiveness measure a checkpoint was trained with (IG before measures existed)."""
    return meta.get("decisiveness") or meta.get("config", {}).get("decisiveness") or "ig"


def checkpoint_trie(ck: Checkpoint, dataset: Dataset, unseen: str | None = None,
                    decisiveness: str | None = None) -> IGTrie:
    """Rebuild the checkpoint's IG trie on `dataset`; refuse a dataset it was not trained on.
    `unseen` decodes under another candidate policy than the checkpoint's own (training is
    the same under both: every training target is seen), `decisiveness` with another measure
    (igd.config.DECISIVENESS); None keeps the checkpoint's."""
    counts = read_item_prior(ck.path, dataset.fingerprint) or title_counts(training_rows_of(ck, dataset),
                                                                           dataset.catalogue)
    own, measure = ck.meta.get("unseen", "generable"), checkpoint_decisiveness(ck.meta)
    ig = build_ig_trie(dataset.catalogue, counts, ck.tokenizer, ck.template, own, measure)
    if ck.meta.get("trie_fingerprint") not in (None, ig.fingerprint):
        raise ValueError(f"{dataset.root} gives a different item trie than the one checkpoint "
                         f"{ck.path} was trained with (dataset {ck.meta.get('dataset')!r}, "
                         f"fingerprint {str(ck.meta.get('dataset_fingerprint'))[:12]}); evaluate on that dataset")
    if unseen is not None and unseen != own:
        ig = build_ig_trie(dataset.catalogue, counts, ck.tokenizer, ck.template, unseen, measure)
    return rescored(ig, decisiveness or measure)


def decode_users(ck: Checkpoint, ig: IGTrie, dataset: Dataset, rows: Sequence[Sample],
                 cfg: DecodeConfig, progress: bool = True) -> tuple[list[dict], int]:
    """Top lists for `rows` (in order). Prompts are sorted by length inside each call's batch
    so left padding stays small; results are returned in the input order."""
    titles = dataset.catalogue.titles
    histories = [[titles[i] for i in s.history] for s in rows]
    prompts = prompt_ids_batch(ck.tokenizer, ck.template, histories)
    order = sorted(range(len(rows)), key=lambda i: len(prompts[i]))
    results: list[dict | None] = [None] * len(rows)
    invalid = 0
    bar = tqdm(total=len(rows), desc=f"decode {cfg.method}", disable=not progress)
    processor = processor_for(ig, cfg)  # one score buffer for all batches
    for start in range(0, len(order), cfg.batch_size):
        chunk = order[start:start + cfg.batch_size]
        recs, bad = recommend_batch(ck.model, ig, [prompts[i] for i in chunk], cfg,
                                    ck.tokenizer.pad_token_id, processor)
        invalid += bad
        for i, rec in zip(chunk, recs):
            results[i] = {"items": [r.title for r in rec], "scores": [r.score for r in rec]}
        bar.update(len(chunk))
    bar.close()
    return results, invalid  # type: ignore[return-value]


def evaluation_rows(dataset: Dataset, split: str) -> list[Sample]:
    """The rows a decoding is scored on: a split, or `holdout`, the validation rows of a model
    trained on valid.csv (the paper selects beta and alpha on its validation set, which also
    early-stops; with --train-on-valid that set is the holdout)."""
    return split_rows(dataset, True)[2] if split == HOLDOUT else list(dataset.split(split))


def evaluate(checkpoint: str | Path, data: str | Path, cfg: EvalConfig, store=None,
             seed: int | None = None) -> dict:
    """Decode, score and (on the main process) store one evaluation run; returns the metrics."""
    from accelerate import PartialState
    from accelerate.utils import gather_object

    state = PartialState()
    ck = load_checkpoint(checkpoint, device=state.device, dtype=cfg.decode.dtype)
    dataset = load_dataset(data, items=checkpoint_items(ck.meta))
    ig = checkpoint_trie(ck, dataset, cfg.unseen, cfg.decisiveness)
    rows = evenly_spaced(evaluation_rows(dataset, cfg.split), cfg.max_users)
    main_store = store if state.is_main_process else None  # one run, written by the main process
    with recorded_run(main_store, lambda: _record(ck, dataset, cfg, seed, store)) as run_id:
        started, cpu_started = time.time(), time.process_time()
        indices = list(range(len(rows)))
        with state.split_between_processes(indices) as mine:
            local, bad = decode_users(ck, ig, dataset, [rows[i] for i in mine], cfg.decode,
                                      progress=state.is_local_main_process)
            shard = [(i, r) for i, r in zip(mine, local)]
        gathered = gather_object([(shard, bad)])
        if not state.is_main_process:
            return {}
        by_index = dict(pair for part, _ in gathered for pair in part)
        if sorted(by_index) != indices:
            raise RuntimeError(f"sharding lost or duplicated users: {len(by_index)} of {len(indices)}")
        invalid = sum(b for _, b in gathered)
        results = [by_index[i] for i in indices]
        metrics, predictions = _score(rows, dataset, results, cfg, invalid, ig)
        metrics["seconds"] = time.time() - started
        metrics["cpu_seconds"] = time.process_time() - cpu_started  # this process, all its threads
        metrics |= token_logp_by_ig(ck, ig, dataset, rows, results)  # Fig. 4 (igd.analysis)
        if store is not None:
            store.complete(run_id, metrics, predictions)
        return metrics


def _score(rows, dataset, results, cfg: EvalConfig, invalid: int, ig: IGTrie | None = None,
           counts: Mapping[str, int] | None = None) -> tuple[dict, list[dict]]:
    titles = dataset.catalogue.titles
    # Spellings that tokenise alike (NFC) share one trie path, which decoding returns under its
    # first spelling: compare the target under that spelling too.
    same = {} if ig is None else {t: spellings[0] for spellings in ig.seq_titles for t in spellings}
    targets = [same.get(titles[s.target], titles[s.target]) for s in rows]
    ranks = [rank_of(t, r["items"]) for t, r in zip(targets, results)]
    metrics = summarize(ranks, [r["items"] for r in results], [r["scores"] for r in results],
                        cfg.decode.num_beams, invalid, None if ig is None else first_tokens(ig))
    if ig is not None:  # the entropy gap per decoding step (Fig. 3, igd.analysis)
        metrics |= entropy_by_step(ig, [r["items"] for r in results], targets)
    counts = counts if counts is not None else target_counts(ig) if ig is not None else None
    if counts is not None:  # head and tail items (metrics.HEAD_SHARE)
        metrics |= head_tail(ranks, targets, head_titles(counts), min(10, cfg.decode.num_beams))
    predictions = [{"user_index": i, "user_id": s.user_id, "target_title": t, "rank": rank,
                    "items": r["items"], "scores": r["scores"]}
                   for i, (s, t, r, rank) in enumerate(zip(rows, targets, results, ranks))]
    return metrics, predictions


def token_logp_by_ig(ck: Checkpoint, ig: IGTrie, dataset: Dataset, rows: Sequence[Sample],
                     results: Sequence[dict]) -> dict[str, float]:
    """Log p of the returned titles' tokens by IG bin, on an evenly spread subsample of users
    (one teacher-forced forward pass each: igd.analysis.IGLOGP_USERS)."""
    import torch

    picked = evenly_spaced(list(range(len(rows))), IGLOGP_USERS)
    titles = dataset.catalogue.titles
    prompts = prompt_ids_batch(ck.tokenizer, ck.template, [[titles[i] for i in rows[j].history] for j in picked])
    with torch.no_grad():
        igs, logps = returned_token_logp(ck.model, ig, prompts, [results[j]["items"] for j in picked],
                                         ck.tokenizer.pad_token_id)
    return ig_logp_summary(igs, logps)


# Bumped when decoding changes the lists of an unchanged checkpoint and settings, so that
# `igd experiment` re-runs instead of reusing them. 2: IG~ over the siblings with training mass.
EVAL_VERSION = 2


def target_counts(ig: IGTrie) -> dict[str, int]:
    """Training-target count of every title on the trie (one per trie path: its first spelling)."""
    counts = ig.node_count[ig.trie.leaf]
    return {titles[0]: int(n) for titles, n in zip(ig.seq_titles, counts)}


def first_tokens(ig: IGTrie) -> dict[str, int]:
    """The first target token of every title on the trie (FWR, appendix F)."""
    first = ig.trie.edge_token[ig.trie.seq_nodes[:, 1] - 1]
    return {t: int(tok) for titles, tok in zip(ig.seq_titles, first) for t in titles}


def _record(ck: Checkpoint, dataset: Dataset, cfg: EvalConfig, seed: int | None, store) -> RunRecord:
    meta = ck.meta
    method = meta.get("train_method")
    weighting = meta.get("config", {}).get("igd_weighting", "binary")
    return RunRecord(
        kind="eval", dataset=dataset.name, dataset_fingerprint=dataset.fingerprint,
        model=meta.get("model", "?"), seed=int(seed if seed is not None else meta.get("seed", 0)),
        split=cfg.split, train_method=method, arm=arm_of(method, cfg.decode.method, weighting,
                                                         items=checkpoint_items(meta)),
        beta=meta.get("beta") if method in TRAIN_METHODS and TRAIN_METHODS[method].uses_beta else None,
        decoding=cfg.decode.method, alpha=cfg.decode.alpha if cfg.decode.spec.uses_alpha else None,
        checkpoint=str(ck.path), parent_run=_parent(store, meta.get("train_run"), ck.path),
        config={"eval_version": EVAL_VERSION, "num_beams": cfg.decode.num_beams,
                "batch_size": cfg.decode.batch_size, "beam_stop": cfg.decode.beam_stop,
                # the --dtype choice, and what it was on this machine (the weights' dtype)
                "dtype": cfg.decode.dtype, "dtype_resolved": model_dtype(ck.model),
                "threads": torch.get_num_threads(), "unseen": cfg.unseen or meta.get("unseen", "generable"),
                "decisiveness": cfg.decisiveness or checkpoint_decisiveness(meta), "items": checkpoint_items(meta),
                "max_users": cfg.max_users, "igd_weighting": weighting,
                # What trained the checkpoint: `igd experiment` reuses this evaluation on a
                # machine without the checkpoint when it would train the same thing.
                "train_config": meta.get("config", {}),
                # Which files were decoded: paired arms must show one hash (igd.pairing).
                "checkpoint_hash": checkpoint_hash(ck.path, meta),
                "checkpoint_meta": {k: meta[k] for k in (
                    "trie_fingerprint", "training_split", "train_rows", "best_eval_loss") if k in meta}})


def model_dtype(model) -> str:
    """'bf16' or 'fp32': the dtype the model's weights were decoded in."""
    return "bf16" if next(model.parameters()).dtype == torch.bfloat16 else "fp32"


def _parent(store, run_id: int | None, path: Path) -> int | None:
    """The training run of this checkpoint, if it was recorded in this same store."""
    if run_id is None:
        return None
    match = [r for r in store.runs(kind="train") if r["id"] == run_id]
    return run_id if match and Path(match[0]["checkpoint"] or "").resolve() == Path(path).resolve() else None


def evaluate_most_popular(data: str | Path, split: str = "test", train_on_valid: bool = False,
                          max_users: int | None = None, k: int = 10, store=None) -> dict:
    """The most-popular baseline: the k titles most often a training target, for every user."""
    from collections import Counter

    from igd.data import split_rows

    dataset = load_dataset(data)
    train_split, train_rows, _ = split_rows(dataset, train_on_valid)
    rows = evenly_spaced(list(dataset.split(split)), max_users)
    counts = Counter(dataset.catalogue.titles[s.target] for s in train_rows)
    top = counts.most_common(k)
    record = RunRecord(
        kind="baseline", dataset=dataset.name, dataset_fingerprint=dataset.fingerprint,
        model="most_popular", seed=0, split=split, arm="most_popular",
        config={"eval_version": EVAL_VERSION, "k": k, "training_split": train_split, "max_users": max_users})
    with recorded_run(store, lambda: record) as run_id:
        # Scores are log popularity, log(count / N): comparable to beam log-probs (ISE, app).
        n = sum(counts.values())
        result = {"items": [t for t, _ in top], "scores": [math.log(c / n) for _, c in top]}
        cfg = EvalConfig(split=split, max_users=max_users, decode=DecodeConfig(method="d3", num_beams=k))
        metrics, predictions = _score(rows, dataset, [result] * len(rows), cfg, 0, counts=counts)
        if store is not None:
            store.complete(run_id, metrics, predictions)
        return metrics
