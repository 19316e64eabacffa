"""Catalogue: Table-1-style statistics of the dataset, and an explorer of its token trie (type a
title prefix: the items below it and each next token's IG, Eq. 4-5). With a checkpoint of semantic
IDs the trie is one of code tokens: a prefix such as `<a_3>` walks the codes, a title still finds
its item."""

import altair as alt
import pandas as pd
import streamlit as st

from igd.compare import explore
from igd.sid_view import item_names
from igd.stats import StatsConfig, dataset_stats
from hosting import public
from ui import (checkpoints_or_stop, current_paths, dataset_or_stop, fail, loaded_or_stop, markdown_literal, name_of,
                pick_checkpoint, said)

MAX_PREFIX = 200  # characters: longer than any title

paths = current_paths()
st.title("Catalogue and token trie")
found, not_offered = checkpoints_or_stop(paths["models"])
if not found:
    fail(f"No checkpoint under {said(name_of(paths['models']))}: the trie is built with a checkpoint's tokenizer "
         f"and template.{not_offered} Run `igd demo-models` or `igd train`, or point the sidebar at a checkpoint folder.")
pick = pick_checkpoint("Tokenizer and template of checkpoint", found, key="cat_ckpt")
sid = pick["items"] == "sid"  # the trie of code tokens, items named by their titles beside
dataset = dataset_or_stop(paths["data"], items=pick["items"])
loaded = loaded_or_stop(pick, paths["data"])


@st.cache_data(show_spinner="Counting tokens…", max_entries=8)
def stats(data: str, checkpoint: str, train_on_valid: bool, unseen: str) -> dict:
    return dataset_stats(dataset, loaded.ck.tokenizer, loaded.ck.template, StatsConfig(train_on_valid, unseen))


meta = loaded.ck.meta
s = stats(paths["data"], pick["path"], bool(meta.get("train_on_valid")), meta.get("unseen", "generable"))
users = len({x.user_id for rows in dataset.splits.values() for x in rows})
interactions = sum(len(x.history) + 1 for x in dataset.split(s["training_split"]))
st.subheader(f"{markdown_literal(s['dataset'])} ({s['layout']} layout)")
c = st.columns(6)
c[0].metric("Users", f"{users:,}")
c[1].metric("Items", f"{s['items']:,}")
c[2].metric("Training rows", f"{s['train_rows']:,}")
c[3].metric("Target tokens", f"{s['target_tokens']:,}")
c[4].metric("Zero-IG tokens", f"{s['zero_ig_share']:.1%}")
c[5].metric("H(root), nats", f"{s['root_entropy']:.2f}")
st.dataframe(pd.DataFrame([
    {"statistic": "rows per split", "value": ", ".join(f"{k} {v:,}" for k, v in s["split_rows"].items() if v is not None)},
    {"statistic": "distinct titles (one generative item each)", "value": f"{s['distinct_titles']:,}"},
    {"statistic": "items never a training target", "value": f"{s['items_never_trained']:,}"},
    {"statistic": "trie nodes", "value": f"{s['trie_nodes']:,}"},
    {"statistic": "mean target tokens per training row", "value": f"{s['mean_target_tokens']:.2f}"},
    {"statistic": "tokenizer / target style", "value": public(f"{s['tokenizer']} / {s['template']}")},
    {"statistic": "history items in the training split (incl. targets)", "value": f"{interactions:,}"},
    {"statistic": "dataset fingerprint", "value": s["fingerprint"][:16]},
]), hide_index=True, width="stretch")
per_pos = pd.DataFrame(s["per_position"])
if not per_pos.empty:
    st.altair_chart(alt.Chart(per_pos).mark_bar(color="#4c6ef5").encode(
        x=alt.X("position:N", sort=list(per_pos["position"]), title="token position in the target"),
        y=alt.Y("zero_ig_share:Q", title="zero-IG share", axis=alt.Axis(format="%")),
        tooltip=list(per_pos.columns)).properties(title="Share of zero-IG tokens by position", height=220),
        width="stretch")

st.header("Trie explorer")
if sid:
    prefix = st.text_input("Code prefix (e.g. `<a_3>`) or title prefix (case-insensitive)", "<a_", key="prefix_sid",
                           max_chars=MAX_PREFIX, help="`<a_` lists the first-level codes; `<a_3>` the second-level "
                           "codes under `<a_3>`, and so on. A title prefix finds items by their titles.")
else:
    prefix = st.text_input("Title prefix (case-insensitive)", "Star", key="prefix", max_chars=MAX_PREFIX,
                           help="A trailing space counts: 'The ' finds 'The Rock', not 'Theodore Rex'. MovieLens "
                                "writes leading articles last: 'Godfather, The (1972)'.")
e = explore(loaded, prefix, names=item_names(dataset.catalogue) or None)
if prefix.strip() and e["n_matches"] == 0:
    st.warning(f"No {'item' if sid else 'title'} starts with {said(prefix.strip())}: type the first letters of a "
               + ("code (<a_…) or of a catalogue title." if sid else "catalogue title."))
    st.stop()
# tokens escaped, not in code spans: a token may hold a backtick
one = e["n_matches"] == 1
st.markdown(f"**{e['n_matches']:,}** {'item' if sid else 'title'}{'' if one else 's'}"
            f"{' (by ID or title)' if sid else ''} start{'s' if one else ''} with "
            f"{said(prefix.strip())}; {'its' if one else 'their shared'} {'code' if sid else 'token'} "
            f"{'path' if one else 'prefix'} is "
            + (" · ".join(said(t) for t in e["path"]) if e["path"] else "empty (they split at the first token)")
            + f" — H = {e['entropy']:.3f} nats over {e['train_targets']:,} training targets.")
left, right = st.columns(2)
children = pd.DataFrame(e["children"])
with left:
    st.subheader("Next codes (one level down)" if sid else "Next tokens")
    if e["complete"]:
        st.caption(f"{said(prefix.strip())} is a complete {'item' if sid else 'title'}: the IG of every "
                   f"{'code level' if sid else 'token'} of its path "
                   "(IG~ is IG min-max scaled over the candidate tokens of that step, Eq. 9).")
        st.dataframe(pd.DataFrame(e["complete"]), hide_index=True, width="stretch",
                     column_config={"ig": st.column_config.NumberColumn("IG (nats)", format="%.4f"),
                                    "ig_norm": st.column_config.NumberColumn("IG~", format="%.3f")})
    if not children.empty:
        shown = children.head(30)
        st.altair_chart(alt.Chart(shown).mark_bar().encode(
            y=alt.Y("token:N", sort=None, title=None), x=alt.X("ig:Q", title="IG (nats)"),
            color=alt.Color("train_targets_below:Q", title="targets below", scale=alt.Scale(scheme="blues")),
            tooltip=["token", alt.Tooltip("ig:Q", format=".4f"), alt.Tooltip("ig_norm:Q", format=".3f"),
                     "titles_below", "train_targets_below"]).properties(height=alt.Step(24)),  # 24 px per token
            width="stretch")
        st.dataframe(children, hide_index=True, width="stretch", column_config={
            "token": st.column_config.TextColumn(width=70),
            "ig": st.column_config.NumberColumn("IG", format="%.4f", width=70),
            "ig_norm": st.column_config.NumberColumn("IG~", format="%.3f", width=60),
            "titles_below": st.column_config.NumberColumn("items" if sid else "titles", width=60),
            "train_targets_below": st.column_config.NumberColumn("targets", width=70)})
with right:
    st.subheader("Items below")
    st.dataframe(pd.DataFrame(e["titles"]), hide_index=True, width="stretch", column_config={
        "title": st.column_config.TextColumn("ID" if sid else "title", width="medium"),  # "large" pushed the counts out
        "name": st.column_config.TextColumn("title", width="medium"),
        "train_targets": st.column_config.NumberColumn("targets", width=70),
        "tokens": st.column_config.NumberColumn(width=60)})
    if e["n_matches"] > len(e["titles"]):
        st.caption(f"The {len(e['titles'])} most frequent training targets of {e['n_matches']:,}.")
