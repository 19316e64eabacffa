"""What `igd report` and the app's Runs page show, computed from run-store rows (pure: rows and
predictions in, tables out; no SQL, no Streamlit, no figures).

- `arm_table`: each arm's test metrics, mean ± std over seeds (the paper's Table 2 / 3 rows).
- `paired`: IGD against its base (D3, BIGRec) over the same users: relative improvement, a
  two-sided sign test on the users whose metric differs (scipy.stats.binomtest) and a paired
  bootstrap 95% interval of the mean difference (scipy.stats.bootstrap). Per-user values are
  averaged over the seeds both arms share, so users, not seeds, are the unit.
- `paper_numbers`: the paper's published figures (igd/paper_numbers.csv) for the same table.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from importlib import resources
from typing import Callable, Iterable, Mapping, Sequence

from igd.config import ARMS
from igd.store import decisiveness_of

# IGD over its base, as the paper's Table 2 reports improvements.
PAIRS: tuple[tuple[str, str], ...] = (("d3", "igd"), ("bigrec", "bigrec_igd"))
ABLATION = ("d3", "igd_t", "igd_d", "igd")  # Table 3: neither, tuning only, decoding only, both
TABLE_METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")
PAPER_FILE = "paper_numbers.csv"
PAPER_COLUMNS = ("table", "dataset", "method", "metric", "kind", "value", "source")
BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED = 2000, 0


def test_runs(rows: Iterable[Mapping], dataset: str, decisiveness: str = "ig") -> dict[str, dict[int, Mapping]]:
    """arm -> seed -> its latest complete test evaluation (a re-run replaces), of the runs with
    this decisiveness measure (IG: the paper's; baselines have none and count under IG)."""
    out: dict[str, dict[int, Mapping]] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        if (r["status"] == "complete" and r["split"] == "test" and r["dataset"] == dataset
                and r["kind"] in ("eval", "baseline") and r.get("arm") in ARMS
                and (decisiveness_of(r) or "ig") == decisiveness):
            out.setdefault(r["arm"], {})[r["seed"]] = r
    return out


def measures(rows: Iterable[Mapping], dataset: str) -> list[str]:
    """The decisiveness measures of this dataset's test evaluations, IG first."""
    found = {decisiveness_of(r) or "ig" for r in rows if r["dataset"] == dataset and r["split"] == "test"}
    return sorted(found, key=lambda m: (m != "ig", m))


@dataclass(frozen=True)
class Cell:
    mean: float
    std: float | None  # sample std over seeds; None for one seed
    n: int

    def text(self, digits: int = 4) -> str:
        body = f"{self.mean:.{digits}f}".lstrip("0") if self.mean < 1 else f"{self.mean:.{digits}f}"
        return body if self.std is None else f"{body} ± {self.std:.{digits}f}".replace(" 0.", " .")


def cell(values: Sequence[float]) -> Cell:
    return Cell(statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None, len(values))


def arm_table(runs: Mapping[str, Mapping[int, Mapping]], arms: Sequence[str],
              metrics: Sequence[str] = TABLE_METRICS) -> list[dict]:
    """One row per arm present: its label, seeds and a Cell per metric it has."""
    rows = []
    for arm in arms:
        by_seed = runs.get(arm)
        if not by_seed:
            continue
        cells = {m: cell([r["metrics"][m] for r in by_seed.values()]) for m in metrics
                 if all(m in r["metrics"] for r in by_seed.values())}
        rows.append({"arm": arm, "label": ARMS[arm].label, "seeds": sorted(by_seed), "cells": cells})
    return rows


def user_values(predictions: Sequence[Mapping], metric: str) -> dict[int, float]:
    """user_index -> HR@K (0/1) or NDCG@K (1/log2(rank+1)) of one run, from its stored ranks."""
    name, k = metric.split("@")

    def value(rank: int | None) -> float:
        if rank is None or rank > int(k):
            return 0.0
        return 1.0 if name == "hr" else 1.0 / math.log2(rank + 1)

    if name not in ("hr", "ndcg"):
        raise ValueError(f"metric {metric!r}: paired tests take hr@K or ndcg@K")
    return {int(p["user_index"]): value(p["rank"]) for p in predictions}


def paired(base: Mapping[int, Sequence[Mapping]], arm: Mapping[int, Sequence[Mapping]], metric: str) -> dict:
    """`base` and `arm`: seed -> that run's predictions. Compares the seeds both have."""
    import numpy as np
    from scipy import stats

    seeds = sorted(set(base) & set(arm))
    if not seeds:
        raise ValueError("no seed evaluated under both arms")
    per_seed = [(user_values(base[s], metric), user_values(arm[s], metric)) for s in seeds]
    users = sorted(set.intersection(*[set(a) & set(b) for a, b in per_seed]))
    if not users:
        raise ValueError("no per-user predictions stored for both arms")
    a = np.array([[pa[u] for u in users] for pa, _ in per_seed]).mean(axis=0)
    b = np.array([[pb[u] for u in users] for _, pb in per_seed]).mean(axis=0)
    diff = b - a
    wins, losses = int((diff > 0).sum()), int((diff < 0).sum())
    p_sign = stats.binomtest(wins, wins + losses, 0.5).pvalue if wins + losses else 1.0
    if np.all(diff == diff[0]):  # no spread to resample
        low = high = float(diff[0])
    else:
        ci = stats.bootstrap((diff,), np.mean, n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                             random_state=np.random.default_rng(BOOTSTRAP_SEED)).confidence_interval
        low, high = float(ci.low), float(ci.high)
    mean_a, mean_b = float(a.mean()), float(b.mean())
    return {"metric": metric, "seeds": seeds, "users": len(users), "base": mean_a, "arm": mean_b,
            "relative": (mean_b - mean_a) / mean_a if mean_a else float("nan"), "wins": wins,
            "losses": losses, "p_sign": float(p_sign), "ci_low": low, "ci_high": high}


def improvement_rows(predictions: Callable[[int], Sequence[Mapping]], runs: Mapping[str, Mapping[int, Mapping]],
                     metrics: Sequence[str] = ("hr@10", "ndcg@10")) -> list[dict]:
    """IGD against its base for every pair of PAIRS evaluated here: `paired` per metric, with
    the two arms. `predictions(run_id)`: a run's stored per-user predictions."""
    rows = []
    for base, arm in PAIRS:
        if base not in runs or arm not in runs:
            continue
        preds = {name: {s: predictions(r["id"]) for s, r in runs[name].items()} for name in (base, arm)}
        for m in metrics:
            try:
                rows.append({"base_arm": base, "igd_arm": arm, **paired(preds[base], preds[arm], m)})
            except ValueError:  # a store without per-user predictions (e.g. the demo's): means only
                rows.append({"base_arm": base, "igd_arm": arm, **unpaired(runs[base], runs[arm], m)})
    return rows


def unpaired(base: Mapping[int, Mapping], arm: Mapping[int, Mapping], metric: str) -> dict:
    """The seed-means of both arms from their stored metrics, with no test (no per-user ranks)."""
    seeds = sorted(set(base) & set(arm))
    mean_a = statistics.fmean(base[s]["metrics"][metric] for s in seeds) if seeds else float("nan")
    mean_b = statistics.fmean(arm[s]["metrics"][metric] for s in seeds) if seeds else float("nan")
    return {"metric": metric, "seeds": seeds, "users": 0, "base": mean_a, "arm": mean_b,
            "relative": (mean_b - mean_a) / mean_a if mean_a else float("nan"), "wins": None,
            "losses": None, "p_sign": None, "ci_low": None, "ci_high": None}


def paper_range(paper: Sequence[Mapping], table: str, metric: str) -> tuple[float, float] | None:
    """(min, max) the paper states for `metric` in `table`, or None."""
    found = {r["kind"]: r["value"] for r in paper if r["table"] == table and r["metric"] == metric}
    return (found["min"], found["max"]) if {"min", "max"} <= set(found) else None


def paper_numbers(text: str | None = None) -> list[dict]:
    """The paper's published figures: igd/paper_numbers.csv (or `text` in its format)."""
    if text is None:
        text = resources.files("igd").joinpath(PAPER_FILE).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    reader = csv.DictReader(lines)
    if tuple(reader.fieldnames or ()) != PAPER_COLUMNS:
        raise ValueError(f"{PAPER_FILE}: columns must be {', '.join(PAPER_COLUMNS)}, got {reader.fieldnames}")
    rows = []
    for i, row in enumerate(reader, start=2):
        try:
            value = float(row["value"])
        except (TypeError, ValueError):
            raise ValueError(f"{PAPER_FILE}: row {i}: value {row['value']!r} is not a number") from None
        rows.append({**row, "value": value})
    return rows


def paper_for(rows: Sequence[Mapping], table: str) -> list[Mapping]:
    return [r for r in rows if r["table"] == table]
