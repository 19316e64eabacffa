"""Recommend: a history in, the top K of 2-5 arms side by side (each a checkpoint, a decoding and
α: the paper's ablation as presets), the token path of any recommendation (log-prob, IG, IGD
weight, zero-IG tokens, the candidates of every step), one item across all arms, and the step
where two arms' beams part."""

import altair as alt
import pandas as pd
import streamlit as st

from arms_panels import IG_NORM_NOTE, divergence_panel, item_panel
from igd.compare import (EXAMPLE_TITLES, TOKEN_LEGEND, check_history, compare_arms, example_history, path_rows,
                         preset_arms)
from igd.config import ARMS, DECODINGS, DEFAULT_VIEW, VIEW_ARMS_MAX, VIEW_ARMS_MIN, VIEW_PRESETS
from igd.sid_view import history_keys, item_labels, readable_titles
from ui import (MAX_PASTE_CHARS, MAX_PASTE_LINES, bounded_entries, checkpoints_or_stop, current_paths, decode_threads,
                dataset_or_stop, fail, loaded_or_stop, markdown_literal, name_of, pick_checkpoint, said)

DIFFERS, TRUTH = "background-color: #fff3bf", "background-color: #c3fae8; font-weight: bold"
DIFFERS_MARK, TRUTH_MARK, HISTORY_MARK = "≠", "✓", "⟲"  # the highlight said in text, not only in colour
INTRO = (
    "Each column is an **arm**: a checkpoint and a decoding. The **SFT** checkpoint is fine-tuned with plain "
    "cross-entropy (Eq. 1); the **IGD-tuned** one weights the loss of zero-IG tokens (tokens that do not narrow "
    "down which item it is) by β < 1 (IGD-Tuning, Eq. 6-7). **BIGRec** decodes with beam search constrained to "
    "{constrained} and length penalty 1, so its score is the *mean* log-probability per token{mean}; "
    "**D3** drops the length penalty, so its score is the *sum* ({sum}the two scales do not compare); "
    "**IGD-Decoding** multiplies each step's log p by w = 1 − α·IG~ (Eq. 8-9), so a decisive token's low "
    "probability costs less and likely filler tokens no longer decide the ranking. Below the lists: the token "
    "path of a recommendation, one item across all arms, and the step where two arms' beams part.")
INTRO_TITLE = INTRO.format(constrained="catalogue titles", mean=" (about −0.3)", sum="about −3: ")
INTRO_SID = INTRO.format(constrained="the catalogue's semantic IDs (a prefix trie of code tokens)", mean="", sum="")
SID_NOTE = ("These checkpoints name items by semantic IDs: each list shows an item's title with its ID, and the "
            "token path one code per level (a = level 1, the coarsest, then b, c, …; EOS ends the ID).")
LEVEL_NOTE = ("Level: the code level of the token (a = 1, the coarsest cluster, then b, c, …; in IDs from "
              "`igd sid build` the last level numbers the items that share all other codes). A level's IG is how "
              "much that code narrows down the item (Eq. 4-5); EOS ends the ID and, as every ID has one length, "
              "carries no IG.")
EXAMPLE_NOTE = ("Worked example: {what} and the default arms' lists. Change the history or the columns and press "
                "Recommend.")


def example_note(example: tuple[str, ...], dataset) -> str:
    """The worked example said as what it is: the four films, or (a catalogue without them) the
    history of the first user of the split `example_history` took it from."""
    if example == EXAMPLE_TITLES:
        return EXAMPLE_NOTE.format(what="a history of four well-known films")
    split = "test" if dataset.splits.get("test") else "valid"
    return EXAMPLE_NOTE.format(what=f"the history of the first user in {split}.csv ({len(example)} items)")


paths = current_paths()
st.title("Recommend: BIGRec, D3 and IGD side by side, arm by arm")
# not a widget key: those are dropped when their widget is not drawn (the other history mode, another page)
first_visit = not st.session_state.get("recommend_visited")
st.session_state["recommend_visited"] = True
with st.expander("How to read this page", expanded=first_visit):
    intro = st.empty()  # the title text until the picked checkpoint says its items are semantic IDs
    intro.markdown(INTRO_TITLE)
found, not_offered = checkpoints_or_stop(paths["models"])
sft_choices = [c for c in found if c["method"] == "sft"]
igd_choices = [c for c in found if c["method"] == "igd"] or [c for c in found if c["method"] != "sft"]
if not sft_choices or not igd_choices:
    fail(f"Checkpoint folder {said(name_of(paths['models']))} needs an SFT checkpoint (BIGRec and D3 decode "
         f"it) and an IGD-tuned one (found {len(found)} checkpoint(s)).{not_offered} Run `igd demo-models`, or "
         "`igd train --method sft` and `igd train --method igd`, or point the sidebar at a folder that has them.")

left, right = st.columns([3, 2])
with right:
    arm_labels = st.multiselect(f"Columns ({VIEW_ARMS_MIN}-{VIEW_ARMS_MAX} arms: checkpoint × decoding)",
                                list(VIEW_PRESETS), default=list(DEFAULT_VIEW), key="arms",
                                max_selections=VIEW_ARMS_MAX,
                                help="The paper's ablation: IGD-Decoding alone runs on the SFT checkpoint, "
                                     "IGD-Tuning alone decodes the IGD-tuned checkpoint with D3.")
    sft_pick = pick_checkpoint("SFT checkpoint (BIGRec, D3, D3 + IGD-Decoding)", sft_choices, key="sft_ckpt")
    # One history and one list per item kind: the IGD-tuned checkpoints offered name items as the SFT one does.
    items = sft_pick["items"]
    igd_choices = [c for c in igd_choices if c["items"] == items]
    if not igd_choices:
        fail(f"The SFT checkpoint {said(sft_pick['label'])} names items by "
             f"{'semantic IDs' if items == 'sid' else 'titles'}, and no IGD-tuned checkpoint under "
             f"{said(name_of(paths['models']))} does: the arms of one comparison must name items alike. Pick "
             "another SFT checkpoint, or train an IGD-tuned one with the same items (`igd train --method igd"
             + (" --items sid`)." if items == "sid" else "`)."))
    igd_pick = pick_checkpoint("IGD-tuned checkpoint (β; the IGD-Tuning arms)", igd_choices, key="igd_ckpt")
    k = st.slider("K (list length shown)", 1, 20, 10, key="k")
    beams = st.number_input("Beams", min_value=2, max_value=50, value=max(10, k), step=1, key="beams",
                            help="beam search keeps this many prefixes; the list is the top K of them")
    alpha = st.slider("α (IGD-Decoding: w = 1 − α·IG~)", 0.0, 1.0, 0.2, 0.05, key="alpha")
    hide = st.checkbox("Leave history items out of the lists", key="hide_history",
                       help="The paper's evaluation keeps them (beam search may regenerate a history item).")

dataset = dataset_or_stop(paths["data"], need=("test",), items=items)
sft = loaded_or_stop(sft_pick, paths["data"])
igd = loaded_or_stop(igd_pick, paths["data"])
max_history = sft.ck.template.max_history
labels = item_labels(dataset.catalogue)  # an item key as shown: "title · ID" for semantic IDs


def shown_as(key: str) -> str:
    return labels.get(key, key)


if items == "sid":
    intro.markdown(INTRO_SID)
    st.caption(SID_NOTE)

with left:
    mode = st.radio("History", ["Build a history", "A real test user"], horizontal=True, key="history_mode")
    truth = None
    if mode == "Build a history":
        if first_visit:  # a worked example on arrival: a history and (below) its lists
            example = example_history(dataset)
            st.session_state["history_pick"] = list(example)
            st.session_state["example_pending"] = example_note(example, dataset)
        # Substring matching and no "Select N matches" entry: Enter adds the one highlighted
        # title (fuzzy matching + bulk select added Dr. Strangelove for "Star Wars").
        picked = st.multiselect("Search the catalogue and add items (oldest first)",
                                readable_titles(dataset.catalogue), key="history_pick",
                                filter_mode="contains", select_all=False)
        pasted = st.text_area("…or paste titles, one per line (exact catalogue titles)", key="history_paste",
                              height=90, max_chars=MAX_PASTE_CHARS)
        lines = pasted.splitlines()
        if (n_lines := sum(bool(line.strip()) for line in lines)) > MAX_PASTE_LINES:
            fail(f"The pasted history has {n_lines:,} lines: paste at most {MAX_PASTE_LINES:,} titles, one per "
                 f"line (the model reads the last {max_history}).")
        known = set(dataset.catalogue.title_to_ids) | set(dataset.catalogue.names or ())
        entries, id_notes = history_keys(list(picked) + bounded_entries(lines, known), dataset.catalogue)
        for note in id_notes:  # a title of several items: the first one's ID
            st.info(markdown_literal(note))
    else:
        rows = dataset.splits.get("test") or ()
        if not rows:
            fail(f"Dataset {said(name_of(paths['data']))} has no test users (its test.csv is missing or empty): "
                 "choose “Build a history”, or add a test.csv in the D3 layout.")
        index = st.number_input(f"Test user (row 0–{len(rows) - 1} of test.csv)", 0, len(rows) - 1, 0,
                                key="user_index")
        sample = rows[int(index)]
        entries = [dataset.catalogue.titles[i] for i in sample.history]
        truth = dataset.catalogue.titles[sample.target]
        st.markdown(f"**User {said(sample.user_id)}**, history (oldest first): " +
                    "; ".join(f"*{markdown_literal(shown_as(t))}*" for t in entries))
        st.markdown(f"Ground-truth next item: **{markdown_literal(shown_as(truth))}**")

history = check_history(entries, dataset.catalogue, max_history)
for note in history.notes:  # they quote what was typed
    st.info(markdown_literal(note))

# What the lists depend on: a stored result for other inputs is not shown under these controls.
inputs = (history.titles, tuple(arm_labels), sft_pick["path"], igd_pick["path"], k, int(beams), alpha, hide, truth)
pressed = st.button("Recommend", type="primary", key="recommend")
example_said = st.session_state.pop("example_pending", "")
example = bool(example_said) and bool(history.titles)
if pressed or example:
    if not history.titles:
        st.error("The history is empty: add at least one catalogue item (search the catalogue, or paste "
                 "exact titles, one per line).")
    elif not VIEW_ARMS_MIN <= len(arm_labels) <= VIEW_ARMS_MAX:
        st.error(f"{len(arm_labels)} column(s) chosen: pick {VIEW_ARMS_MIN} to {VIEW_ARMS_MAX} arms under Columns.")
    elif k > beams:
        st.error(f"K={k} is more than the {beams} beams: raise Beams to at least {k}, or lower K.")
    else:
        with st.spinner(f"Decoding with {', '.join(arm_labels)}…"):
            arms = preset_arms(arm_labels, sft, igd, alpha)
            decode_threads()
            result = compare_arms(arms, history.titles, k=k, beams=int(beams), hide_history=hide)
        st.session_state["comparison"] = {"result": result, "truth": truth, "history": history.titles,
                                          "inputs": inputs, "example": "" if pressed else example_said}
        for key in ("item_title", "path_title"):  # new lists: the pickers start again (ground truth first)
            st.session_state.pop(key, None)

shown = st.session_state.get("comparison")
if shown is None:
    st.caption("Build a history (or pick a test user) and press Recommend.")
    st.stop()
if shown["inputs"] != inputs:  # never old lists under new controls
    st.info("The inputs changed since the last Recommend: press Recommend for lists that match them.")
    st.stop()

result, truth = shown["result"], shown["truth"]
if shown.get("example"):
    st.success(shown["example"])
for note in result.notes:
    st.info(markdown_literal(note))
differ, in_history = result.differing(), set(shown["history"])
listed = ", ".join(map(shown_as, shown["history"]))  # long Amazon histories: the list is on the left already
listed = markdown_literal(listed) if len(listed) <= 300 else f"of {len(shown['history'])} items above"
st.caption(f"For the history {listed}. Highlighted ({DIFFERS_MARK}): items not in every list; "
           f"{HISTORY_MARK}: an item of the history" + (f"; ground truth ({TRUTH_MARK}) in green." if truth else "."))


def marks(title: str) -> str:
    return ((TRUTH_MARK if title == truth else "") + (DIFFERS_MARK if title in differ else "")
            + (HISTORY_MARK if title in in_history else ""))


cols = st.columns(len(result.sides))
for col, label in zip(cols, result.sides):
    side = result.sides[label]
    # title before score, and one-character marks: the title gets the width
    table = pd.DataFrame([{"rank": i, "title": shown_as(r.title), "score": r.score, "": marks(r.title)}
                          for i, r in enumerate(result.top(label), start=1)])
    style = table.style.apply(lambda row: [TRUTH if TRUTH_MARK in row[""] else
                                           DIFFERS if DIFFERS_MARK in row[""] else ""] * len(row), axis=1)
    with col:
        st.subheader(label)
        spec = DECODINGS[side.arm.decoding]
        st.caption(f"{'SFT' if ARMS[VIEW_PRESETS[label]].train == 'sft' else 'IGD-tuned'} checkpoint · {spec.label}"
                   + (f" · α={side.alpha:g}" if spec.uses_alpha else ""))
        # a static table: long titles wrap (Amazon titles share their first words, and a grid's
        # one-line cells cut them all to the same visible text)
        st.table(style.format({"score": "{:.3f}", "title": markdown_literal}), hide_index=True)
        st.caption(f"{side.seconds:.2f} s")
st.caption(f"Latency of the {len(result.sides)} arms: {result.seconds:.2f} s (model forward passes and beam "
           + ("search constrained to the catalogue's semantic IDs, on the device this app runs on). Scores: "
              "BIGRec-style arms divide by the ID's length in tokens (length penalty 1: the mean log-prob per "
              "code); D3-style arms sum the log-probs." if items == "sid" else
              "search, on the device this app runs on). Scores: BIGRec-style arms divide by the title's length "
              "(length penalty 1: about −0.3); D3-style arms sum the log-probs (about −3)."))
csv = pd.DataFrame([{"arm": label, "rank": i, "title": shown_as(r.title), "score": r.score}
                    for label in result.sides for i, r in enumerate(result.top(label), start=1)])
st.download_button("Download the lists (CSV)", csv.to_csv(index=False), "igd-lists.csv", "text/csv",
                   key="download")
if truth:
    st.markdown("Rank of the ground truth: " + ", ".join(
        f"{markdown_literal(m)} {result.rank(m, truth) or f'not in top {result.k}'}" for m in result.sides))

st.header("Token path")
st.caption("How a method scores one recommendation, token by token (Eq. 8-9): log p from the model, "
           "IG from the catalogue trie (Eq. 4-5), the weight w = 1 − α·IG~ IGD-Decoding applies, and "
           "the allowed candidate tokens at each step. Zero-IG tokens are the ones IGD-Tuning down-weights.")
pm, pt = st.columns([1, 3])
method = pm.selectbox("Arm", list(result.sides), index=len(result.sides) - 1, key="path_method")
titles = [r.title for r in result.top(method)]
title = pt.selectbox("Recommendation", titles, key="path_title", format_func=shown_as)
path, candidates = path_rows(result.sides[method], title)
steps = pd.DataFrame(path)
steps["label"] = [f"{r['step']}: {r['token']}" for r in path]
steps["kind"] = ["zero IG" if z else "IG > 0" for z in steps["zero_ig"]]
order = list(steps["label"])
# steep labels: a 40-token Amazon title still gets one readable label per token at full width
axis = alt.Axis(labelAngle=-50, labelLimit=110, labelOverlap=False, labelFontSize=12)
x = alt.X("label:N", sort=order, title="step: token", axis=axis)
tips = ["step", "token", alt.Tooltip("log_p:Q", format=".4f"), alt.Tooltip("ig:Q", format=".4f"),
        alt.Tooltip("ig_norm:Q", format=".3f"), alt.Tooltip("weight:Q", format=".3f"), "candidates"]
colour = alt.Color("kind:N", scale=alt.Scale(domain=["IG > 0", "zero IG"], range=["#1c7ed6", "#adb5bd"]))
# linear by default: bar heights compare as numbers; the log option shows the small IGs of later tokens
log_ig = st.checkbox("Log IG axis (symlog)", key="ig_log")
ig_scale = alt.Scale(type="symlog", constant=0.01) if log_ig else alt.Scale(type="linear")
ig_bars = alt.Chart(steps).mark_bar().encode(
    x=x, y=alt.Y("ig:Q", title=f"IG (nats, {'symlog' if log_ig else 'linear'} scale)", scale=ig_scale),
    color=colour, tooltip=tips)
weight = alt.Chart(steps).mark_line(point=True, color="#e8590c").encode(
    x=x, y=alt.Y("weight:Q", title="IGD weight w", scale=alt.Scale(domain=[0, 1.05])), tooltip=tips)
logp = alt.Chart(steps).mark_bar().encode(x=x, y=alt.Y("log_p:Q", title="log p"), color=colour, tooltip=tips)
# one under the other, full width: side by side, long titles left a few pixels per token
st.altair_chart(alt.layer(ig_bars, weight).resolve_scale(y="independent").properties(
    title="IG per token (bars) and IGD weight (line)", height=330), width="stretch")
st.altair_chart(logp.properties(title="log p per token", height=290), width="stretch")

cand = pd.DataFrame(candidates)
top_n = 15
cand = cand[(cand["rank"] <= top_n) | cand["chosen"]].merge(steps[["step", "label"]], on="step")
cand["chosen"] = cand["chosen"].map({True: "chosen", False: "allowed"})
st.altair_chart(alt.Chart(cand).mark_point(filled=True).encode(
    x=alt.X("label:N", sort=order, title="step: token", axis=axis),
    y=alt.Y("log_p:Q", title="log p"),
    color=alt.Color("ig:Q", title="IG", scale=alt.Scale(scheme="viridis")),
    shape=alt.Shape("chosen:N", scale=alt.Scale(domain=["chosen", "allowed"], range=["diamond", "circle"])),
    size=alt.Size("chosen:N", scale=alt.Scale(domain=["chosen", "allowed"], range=[160, 40]), legend=None),
    tooltip=["step", "token", alt.Tooltip("ig:Q", format=".4f"), alt.Tooltip("log_p:Q", format=".4f"), "chosen"],
).properties(title=f"Candidate tokens at each step (the {top_n} most likely, and the chosen one)", height=380),
    width="stretch")
st.dataframe(steps[["step", *(["level"] if items == "sid" else []), "token", "log_p", "ig", "ig_norm", "weight",
                    "score", "zero_ig", "candidates"]], hide_index=True, width="stretch", height=35 * (len(steps) + 1) + 3)
st.caption((LEVEL_NOTE if items == "sid" else TOKEN_LEGEND) + " " + IG_NORM_NOTE)
total = steps["score"].sum()
if result.sides[method].length_penalty:  # length penalty 1: the beam score is the mean
    st.caption(f"Σ score / {len(steps)} tokens = {total / len(steps):.4f}: the {markdown_literal(method)} beam "
               "score of this title.")
else:
    st.caption(f"Σ score = {total:.4f}: the {markdown_literal(method)} beam score of this title.")

item_panel(result, truth, dataset.catalogue.distinct_titles, shown_as, items)
divergence_panel(result, shown_as)
