"""The IGD paper's published tables (igd/paper_numbers.csv) as `igd report` and the app read them
(pure: no SQL, no Streamlit).

The file holds every cell of the paper's Tables 1-8 and appendix H (Lin et al. 2025; Qwen2.5-1.5B
with LoRA unless a row's backbone says otherwise), the ranges derived from them, and this
project's arm for each row. A store's dataset is "the paper's" only by name (CDs, Games, Toys,
Books, Steam, or the Amazon 2018 category names): then the paper's value for the same arm and
metric stands beside ours. Any other dataset gets the paper's per-dataset numbers for scale,
labelled as the paper's model and data, never as a target for this run.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from importlib import resources

PAPER_FILE = "paper_numbers.csv"
PAPER_COLUMNS = ("table", "dataset", "backbone", "method", "arm", "metric", "kind", "value", "source")
PAPER_DATASETS = ("CDs", "Games", "Toys", "Books", "Steam")
# A store's dataset name (lower case, '-' and ' ' as '_') -> the paper's dataset it is.
_ALIASES = {"cds": "CDs", "cds_and_vinyl": "CDs", "games": "Games", "video_games": "Games", "toys": "Toys",
            "toys_and_games": "Toys", "books": "Books", "steam": "Steam"}
PAIR_METHODS = {("d3", "igd"): "D3+IGD vs D3", ("bigrec", "bigrec_igd"): "BIGRec+IGD vs BIGRec"}


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


def paper_range(paper: Sequence[Mapping], table: str, metric: str) -> tuple[float, float] | None:
    """(min, max) the paper's cells span for `metric` in `table` (derived ranges), or None."""
    found = {r["kind"]: r["value"] for r in paper if r["table"] == table and r["metric"] == metric
             and r["kind"] in ("min", "max")}
    return (found["min"], found["max"]) if {"min", "max"} <= set(found) else None


def paper_dataset(name: str) -> str | None:
    """The paper's dataset a store's dataset is, by name; None for any other data."""
    return _ALIASES.get(name.lower().replace("-", "_").replace(" ", "_"))


def paper_value(paper: Sequence[Mapping], dataset: str, arm: str, metric: str,
                tables: Sequence[str] = ("Table 2", "Table 3", "Table 6")) -> float | None:
    """The paper's value of `arm` and `metric` on its `dataset`: the first of `tables` that has it
    (Table 2's D3+IGD rows for Toys and Books were lost; Table 3 has them)."""
    for table in tables:
        for r in paper:
            if (r["table"], r["dataset"], r["arm"], r["metric"], r["kind"]) == (table, dataset, arm, metric, "value"):
                return r["value"]
    return None


def paper_improvement(paper: Sequence[Mapping], dataset: str, base: str, arm: str, metric: str) -> tuple[float, str] | None:
    """The paper's relative improvement of `arm` over `base` on its `dataset`: as printed in
    Table 2 (or Table 6, Steam), else derived from the two rows' cells; (value, 'printed' or
    'from its rows'), None when neither is there."""
    method = PAIR_METHODS.get((base, arm))
    for r in paper:
        if (r["table"] in ("Table 2", "Table 6") and r["dataset"] == dataset and r["method"] == method
                and r["metric"] == metric and r["kind"] == "improvement"):
            return r["value"], "printed"
    a, b = paper_value(paper, dataset, base, metric), paper_value(paper, dataset, arm, metric)
    return ((b - a) / a, "from its rows") if a and b is not None else None


def improvements_table(paper: Sequence[Mapping], pairs: Sequence[tuple[str, str]],
                       metrics: Sequence[str] = ("hr@10", "ndcg@10")) -> list[list[str]]:
    """One row per paper dataset: its relative improvement for each pair and metric ('*': derived
    from its rows, not printed)."""
    out = []
    for dataset in PAPER_DATASETS:
        cells = []
        for base, arm in pairs:
            for m in metrics:
                found = paper_improvement(paper, dataset, base, arm, m)
                cells.append("–" if found is None else f"{found[0] * 100:+.1f}%" + ("*" if found[1] != "printed" else ""))
        if any(c != "–" for c in cells):
            out.append([dataset, *cells])
    return out
