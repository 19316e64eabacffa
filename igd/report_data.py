"""What `igd report` and the app's Runs page show, computed from run-store rows (pure: rows and
predictions in, tables out; no SQL, no Streamlit, no figures).

- `arm_table`: each arm's test metrics, mean ± std over seeds (the paper's Table 2 / 3 rows).
- `improvement_rows`: IGD against its base (D3, BIGRec) and the ablation over the same test
  rows, with the user as the unit (igd.report_stats: sign test over users, cluster bootstrap,
  per-seed differences), Holm-adjusted p-values, identical top-K sets, one-checkpoint checks.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Sequence

from igd.config import ARMS
from igd.pairing import same_checkpoint
from igd.report_stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, holm, identical_sets, paired, row_values
from igd.store import decisiveness_of

__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "holm", "paired", "row_values"]  # re-exported for the report and app

# IGD over its base, as the paper's Table 2 reports improvements.
PAIRS: tuple[tuple[str, str], ...] = (("d3", "igd"), ("bigrec", "bigrec_igd"))
ABLATION = ("d3", "igd_t", "igd_d", "igd")  # Table 3: neither, tuning only, decoding only, both
# What the report tests: IGD over its bases, the ablation's halves over D3, and BIGRec against
# D3 (one checkpoint, two length penalties: often the same top-10 sets in another order).
COMPARISONS: tuple[tuple[str, str], ...] = (*PAIRS, ("d3", "igd_t"), ("d3", "igd_d"), ("d3", "bigrec"))
TABLE_METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10")


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


def improvement_rows(predictions: Callable[[int], Sequence[Mapping]], runs: Mapping[str, Mapping[int, Mapping]],
                     metrics: Sequence[str] = ("hr@10", "ndcg@10"),
                     pairs: Sequence[tuple[str, str]] = COMPARISONS) -> list[dict]:
    """Each (base, arm) of `pairs` evaluated here, per metric: the user-level test
    (igd.report_stats.paired), Holm's adjustment over every test of the list (`p_holm`), the
    share of identical top-K sets, whether both arms decoded one checkpoint where they share
    training (`same_checkpoint`: True / False / None when they train apart), and `same_as`: the
    earlier row whose per-row evidence this one repeats. `predictions(run_id)`: a run's rows."""
    rows = []
    for base, arm in pairs:
        if base not in runs or arm not in runs:
            continue
        preds = {name: {s: predictions(r["id"]) for s, r in runs[name].items()} for name in (base, arm)}
        common = {"base_arm": base, "igd_arm": arm, "identical": identical_sets(preds[base], preds[arm]),
                  "same_checkpoint": _one_checkpoint((base, arm), runs[base], runs[arm])}
        for m in metrics:
            try:
                rows.append({**common, **paired(preds[base], preds[arm], m)})
            except ValueError:  # a store without per-user predictions (e.g. the demo's): means only
                rows.append({**common, **unpaired(runs[base], runs[arm], m)})
    for i, (row, p) in enumerate(zip(rows, holm([r["p_sign"] for r in rows]))):
        row["p_holm"] = p
        row["same_as"] = next((j for j in range(i) if rows[j].get("evidence") is not None
                               and rows[j]["metric"] == row["metric"] and rows[j]["evidence"] == row.get("evidence")),
                              None)
    return rows


def _one_checkpoint(names: tuple[str, str], base: Mapping[int, Mapping], arm: Mapping[int, Mapping]) -> dict | None:
    """For arms that share training: per shared seed, did both decode the same checkpoint files
    (igd.pairing)? None for arms that train apart (their checkpoints differ by design)."""
    a, b = ARMS[names[0]], ARMS[names[1]]
    if a.baseline or b.baseline or (a.train, a.weighting, a.items) != (b.train, b.weighting, b.items):
        return None
    return {s: same_checkpoint(base[s], arm[s]) for s in sorted(set(base) & set(arm))}


def unpaired(base: Mapping[int, Mapping], arm: Mapping[int, Mapping], metric: str) -> dict:
    """The seed-means of both arms from their stored metrics, with no test (no per-user ranks)."""
    seeds = sorted(set(base) & set(arm))
    mean_a = statistics.fmean(base[s]["metrics"][metric] for s in seeds) if seeds else float("nan")
    mean_b = statistics.fmean(arm[s]["metrics"][metric] for s in seeds) if seeds else float("nan")
    return {"metric": metric, "seeds": seeds, "rows": 0, "users": 0, "base": mean_a, "arm": mean_b,
            "relative": (mean_b - mean_a) / mean_a if mean_a else float("nan"), "wins": None,
            "losses": None, "p_sign": None, "ci_low": None, "ci_high": None, "per_seed": None, "evidence": None}
