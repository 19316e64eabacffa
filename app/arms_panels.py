"""The Recommend page's two "why" panels, layout only: one item across all arms, and where two
arms' beams part (Eq. 8-9 at that step). Everything shown is computed by igd.arms_view."""

from __future__ import annotations

from typing import Callable

import altair as alt
import pandas as pd
import streamlit as st

from igd.arms_view import divergence, item_across_arms
from igd.compare import TOKEN_LEGEND, Comparison
from igd.sid_view import level_label
from ui import markdown_literal

CHART_TOP = 8  # candidates per arm drawn in the divergence chart


def fit(rows: int, most: int = 15) -> int:
    """A dataframe's height showing `rows` rows whole (up to `most`, then it scrolls)."""
    return 35 * (min(rows, most) + 1) + 3


IG_NORM_NOTE = ("IG~ is the token's IG min-max scaled over the candidate tokens of its own step (Eq. 9): "
                "1 for the most decisive candidate, 0 for the least (and for every token when all are alike); "
                "IGD-Decoding weights the step's log p by w = 1 − α·IG~ (Eq. 8).")
ITEM_TITLE_NOTE = (TOKEN_LEGEND + " BIGRec-style arms (length penalty 1) divide the sum by the number of tokens, "
                   "so their scores (about −0.3) are on another scale than D3's sums (about −3).")
ITEM_SID_NOTE = ("Each step is one code level of the semantic ID (a = level 1, the coarsest, then b, c, …); the "
                 "last step is EOS, the end of the ID. BIGRec-style arms (length penalty 1) divide the sum by the "
                 "number of tokens, so their scores are on another scale than D3's sums.")


def item_panel(result: Comparison, truth: str | None, catalogue_titles: list[str],
               shown_as: Callable[[str], str] = str, items: str = "title") -> None:
    """`catalogue_titles`: the item keys (titles, or semantic IDs); `shown_as`: a key as the page
    shows it (a semantic ID with its title); `items`: "sid" adds each token's code level."""
    st.header("One item across arms")
    st.caption("Pick any title (the ground truth, a listed one, or type to search the catalogue): its rank, "
               "beam score and token path under every arm. Arrows: rank shift from the first column's arm.")
    listed = list(dict.fromkeys(r.title for label in result.sides for r in result.top(label)))
    options = list(dict.fromkeys(([truth] if truth else []) + listed + sorted(catalogue_titles, key=shown_as)))
    title = st.selectbox("Title", options, key="item_title",
                         format_func=lambda t: f"{shown_as(t)}  (ground truth)" if t == truth else shown_as(t))
    try:
        rows = item_across_arms(result, title)
    except ValueError as err:
        st.warning(markdown_literal(str(err)))
        return
    table = pd.DataFrame([{"arm": r.arm, "rank": r.rank if r.rank else f"not in top {result.k}",
                           "shift": r.shift, "beam score": r.score,
                           "tokens": " | ".join(p["token"] for p in r.path)} for r in rows])
    st.dataframe(table, hide_index=True, width="stretch", height=fit(len(table)),
                 column_config={"beam score": st.column_config.NumberColumn(format="%.4f")})
    paths = {tuple(p["token_id"] for p in r.path) for r in rows}
    if len(paths) == 1:  # one tokenizer: one row per token, one column per arm (what it adds, w·log p)
        steps = pd.DataFrame({"step": [p["step"] for p in rows[0].path], "token": [p["token"] for p in rows[0].path],
                              "IG": [p["ig"] for p in rows[0].path], "IG~": [p["ig_norm"] for p in rows[0].path]})
        if items == "sid":  # as the token path shows it: "1 (a)", …, "EOS"
            steps.insert(1, "level", [level_label(t) for t in steps["token"]])
        for r in rows:
            steps[f"{r.arm}: w·log p"] = [p["score"] for p in r.path]
    else:  # checkpoints with other tokenizers split the title differently: one row per arm and token
        steps = pd.DataFrame([{"arm": r.arm, "step": p["step"],
                               **({"level": level_label(p["token"])} if items == "sid" else {}), "token": p["token"],
                               "IG": p["ig"], "IG~": p["ig_norm"], "w·log p": p["score"]} for r in rows for p in r.path])
    st.dataframe(steps, hide_index=True, width="stretch", height=fit(len(steps), most=25))
    st.caption(ITEM_SID_NOTE if items == "sid" else ITEM_TITLE_NOTE)


def divergence_panel(result: Comparison, shown_as: Callable[[str], str] = str) -> None:
    """`shown_as`: an item key as the page shows it ("title · ID" for a semantic ID)."""
    st.header("Where the beams part")
    labels = list(result.sides)
    a_col, b_col = st.columns(2)
    arm_a = a_col.selectbox("Arm A", labels, index=0, key="part_a")
    arm_b = b_col.selectbox("Arm B", labels, index=len(labels) - 1, key="part_b")
    if arm_a == arm_b:
        st.info("Pick two different arms.")
        return
    try:
        d = divergence(result, arm_a, arm_b, shown_as)
    except ValueError as err:
        st.warning(markdown_literal(str(err)))
        return
    topk = (f"Their top-{result.k} lists first reach different trie nodes at token {d.topk_step} (the sets of "
            f"their titles' first {d.topk_step} tokens differ)." if d.topk_step else
            f"Their top-{result.k} lists hold the same titles.")
    if d.step is None:
        st.info(markdown_literal(d.note) + " " + topk)
        return
    prefix = "".join(d.prefix) or "(nothing yet)"
    st.markdown(f"**Step {d.step}**: after the shared prefix **{markdown_literal(prefix)}**, "
                f"{markdown_literal(arm_a)}'s top title takes **{markdown_literal(d.chosen[0])}** and "
                f"{markdown_literal(arm_b)}'s takes **{markdown_literal(d.chosen[1])}**. {topk}")
    st.caption(markdown_literal(d.note) + " " + IG_NORM_NOTE)
    table = pd.DataFrame(d.candidates).drop(columns="token_id")
    names = {"ig": "IG", "ig_norm": "IG~"}
    for suffix, arm in (("_a", "A"), ("_b", "B")):
        names.update({f"log_p{suffix}": f"log p ({arm})", f"weight{suffix}": f"w ({arm})",
                      f"score{suffix}": f"w·log p ({arm})", f"order{suffix}": f"order ({arm})"})
    st.dataframe(table.rename(columns=names), hide_index=True, width="stretch", height=fit(len(table)))
    # The chart: the candidates either arm ranks in its first CHART_TOP (hundreds of labelled points at
    # the first step were one unreadable blob), the two chosen tokens always among them.
    best = (table["order_a"] <= CHART_TOP) | (table["order_b"] <= CHART_TOP) | table["token"].isin(d.chosen)
    shown = table[best]
    points = pd.concat([pd.DataFrame({"token": shown["token"], "IG": shown["ig"], "w·log p": shown[f"score{s}"],
                                      "arm": name}) for s, name in (("_a", arm_a), ("_b", arm_b))])
    # linear by default (distances compare as numbers); symlog spreads the small IGs near 0
    log_ig = st.checkbox("Log IG axis (symlog)", key="part_ig_log")
    # zero=False: the first step's candidates all have IG near H(root) (6.5-7 nats on MovieLens)
    scale = alt.Scale(type="symlog", constant=0.01) if log_ig else alt.Scale(type="linear", zero=False)
    arms = alt.Scale(domain=[arm_a, arm_b], range=["#1c7ed6", "#e8590c"])  # two colours far apart
    chart = alt.Chart(points).mark_point(filled=True, size=90).encode(
        x=alt.X("IG:Q", title=f"IG of the candidate token (nats, {'symlog' if log_ig else 'linear'} scale)",
                scale=scale),
        y=alt.Y("w·log p:Q", title="step score w·log p", scale=alt.Scale(zero=False)),
        color=alt.Color("arm:N", title=None, scale=arms, legend=alt.Legend(orient="bottom", labelLimit=300)),
        shape=alt.Shape("arm:N", title=None, scale=alt.Scale(domain=[arm_a, arm_b], range=["circle", "diamond"])),
        tooltip=["arm", "token", alt.Tooltip("IG:Q", format=".4f"), alt.Tooltip("w·log p:Q", format=".4f")])
    labels_layer = chart.mark_text(dx=8, align="left", fontSize=12).encode(text="token:N")
    st.altair_chart((chart + labels_layer).properties(
        title=alt.TitleParams(f"Step {d.step}: candidates' scores under both arms", subtitle=(
            f"the {CHART_TOP} best of each arm, of {len(table)} allowed tokens (all in the table above); "
            "higher is better")), height=320), width="stretch")
