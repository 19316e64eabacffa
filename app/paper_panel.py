"""The Runs page's "paper vs this run" view: the same tables `igd report` writes
(igd.report_data), for one dataset of the store, beside the paper's published figures; and for
a store with semantic-ID arms, `igd report`'s semantic-ID tables (igd.report_sid)."""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from igd import report
from igd import report_data as rd
from igd import report_paired
from igd import report_paper as rp
from igd import report_sid
from igd.config import ARMS
from ui import markdown_literal, predictions


def paper_panel(runs: list[dict], key: tuple[str, float]) -> None:
    st.header("Paper vs this run")
    datasets = sorted({r["dataset"] for r in runs if r["split"] == "test" and r["status"] == "complete"
                       and r["kind"] in ("eval", "baseline")})
    if not datasets:
        st.info("No complete test evaluation in this store: `igd experiment` writes them.")
        return
    dataset = st.selectbox("Dataset", datasets, key="paper_dataset")
    tested = rd.test_runs(runs, dataset)
    paper = rp.paper_numbers()
    table = rd.arm_table(tested, list(ARMS), ("hr@10", "ndcg@10", "fwr", "ise"))
    st.dataframe(pd.DataFrame([{"method": r["label"], "seeds": len(r["seeds"]),
                                **{m: r["cells"][m].text() if m in r["cells"] else "–"
                                   for m in ("hr@10", "ndcg@10", "fwr", "ise")}} for r in table]),
                 hide_index=True, width="stretch", height="content")  # every arm (13) without a scroll
    st.caption("Test split, mean ± sample std over seeds (no ± for one seed).")
    span = rp.paper_range(paper, "Table 2", "relative_improvement")
    rows = rd.improvement_rows(partial(predictions, *key), tested)
    if not rows:
        st.info("IGD and its base (D3, BIGRec) are not both evaluated on this dataset's test split."
                + (" Its semantic-ID arms are compared below." if any(a.startswith("sid_") for a in tested) else ""))
        return
    paper_text = f"{span[0]:+.1%} … {span[1]:+.1%}" if span else "–"
    theirs = rp.paper_dataset(dataset)

    def paper_cell(t) -> str:
        if theirs is None:
            return paper_text
        got = rp.paper_improvement(paper, theirs, t["base_arm"], t["igd_arm"], t["metric"])
        return "–" if got is None else f"{got[0]:+.1%}"

    st.dataframe(pd.DataFrame([{
        "comparison": f"{ARMS[t['igd_arm']].label} vs {ARMS[t['base_arm']].label}", "metric": t["metric"],
        "seeds": len(t["seeds"]), "test rows": t["rows"] or "no per-user ranks", "users": t["users"] or "–",
        "this run": f"{t['relative']:+.1%}",
        "per-seed Δ": "–" if t["per_seed"] is None else " ".join(f"{d:+.4f}" for d in t["per_seed"]),
        ("paper (" + theirs + ")" if theirs else "paper (its datasets)"): paper_cell(t),
        "users up/down": "–" if t["wins"] is None else f"{t['wins']}/{t['losses']}",
        "p (sign test over users)": None if t["p_sign"] is None else round(t["p_sign"], 4),
        "p (Holm)": None if t["p_holm"] is None else round(t["p_holm"], 4),
        "95% CI, users resampled": "–" if t["ci_low"] is None else f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}]",
        "identical top-10 sets": "lists not kept" if t["identical"] is None else
        f"{t['identical']['same_rows'] / t['identical']['rows']:.0%} of rows",
    } for t in rows]), hide_index=True, width="stretch")
    if any(t["p_sign"] is None for t in rows):
        st.caption("This store keeps no per-user predictions for some runs: their rows compare the means only, "
                   "with no test.")
    notes = report_paired.improvement_notes(rows)
    if notes:
        st.markdown("\n".join(notes))
    st.caption(markdown_literal(
        "The unit is the user: several test rows (sliding windows) can be one user's. Relative improvement of "
        "the arm over its base on the same test rows; p: two-sided sign test over the users whose value differs "
        "(each user's metric averaged over their rows and the seeds), Holm-adjusted over the table; CI: cluster "
        "bootstrap resampling users. The paper's column is its own model and data (igd/paper_numbers.csv) "
        + ("for this dataset." if theirs else "for scale: the range of its Table 2 cells.")
        + " `igd report` writes the same tables with the protocol, ablation, diversity against α, β sensitivity "
        "and the figures."))
    alpha_panel(runs, dataset, paper)


def alpha_panel(runs: list[dict], dataset: str, paper) -> None:
    """Table 7 (FWR and ISE against α, with the trend as Spearman's ρ) and Fig. 3 in numbers (the
    entropy gap per decoding step), as `igd report` writes them."""
    st.subheader("Diversity against α (Table 7) and the entropy gap (Fig. 3)")
    diversity = report.table7(runs, dataset, paper)[2:]  # [2:]: the report's "###" heading
    gap, _ = report.entropy_gap_evals(runs, dataset)
    st.markdown("\n".join(diversity + [""] + report.entropy_gap_table(gap))
                or "No evaluation of this dataset stores FWR, ISE or prefix entropies.")


def sid_panel(runs: list[dict], key: tuple[str, float]) -> None:
    """The semantic-ID comparison `igd report` writes: every SID method, the random-code control
    and the title reference in one table, then each against its reference, paired over users."""
    if not report_sid.has_sid(runs):
        return
    st.header("Semantic IDs: IDs, the random-code control and titles")
    table, paired = _sid_tables(*key, runs)
    st.markdown(table)
    st.markdown(paired)


@st.cache_data(show_spinner="Paired tests over users…", max_entries=8)
def _sid_tables(path: str, mtime: float, _runs: list[dict]) -> tuple[str, str]:
    """Both tables as Markdown, once per store version (path, mtime): the bootstraps take seconds."""
    tested = report_sid.sid_runs(_runs)
    # [2:]: the report's own "###" headings; this page has its header
    return ("\n".join(report_sid.table(tested)[2:]),
            "\n".join(report_sid.comparisons(partial(predictions, path, mtime), tested)[2:]))
