"""Training and full-catalogue evaluation shared by the classic sequential baselines.

Each model trains on exactly the rows the LLM methods train on (one example per D3 window:
history = the same <= 10 items, target = the next item) and is evaluated like them: a hit is
counted by title, so items sharing a title are ONE item (a title's score is the max over its
ids), and the top-K distinct titles go through igd.metrics.summarize.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from igd.data import Catalogue, Dataset, Sample, evenly_spaced, load_dataset, split_rows
from igd.info_gain import title_counts
from igd.metrics import head_tail, head_titles, hit_ndcg, rank_of, summarize
from igd.seqrec.gru4rec import GRU4Rec, GRU4RecConfig
from igd.seqrec.lrurec import LRURec, LRURecConfig
from igd.seqrec.sasrec import SASRec, SASRecConfig
from igd.store import RunRecord, recorded_run

MODELS = ("gru4rec", "sasrec", "lrurec")
_ARCH = {"gru4rec": (GRU4Rec, GRU4RecConfig), "sasrec": (SASRec, SASRecConfig), "lrurec": (LRURec, LRURecConfig)}
MAX_HISTORY = 10  # D3 windows hold at most 10 history items
VALID_METRIC = "ndcg@10"  # early stopping on the metric igd.experiment selects beta/alpha by
NetConfig = GRU4RecConfig | SASRecConfig | LRURecConfig


@dataclass(frozen=True)
class SeqRecConfig:
    """Every setting of one baseline run; `net` defaults to the model's own config class."""

    model: str
    data: str | Path
    seed: int = 0
    split: str = "test"
    max_users: int | None = None  # evenly spread evaluation users (all when None)
    k: int = 10  # list length, as the LLM runs' num_beams
    train_on_valid: bool = False
    # On ML-100K (78.7k rows) SASRec and LRURec peak on validation after ~5 epochs and then
    # overfit, GRU4Rec creeps up until ~15-20 (patience 3 stopped it at 11, 0.057 test NDCG@10
    # instead of 0.065); an epoch costs 10-20 s on one shared CPU core, so 20 epochs with
    # patience 5 keep each model under 5 minutes there.
    epochs: int = 20
    patience: int = 5  # epochs without a better validation NDCG@10 before stopping
    batch_size: int = 256
    lr: float = 1e-3
    net: NetConfig | None = None
    device: str | None = None  # None: cuda when available, else cpu
    # Torch CPU threads while training (restored after; None leaves them). These models are
    # too small for intra-op threads to pay, and on a shared machine oversubscribed OpenMP
    # threads made a training step 20-30x slower (measured: 820 ms vs 29 ms for GRU4Rec).
    cpu_threads: int | None = 1

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"model={self.model!r}: choose one of {', '.join(MODELS)}")
        if not str(self.data):
            raise ValueError(f"data={self.data!r}: pass a dataset directory")
        for name in ("seed", "k", "epochs", "patience", "batch_size"):
            _check_int(name, getattr(self, name), 0 if name == "seed" else 1)
        if self.max_users is not None:
            _check_int("max_users", self.max_users, 1, " (or None for all users)")
        if self.cpu_threads is not None:
            _check_int("cpu_threads", self.cpu_threads, 1, " (or None to leave torch's setting)")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not 0 < self.lr < math.inf:
            raise ValueError(f"lr={self.lr!r}: must be a finite number > 0")
        if self.split not in ("valid", "test"):
            raise ValueError(f"split={self.split!r}: choose valid or test")
        if self.train_on_valid and self.split == "valid":
            raise ValueError("split='valid' with train_on_valid=True: valid trains the model; evaluate on test")
        config_class = _ARCH[self.model][1]
        if self.net is None:
            object.__setattr__(self, "net", config_class())  # the model's defaults, kept in its module
        elif not isinstance(self.net, config_class):
            raise ValueError(f"net={self.net!r}: model {self.model!r} needs a {config_class.__name__}")


def _check_int(name: str, value, low: int, extra: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"{name}={value!r}: must be an int >= {low}{extra}")


@dataclass
class FitResult:
    epochs: int  # epochs run
    best_epoch: int  # 1-based epoch whose weights were kept
    best_valid: float | None  # validation NDCG@10 of those weights (None without validation rows)
    train_losses: list[float] = field(default_factory=list)  # mean training loss per epoch


def build_model(model: str, n_items: int, net: NetConfig | None = None) -> nn.Module:
    module_class, config_class = _ARCH[model]
    return module_class(n_items, net if net is not None else config_class())


def pad_histories(histories: Sequence[Sequence[int]], max_len: int = MAX_HISTORY) -> torch.Tensor:
    """(N, L) item ids + 1, LEFT-padded with 0 to the longest history (L >= 1), keeping the
    last max_len items of each."""
    width = max(1, min(max_len, max((len(h) for h in histories), default=1)))
    out = torch.zeros(len(histories), width, dtype=torch.long)
    for row, h in enumerate(histories):
        h = list(h)[-max_len:]
        if h:
            out[row, width - len(h):] = torch.tensor(h) + 1
    return out


def trim_padding(batch: torch.Tensor) -> torch.Tensor:
    """Drop the columns that are padding in every row: left-padded to this batch's longest."""
    longest = max(1, int((batch > 0).sum(dim=1).max()))
    return batch[:, batch.shape[1] - longest:]


def title_index(catalogue: Catalogue) -> tuple[list[str], torch.Tensor]:
    """(distinct titles, (N,) title index of each item id)."""
    titles = catalogue.distinct_titles
    index = {t: i for i, t in enumerate(titles)}
    return titles, torch.tensor([index[t] for t in catalogue.titles], dtype=torch.long)


def top_titles(scores: torch.Tensor, item_title: torch.Tensor, n_titles: int, k: int
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N) item scores -> the k best distinct titles (B, k) as (scores, title indices),
    best first; a title's score is the max over its ids."""
    per_title = scores.new_full((scores.shape[0], n_titles), float("-inf"))  # (B, n_titles)
    per_title.scatter_reduce_(1, item_title.expand_as(scores), scores, reduce="amax")
    return per_title.topk(min(k, n_titles), dim=1)  # (B, k) each


@torch.no_grad()
def rank_rows(model: nn.Module, rows: Sequence[Sample], catalogue: Catalogue, k: int,
              batch_size: int = 1024, device: str | torch.device = "cpu") -> list[dict]:
    """Top-k distinct titles and their scores (the model's logits) for each row, in order."""
    titles, item_title = title_index(catalogue)
    item_title = item_title.to(device)
    was_training = model.training
    model.eval()
    results = []
    for start in range(0, len(rows), batch_size):
        chunk = rows[start:start + batch_size]
        scores = model(pad_histories([s.history for s in chunk]).to(device))  # (B, N)
        values, idx = top_titles(scores.float(), item_title, len(titles), k)  # (B, k)
        results += [{"items": [titles[i] for i in ti], "scores": v}
                    for ti, v in zip(idx.tolist(), values.tolist())]
    model.train(was_training)
    return results


def evaluate_rows(model: nn.Module, dataset: Dataset, rows: Sequence[Sample], k: int,
                  device: str | torch.device = "cpu", train_rows: Sequence[Sample] = ()) -> tuple[dict, list[dict]]:
    """The project's metrics and the predictions (igd.evaluate._score's structure) of `rows`;
    head/tail metrics when the `train_rows` are given."""
    titles = dataset.catalogue.titles
    results = rank_rows(model, rows, dataset.catalogue, k, device=device)
    targets = [titles[s.target] for s in rows]
    ranks = [rank_of(t, r["items"]) for t, r in zip(targets, results)]
    metrics = summarize(ranks, [r["items"] for r in results], [r["scores"] for r in results],
                        num_beams=k, invalid=0)
    if train_rows:
        metrics |= head_tail(ranks, targets, head_titles(title_counts(train_rows, dataset.catalogue)), min(10, k))
    predictions = [{"user_index": i, "user_id": s.user_id, "target_title": t, "rank": rank,
                    "items": r["items"], "scores": r["scores"]}
                   for i, (s, t, r, rank) in enumerate(zip(rows, targets, results, ranks))]
    return metrics, predictions


def valid_ndcg(model: nn.Module, catalogue: Catalogue, rows: Sequence[Sample], device) -> float:
    results = rank_rows(model, rows, catalogue, 10, device=device)
    ranks = [rank_of(catalogue.titles[s.target], r["items"]) for s, r in zip(rows, results)]
    return hit_ndcg(ranks, [10])[VALID_METRIC]


def fit(model: nn.Module, train_rows: Sequence[Sample], valid_rows: Sequence[Sample],
        catalogue: Catalogue, cfg: SeqRecConfig, device: str | torch.device = "cpu",
        progress: bool = False) -> FitResult:
    """Adam on full-softmax cross-entropy; early stopping on validation NDCG@10 (by title),
    the best epoch's weights restored. Shuffling uses its own seeded generator."""
    # Full softmax over all items at the last position, not SASRec's BCE with one sampled
    # negative: with ~1.3k items the full softmax is cheap, needs no negative sampling and is
    # the stronger objective (Klenitskiy & Vasilev 2023; LRURec trains with it too). It is
    # also what the evaluation ranks: the whole catalogue, no sampled negatives.
    histories = pad_histories([s.history for s in train_rows])  # (N, L)
    targets = torch.tensor([s.target for s in train_rows], dtype=torch.long)  # (N,)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    generator = torch.Generator().manual_seed(cfg.seed)
    result, best_state, bad = FitResult(0, 0, None), None, 0
    bar = tqdm(range(cfg.epochs), desc=f"train {cfg.model}", disable=not progress)
    for epoch in bar:
        result.train_losses.append(_epoch(model, optimizer, histories, targets, generator, cfg.batch_size, device))
        result.epochs = epoch + 1
        if not valid_rows:  # nothing to stop on: keep the last epoch
            result.best_epoch = epoch + 1
            continue
        score = valid_ndcg(model, catalogue, valid_rows, device)
        bar.set_postfix(loss=f"{result.train_losses[-1]:.3f}", valid_ndcg10=f"{score:.4f}")
        if result.best_valid is None or score > result.best_valid:
            result.best_valid, result.best_epoch, bad = score, epoch + 1, 0
            best_state = copy.deepcopy(model.state_dict())
        elif (bad := bad + 1) >= cfg.patience:
            break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return result


def _epoch(model: nn.Module, optimizer: torch.optim.Optimizer, histories: torch.Tensor,
           targets: torch.Tensor, generator: torch.Generator, batch_size: int, device) -> float:
    """One pass in a seeded random order; returns the mean training loss."""
    model.train()
    total = 0.0
    order = torch.randperm(len(targets), generator=generator)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        batch = trim_padding(histories[idx]).to(device)  # (B, T)
        loss = F.cross_entropy(model(batch), targets[idx].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / max(1, len(targets))


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """torch's intra-op CPU threads set to `n` inside the block only (None: unchanged)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resolve_device(device: str | None) -> torch.device:
    return torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))


def train_baseline(cfg: SeqRecConfig, store=None, progress: bool = True) -> dict:
    """Train cfg.model on the training rows, evaluate it on cfg.split and return the metrics
    (plus train_seconds, epochs, best_epoch, best_valid_ndcg@10, train_loss); with a store,
    record it as ONE baseline run with its predictions."""
    dataset = load_dataset(cfg.data)
    training_split, train_rows, valid_rows = split_rows(dataset, cfg.train_on_valid)
    rows = evenly_spaced(list(dataset.split(cfg.split)), cfg.max_users)
    device = resolve_device(cfg.device)
    threads = cfg.cpu_threads if device.type == "cpu" else None
    with recorded_run(store, lambda: _record(cfg, dataset, training_split)) as run_id, torch_threads(threads):
        # fork_rng: the seed drives init and dropout here without changing the caller's RNG.
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(cfg.seed)
            model = build_model(cfg.model, len(dataset.catalogue), cfg.net).to(device)
            started, cpu_started = time.time(), time.process_time()
            fitted = fit(model, train_rows, valid_rows, dataset.catalogue, cfg, device, progress)
            seconds, cpu_seconds = time.time() - started, time.process_time() - cpu_started
        metrics, predictions = evaluate_rows(model, dataset, rows, cfg.k, device, train_rows)
        metrics.update({"train_seconds": seconds, "cpu_seconds": cpu_seconds, "epochs": float(fitted.epochs),
                        "best_epoch": float(fitted.best_epoch),
                        "train_loss": fitted.train_losses[fitted.best_epoch - 1] if fitted.train_losses else 0.0})
        if fitted.best_valid is not None:
            metrics[f"best_valid_{VALID_METRIC}"] = fitted.best_valid
        if store is not None:
            store.complete(run_id, metrics, predictions)
        return metrics


def finished_baseline(cfg: SeqRecConfig, store) -> dict | None:
    """Metrics of the latest complete run of this very baseline (same data fingerprint, seed,
    split and recorded settings, wherever the data directory lies), so a rerun experiment
    resumes instead of retraining; None without a store or such a run."""
    if store is None:
        return None
    dataset = load_dataset(cfg.data)
    expected = _comparable(_record(cfg, dataset, dataset.training_split_name(cfg.train_on_valid)).config)
    for r in reversed(store.runs(kind="baseline", model=cfg.model, arm=cfg.model, seed=cfg.seed,
                                 split=cfg.split, status="complete")):
        if r["dataset_fingerprint"] == dataset.fingerprint and _comparable(r["config"]) == expected:
            return r["metrics"]
    return None


def _comparable(config: dict) -> dict:
    """A run's config as the store gives it back (JSON), without the data path."""
    return {k: v for k, v in json.loads(json.dumps(config, default=str)).items() if k != "data"}


def _record(cfg: SeqRecConfig, dataset: Dataset, training_split: str) -> RunRecord:
    return RunRecord(
        kind="baseline", model=cfg.model, arm=cfg.model, decoding=None, train_method=None, seed=cfg.seed,
        split=cfg.split, dataset=dataset.name, dataset_fingerprint=dataset.fingerprint,
        config={"k": cfg.k, "max_users": cfg.max_users, "training_split": training_split,
                "train_on_valid": cfg.train_on_valid, "epochs": cfg.epochs, "patience": cfg.patience,
                "batch_size": cfg.batch_size, "lr": cfg.lr, "optimizer": "adam", "loss": "full_softmax_ce",
                "early_stopping": VALID_METRIC, "max_history": MAX_HISTORY, "net": asdict(cfg.net),
                "device": str(resolve_device(cfg.device)), "cpu_threads": cfg.cpu_threads,
                "data": str(cfg.data)})
