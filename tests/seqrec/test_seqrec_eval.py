"""igd.seqrec evaluation and runs: full-catalogue ranking by title equals a brute-force
computation (a shared title is one item), a baseline run round-trips through the store, and
training is deterministic for a seed."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest
import torch
from torch import nn

from fruits import TITLES, write_dataset
from igd.data import Catalogue, Sample, load_dataset
from igd.seqrec import SeqRecConfig, finished_baseline, train_baseline
from igd.seqrec.gru4rec import GRU4RecConfig
from igd.seqrec.train import evaluate_rows, title_index, top_titles
from igd.store import RunStore


class Table(nn.Module):
    """A stand-in model: the scores are a fixed row per last history item."""

    def __init__(self, table: torch.Tensor):
        super().__init__()
        self.table = table  # (n_items + 1, n_items): row = last item id + 1

    def forward(self, history: torch.Tensor) -> torch.Tensor:
        return self.table[history[:, -1]]


@pytest.fixture(scope="module")
def fruits(tmp_path_factory):
    return load_dataset(write_dataset(tmp_path_factory.mktemp("seqrec") / "fruits"))


def brute_force(scores: list[float], target: str, k: int) -> tuple[list[str], list[float], int | None]:
    """Rank every title by the max score over its ids, the obvious way."""
    best: dict[str, float] = {}
    for item, title in enumerate(TITLES):
        best[title] = max(best.get(title, -math.inf), scores[item])
    ranked = sorted(best, key=lambda t: -best[t])[:k]
    return ranked, [best[t] for t in ranked], ranked.index(target) + 1 if target in ranked else None


def test_hand_computed_ranks_count_a_shared_title_once(fruits):
    base = [-i / 100 for i in range(len(TITLES))]  # apple > apricot > ... > kiwi(12)
    table = torch.tensor([base] * (len(TITLES) + 1))
    table[1, 12], table[1, 6] = 5.0, 4.0  # after apple: both kiwis on top, the target is kiwi id 6
    table[2, :3] = torch.tensor([3.0, 2.0, 1.0])  # after apricot: banana third
    table[4, 9] = -9.0  # after banana: mango last
    rows = [Sample("a", (0,), 6), Sample("b", (1,), 2), Sample("c", (3,), 9)]
    metrics, predictions = evaluate_rows(Table(table), fruits, rows, k=3)
    assert [p["rank"] for p in predictions] == [1, 3, None]
    assert predictions[0]["items"] == ["kiwi", "apple", "apricot"]  # kiwi once, at its max
    assert predictions[0]["scores"] == pytest.approx([5.0, 0.0, -0.01])
    assert predictions[0]["target_title"] == "kiwi" and predictions[0]["user_id"] == "a"
    assert metrics["hr@1"] == pytest.approx(1 / 3) and metrics["ndcg@1"] == pytest.approx(1 / 3)
    assert metrics["hr@3"] == pytest.approx(2 / 3)
    assert metrics["ndcg@3"] == pytest.approx((1 + 1 / math.log2(4)) / 3)  # = 0.5
    assert "hr@5" not in metrics and metrics["users"] == 3 and metrics["invalid"] == 0


@pytest.mark.parametrize("k", [1, 5, 10, 20])
def test_metrics_equal_brute_force_on_random_scores(fruits, k):
    rng = random.Random(k)
    table = torch.tensor([[rng.gauss(0, 1) for _ in TITLES] for _ in range(len(TITLES) + 1)])
    rows = [Sample(f"u{i}", tuple(rng.randrange(len(TITLES)) for _ in range(rng.randint(1, 10))),
                   rng.randrange(len(TITLES))) for i in range(200)]
    assert any(TITLES[r.target] == "kiwi" for r in rows)
    metrics, predictions = evaluate_rows(Table(table), fruits, rows, k=k)
    ranks = []
    for row, p in zip(rows, predictions):
        items, scores, rank = brute_force(table[row.history[-1] + 1].tolist(), TITLES[row.target], k)
        assert (p["items"], p["rank"]) == (items, rank)
        assert p["scores"] == pytest.approx(scores)
        ranks.append(rank)
    for cut in [c for c in (1, 3, 5, 10, 20) if c <= k]:
        hits = [r for r in ranks if r is not None and r <= cut]
        assert metrics[f"hr@{cut}"] == pytest.approx(len(hits) / len(rows))
        assert metrics[f"ndcg@{cut}"] == pytest.approx(sum(1 / math.log2(r + 1) for r in hits) / len(rows))


def test_top_titles_takes_the_max_over_a_titles_ids():
    titles, item_title = title_index(Catalogue(tuple(TITLES)))
    assert len(titles) == 12 and item_title[6] == item_title[12] == titles.index("kiwi")
    scores = torch.arange(13, dtype=torch.float).flip(0).unsqueeze(0)  # item 0 best, 12 worst
    values, idx = top_titles(scores, item_title, len(titles), 20)  # k > titles: all of them
    assert [titles[i] for i in idx[0, :7].tolist()] == TITLES[:7] and values.shape == (1, 12)
    assert values[0, 6].item() == 6.0  # kiwi = max(6.0 for id 6, 0.0 for id 12)


@pytest.mark.slow  # train_baseline imports igd.train (transformers): ~10 s on a loaded machine
def test_a_baseline_run_round_trips_through_the_store(fruits, tmp_path):
    store = RunStore(tmp_path / "runs.db")
    cfg = SeqRecConfig(model="gru4rec", data=fruits.root, epochs=2, k=5, net=GRU4RecConfig(hidden=16))
    try:
        metrics = train_baseline(cfg, store, progress=False)
        (run,) = store.runs(kind="baseline")
        assert (run["status"], run["model"], run["arm"], run["decoding"], run["train_method"]) == (
            "complete", "gru4rec", "gru4rec", None, None)
        assert (run["seed"], run["split"], run["dataset"]) == (0, "test", "fruits")
        assert run["dataset_fingerprint"] == fruits.fingerprint
        assert run["config"]["net"] == {"hidden": 16, "dropout": 0.2}
        assert {k: run["config"][k] for k in ("k", "max_users", "training_split", "epochs", "lr")} == {
            "k": 5, "max_users": None, "training_split": "train", "epochs": 2, "lr": 1e-3}
        assert run["metrics"] == pytest.approx(metrics)
        assert {"hr@5", "ndcg@5", "train_seconds", "epochs", "best_valid_ndcg@10"} <= set(metrics)
        assert metrics["epochs"] == 2 and metrics["users"] == len(fruits.split("test"))
        predictions = store.predictions(run["id"])
        assert len(predictions) == len(fruits.split("test"))
        assert all(len(p["items"]) == len(p["scores"]) == 5 for p in predictions)
        assert metrics["hr@5"] == pytest.approx(sum(p["rank"] is not None for p in predictions) / len(predictions))
        # A rerun with the same settings finds it (data path spelled differently); others do not.
        assert finished_baseline(replace(cfg, data=f"{fruits.root}/."), store) == run["metrics"]
        assert finished_baseline(replace(cfg, seed=1), store) is None
        assert finished_baseline(replace(cfg, epochs=3), store) is None
        assert finished_baseline(replace(cfg, model="sasrec", net=None), store) is None
        assert finished_baseline(cfg, None) is None
    finally:
        store.close()


@pytest.mark.slow  # as above
def test_train_on_valid_trains_on_valid_and_is_deterministic(fruits, tmp_path):
    cfg = SeqRecConfig(model="sasrec", data=fruits.root, epochs=2, train_on_valid=True)
    before, threads = torch.random.get_rng_state(), torch.get_num_threads()
    store = RunStore(tmp_path / "runs.db")
    try:
        first, second = (train_baseline(cfg, store, progress=False) for _ in range(2))
        assert [r["config"]["training_split"] for r in store.runs()] == ["valid", "valid"]
    finally:
        store.close()
    # The caller's RNG and thread count are untouched.
    assert torch.equal(torch.random.get_rng_state(), before) and torch.get_num_threads() == threads
    drop = ("train_seconds", "cpu_seconds")
    assert {k: v for k, v in first.items() if k not in drop} == {k: v for k, v in second.items() if k not in drop}
