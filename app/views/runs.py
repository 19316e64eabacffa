"""Runs: the run store read-only. Filter, compare methods (mean and spread over seeds), set them
beside the paper (paper_panel), follow beta and alpha sweeps, and see the zero-IG vs non-zero-IG
training losses (the paper's Fig. 2)."""

import altair as alt
import pandas as pd
import streamlit as st

from igd.config import ARMS, DECODINGS
from igd.store import summarize
from hosting import public
from paper_panel import paper_panel, sid_panel
from ui import current_paths, markdown_literal, name_of, runs_or_none, said, train_log

KS = (1, 3, 5, 10, 20)
FILTERS = {"dataset": "Dataset", "model": "Model", "method": "Arm (method)", "beta": "β", "alpha": "α",
           "seed": "Seed", "split": "Split"}

paths = current_paths()
st.title("Runs")
loaded = runs_or_none(paths["runs"])
if loaded is None:
    st.stop()
runs, key = loaded
# A model given as a local directory is a server path: hosted, its last part names it everywhere below.
runs = [{**r, "model": public(r["model"]) if r["model"] else r["model"]} for r in runs]
if not runs:
    st.info(f"The run store {said(name_of(paths['runs']))} has no runs yet.")
    st.stop()


def method_of(r: dict) -> str:
    """The arm's name in the paper's words (igd.config.ARMS); training runs by their method."""
    if r["kind"] == "train":
        return f"train {r['train_method']}"
    if r.get("arm") in ARMS:
        return ARMS[r["arm"]].label
    return f"{r['train_method']} + {r['decoding']}"


def setting_of(row: dict) -> str:
    """The arm with the beta / alpha it was run with, where the arm has them."""
    arm = ARMS.get(row.get("arm"))
    params = [f"β={row['beta']:g}" if arm and arm.uses_beta and row["beta"] == row["beta"] else "",
              f"α={row['alpha']:g}" if arm and arm.uses_alpha and row["alpha"] == row["alpha"] else ""]
    if isinstance(row.get("decisiveness"), str) and row["decisiveness"] != "ig":  # --decisiveness (NaN: none)
        params.append(str(row["decisiveness"]))
    params = [p for p in params if p]
    return method_of({"kind": "eval", **row}) + (f" ({', '.join(params)})" if params else "")


table = pd.DataFrame([{"id": r["id"], "kind": r["kind"], "status": r["status"], "dataset": r["dataset"],
                       "model": r["model"], "method": method_of(r), "beta": r["beta"], "alpha": r["alpha"],
                       "seed": r["seed"], "split": r["split"], "finished": r["finished_at"],
                       **r["metrics"]} for r in runs])
cols = st.columns(len(FILTERS))
view = table
for col, (name, label) in zip(cols, FILTERS.items()):
    options = sorted(table[name].dropna().unique().tolist())
    chosen = col.multiselect(label, options, key=f"filter_{name}")
    if chosen:
        view = view[view[name].isin(chosen)]
evals = view[(view["kind"] != "train") & (view["status"] == "complete")]
st.caption(f"{len(view)} of {len(table)} runs; {len(evals)} complete evaluations. Store: {said(name_of(paths['runs']))}.")
metric_cols = [c for c in ("hr@10", "ndcg@10", "fwr", "ise", "invalid", "users") if c in view.columns]
# Fixed decimals: long floats would otherwise be cut from the left in narrow columns.
number = {c: st.column_config.NumberColumn(format="%.4f") for c in ("hr@10", "ndcg@10", "fwr", "ise")}
st.dataframe(view[["id", "kind", "status", "dataset", "model", "method", "beta", "alpha", "seed", "split",
                   *metric_cols]], hide_index=True, width="stretch", column_config=number)

st.header("Methods compared")
family, k_col, split_col = st.columns(3)
fam = family.selectbox("Metric", ["HR", "NDCG", "FWR", "ISE"], key="metric_family")
k = k_col.selectbox("K", KS, index=3, key="metric_k", disabled=fam in ("FWR", "ISE"))
split = split_col.selectbox("Split", sorted(evals["split"].unique()) or ["test"], key="metric_split")
metric = f"{fam.lower()}@{k}" if fam in ("HR", "NDCG") else fam.lower()
picked = [r for r in runs if r["id"] in set(evals["id"]) and r["split"] == split]
summary = pd.DataFrame(summarize(picked, metric))
if summary.empty:
    st.info(f"No complete {markdown_literal(str(split))} evaluation with {metric} in this selection.")
else:
    summary["setting"] = [setting_of(row) for row in summary.to_dict("records")]
    summary["std"] = summary["std"].fillna(0.0)
    summary["low"], summary["high"] = summary["mean"] - summary["std"], summary["mean"] + summary["std"]
    x_title = f"{metric}: mean over seeds, bars ± 1 std"
    base = alt.Chart(summary).encode(y=alt.Y("setting:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)))
    bars = base.mark_bar(color="#4c6ef5").encode(
        x=alt.X("mean:Q", title=x_title),
        tooltip=["setting", "dataset", "model", alt.Tooltip("mean:Q", format=".4f"),
                 alt.Tooltip("std:Q", format=".4f"), "n", "seeds"])
    spread = base.mark_errorbar(color="black").encode(x=alt.X("low:Q", title=x_title), x2="high:Q")
    st.altair_chart((bars + spread).properties(height=40 * len(summary) + 40), width="stretch")
    st.dataframe(summary[["dataset", "model", "setting", "n", "mean", "std", "seeds"]], hide_index=True,
                 width="stretch")

paper_panel(runs, key)
sid_panel(runs, key)

st.header("Sweeps")
st.caption("α of a decoding with step weights on the same checkpoint, and a training method's β "
           "decoded with D3 (how the paper selects them on the validation split: β first, then α).")
in_view = [r for r in runs if r["id"] in set(evals["id"]) and r["kind"] == "eval"]
alpha_sweep = pd.DataFrame(summarize([r for r in in_view if DECODINGS[r["decoding"]].uses_alpha], metric))
beta_sweep = pd.DataFrame(summarize([r for r in in_view if r["decoding"] == "d3" and r["beta"] is not None],
                                    metric))
curves = []
if not alpha_sweep.empty:
    for (ds, model, arm, beta, sp), g in alpha_sweep.groupby(["dataset", "model", "arm", "beta", "split"],
                                                              dropna=False):
        if g["alpha"].nunique() > 1:
            name = ARMS[arm].label if arm in ARMS else str(arm)
            beta_text = "" if beta != beta else f" β={beta:g}"
            curves.append(g.assign(curve=f"{ds}/{model} {name}{beta_text} ({sp})", x=g["alpha"], sweep="α"))
if not beta_sweep.empty:
    for (ds, model, method, sp), g in beta_sweep.groupby(["dataset", "model", "train_method", "split"], dropna=False):
        if g["beta"].nunique() > 1:
            curves.append(g.assign(curve=f"{ds}/{model} {method}, D3 decoding ({sp})", x=g["beta"], sweep="β"))
if curves:
    data = pd.concat(curves)
    for sweep in ("α", "β"):
        part = data[data["sweep"] == sweep]
        if not part.empty:
            st.altair_chart(alt.Chart(part).mark_line(point=True).encode(
                x=alt.X("x:Q", title=sweep), y=alt.Y("mean:Q", title=metric, scale=alt.Scale(zero=False)),
                color=alt.Color("curve:N", title=None,  # below the plot: long names stay whole
                                legend=alt.Legend(orient="bottom", labelLimit=500, columns=1)),
                tooltip=["curve", "x", alt.Tooltip("mean:Q", format=".4f"), "n"],
            ).properties(title=f"{metric} against {sweep}", height=260), width="stretch")
else:
    st.info("No sweep in this selection: run `igd experiment --alpha 0,0.1,0.2,0.4` (or `--beta ...`).")

st.header("Training losses: zero-IG vs non-zero-IG tokens")
trains = [r for r in runs if r["kind"] == "train" and r["id"] in set(view["id"])]
if not trains:
    st.info("No training run in this selection.")
else:
    labels = {r["id"]: f"run {r['id']}: {r['model']} {r['train_method']}"
              + (f" β={r['beta']:g}" if r["train_method"] != "sft" and r["beta"] is not None else "")
              + f" seed {r['seed']} ({r['status']})" for r in trains}
    chosen = st.multiselect("Training runs", list(labels), default=list(labels)[:2], format_func=labels.get,
                            key="loss_runs")
    logs = pd.DataFrame([{**row, "run": labels[rid]} for rid in chosen for row in train_log(*key, rid)
                         if row["name"] in ("loss_zero_ig", "loss_nonzero_ig", "eval_loss")])
    if logs.empty:
        st.info("These runs logged no per-token-group losses.")
    else:
        logs["tokens"] = logs["name"].map({"loss_zero_ig": "zero-IG tokens", "loss_nonzero_ig": "non-zero-IG tokens",
                                           "eval_loss": "validation (plain CE)"})
        st.altair_chart(alt.Chart(logs.dropna(subset=["value"])).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
            x=alt.X("step:Q"), y=alt.Y("value:Q", title="mean token loss (CE)"),
            # runs by colour (told apart in the legend), token groups by dash
            color=alt.Color("run:N", scale=alt.Scale(scheme="tableau10"),  # the theme's first two are both blue
                            legend=alt.Legend(orient="bottom", labelLimit=400, columns=1)),
            strokeDash=alt.StrokeDash("tokens:N", legend=alt.Legend(orient="bottom")),
            tooltip=["run", "tokens", "step", alt.Tooltip("value:Q", format=".3f")],
        ).properties(height=320), width="stretch")
