"""The Streamlit app on a semantic-ID dataset (AppTest): lists show titles with their IDs, the
token path one row per code level plus EOS with igd's own IG, the trie explorer walks codes, a
SID checkpoint on a D3 folder and mixed item kinds are messages, and SID runs are listed.

The fixture builds random semantic IDs for the fruit dataset (2 levels plus the unique level:
`<a_.><b_.><c_.>`) and runs `igd experiment` with the SID arms (char tokenizer, a few steps)."""

import re
import shutil

import numpy as np
import pytest

from fruits import TINY, TITLES, write_dataset
from igd.checkpoint import load_checkpoint
from igd.cli import main
from igd.compare import ViewArm, compare_arms, load
from igd.config import ARMS, DEFAULT_VIEW
from igd.data import load_dataset
from igd.evaluate import checkpoint_trie
from igd.sid_build import SidConfig, build_sids
from igd.sid_view import item_labels
from igd.sid_tokens import sid_codes
from test_app import app, recommend, texts

pytestmark = pytest.mark.slow
LABEL = re.compile(r"^(.+) · ((?:<[a-c]_\d+>){3})$")  # "title · <a_.><b_.><c_.>"


@pytest.fixture(scope="module")
def sid(tmp_path_factory):
    root = tmp_path_factory.mktemp("app-sid")
    d3 = write_dataset(root / "fruits")
    build_sids(SidConfig(str(d3), str(root / "sid"), levels=2, codes=256, method="random"))
    assert main(["experiment", "--data", str(root / "sid"), "--methods", "sid_ce,sid_igd", "--seeds", "0",
                 "--out-dir", str(root / "ckpts"), "--max-steps", "6", "--db", str(root / "runs.db"), *TINY]) == 0
    ckpts = {p.parent.name.split("-")[1]: p.parent for p in (root / "ckpts").rglob("igd_checkpoint.json")}
    assert set(ckpts) == {"sft", "igd"}  # sid-sft-seed0, sid-igd-beta0.2-seed0
    return {"data": root / "sid", "models": root / "ckpts", "runs": root / "runs.db", "root": root, "d3": d3,
            "sft": ckpts["sft"], "igd": ckpts["igd"]}


def test_lists_show_each_recommendation_as_its_title_and_its_id(monkeypatch, sid):
    at = app(monkeypatch, sid)
    assert all("semantic IDs" in o for o in at.selectbox(key="sft_ckpt").options + at.selectbox(key="igd_ckpt").options)
    assert set(at.multiselect(key="history_pick").value) <= set(TITLES)  # the worked example: readable titles
    assert set(at.multiselect(key="history_pick").options) == set(TITLES)  # type-ahead over titles, not IDs
    recommend(at, ["kiwi", "lime"])
    cat = load_dataset(sid["data"], items="sid").catalogue
    names = {cat.titles[i]: cat.name(i) for i in range(len(cat))}
    assert [h.value for h in at.subheader][:4] == list(DEFAULT_VIEW) and len(at.table) == 4
    for table in at.table:
        labels = [LABEL.match(t) for t in table.value["title"]]
        assert len(labels) == 10 and all(labels)
        assert all(names[m.group(2)] == m.group(1) for m in labels)  # the title of that very ID
    # the prompt read IDs: "kiwi" names two items (the first one's ID is used, and said)
    kiwi = [cat.titles[i] for i in range(len(cat)) if cat.name(i) == "kiwi"]
    history = at.session_state["comparison"]["history"]
    assert history == (kiwi[0], cat.titles[cat.names.index("lime")])
    assert "'kiwi' names 2 items" in texts(at.info) and "semantic IDs" in texts(at.caption)
    # the texts speak of IDs on a trie of codes, not of titles and their −0.3 scores
    intro = texts(at.expander[0].markdown)
    assert "constrained to the catalogue's semantic IDs (a prefix trie of code tokens)" in intro
    assert "catalogue titles" not in intro and "−0.3" not in intro
    captions = texts(at.caption)
    assert "beam search constrained to the catalogue's semantic IDs" in captions
    assert "−0.3" not in captions and "title's length" not in captions


def test_one_item_across_arms_shows_code_levels(monkeypatch, sid):
    at = recommend(app(monkeypatch, sid), ["kiwi", "lime"])
    steps = at.dataframe[2].value  # the item panel's step table (the ground truth is none: the first listed)
    assert list(steps.columns[:3]) == ["step", "level", "token"]
    assert list(steps["level"]) == ["1 (a)", "2 (b)", "3 (c)", "EOS"]
    captions = texts(at.caption)
    assert "Each step is one code level of the semantic ID (a = level 1" in captions and "EOS, the end of the ID" in captions
    assert "every title ends with" not in captions and "BPE" not in captions


def test_beams_that_never_part_name_the_item_with_its_title(monkeypatch, sid):
    at = app(monkeypatch, sid)
    at.slider(key="alpha").set_value(0.0)  # D3 + IGD-Decoding at α = 0 is D3: one top item
    at.multiselect(key="arms").set_value(["D3", "D3 + IGD-Decoding"])
    recommend(at, ["kiwi", "lime"])
    top = at.session_state["comparison"]["result"].top("D3")[0].title
    cat = load_dataset(sid["data"], items="sid").catalogue
    label = item_labels(cat)[top]
    assert LABEL.match(label) and f"Both arms rank {label!r} first" in texts(at.info)


def test_token_path_has_one_row_per_code_level_plus_eos_with_igds_ig(monkeypatch, sid):
    at = recommend(app(monkeypatch, sid), ["kiwi", "lime"])
    arm = "IGD-Tuning + IGD-Decoding"
    key = at.session_state["comparison"]["result"].top(arm)[1].title  # an ID
    at.selectbox(key="path_method").set_value(arm)
    at.selectbox(key="path_title").set_value(key).run()
    assert not at.exception
    path = at.dataframe[0].value
    assert list(path.columns[:3]) == ["step", "level", "token"]
    assert list(path["level"]) == ["1 (a)", "2 (b)", "3 (c)", "EOS"]
    assert list(path["token"]) == [*sid_codes(key), "<eos>"]
    _, igs = checkpoint_trie(load_checkpoint(sid["igd"]), load_dataset(sid["data"], items="sid")).path(key)
    np.testing.assert_allclose(path["ig"].to_numpy(), igs, rtol=0, atol=1e-12)
    assert "Level: the code level" in texts(at.caption)


def test_trie_explorer_walks_the_codes_and_finds_items_by_title(monkeypatch, sid):
    at = app(monkeypatch, sid, "views/catalogue.py")
    cat = load_dataset(sid["data"], items="sid").catalogue
    assert at.metric[1].value == str(len(TITLES))
    first = at.dataframe[1].value  # the default prefix "<a_": the first-level codes
    assert all(re.fullmatch(r"<a_\d+>", t) for t in first["token"]) and first["titles_below"].sum() == len(cat)
    top = first["token"][first["titles_below"].idxmax()]  # the first-level code with the most items
    below = [i for i in range(len(cat)) if cat.titles[i].startswith(top)]
    at.text_input(key="prefix_sid").set_value(top).run()
    assert not at.exception
    children, items = at.dataframe[1].value, at.dataframe[2].value
    assert all(re.fullmatch(r"<b_\d+>", t) for t in children["token"])  # the next level's codes
    assert children["titles_below"].sum() == len(below) and (children["ig"] >= 0).all()
    assert sorted(items["title"]) == sorted(cat.titles[i] for i in below)
    assert sorted(items["name"]) == sorted(cat.name(i) for i in below)  # shown with their titles
    assert f'{len(below)}** items (by ID or title) start with "{top}"' in texts(at.markdown)
    at.text_input(key="prefix_sid").set_value("ban").run()  # a title prefix still finds its items
    assert set(at.dataframe[-1].value["name"]) == {"banana", "band", "bandana"}
    full = cat.titles[TITLES.index("band")]
    at.text_input(key="prefix_sid").set_value(full).run()  # a complete ID: every level's IG
    path = at.dataframe[1].value
    assert list(path["level"]) == ["1 (a)", "2 (b)", "3 (c)", "EOS"] and (path["ig"] >= 0).all()
    assert "is a complete item" in texts(at.caption)
    said = texts(at.markdown)  # one item, and its path of codes without the <eos>
    codes = " · ".join(f'"{c}"' for c in sid_codes(full))
    assert f'**1** item (by ID or title) starts with "{full}"; its code path is {codes} — H' in said
    assert "1** items" not in said and "<eos>" not in said


def test_a_sid_checkpoint_with_a_d3_dataset_is_a_message(monkeypatch, sid):
    for page in (None, "views/catalogue.py"):
        at = app(monkeypatch, {**sid, "data": sid["d3"]}, page)
        assert not at.exception
        error = texts(at.error)
        assert "by semantic IDs" in error and "has no semantic IDs" in error and "igd sid build" in error


def test_title_and_sid_checkpoints_are_not_mixed(monkeypatch, sid):
    mixed = sid["root"] / "mixed"
    if not mixed.exists():
        assert main(["train", "--data", str(sid["data"]), "--out", str(mixed / "title-sft"), "--method", "sft",
                     "--max-steps", "4", "--db", "", *TINY]) == 0
        shutil.copytree(sid["igd"], mixed / "sid-igd")
    at = app(monkeypatch, {**sid, "models": mixed})  # the only SFT checkpoint reads titles
    assert "names items by titles, and no IGD-tuned checkpoint" in texts(at.error) and not at.table
    dataset = load_dataset(sid["data"])  # the title view: `load` reads it as each checkpoint names items
    title, ids = load(mixed / "title-sft", dataset), load(mixed / "sid-igd", dataset)
    assert (title.items, ids.items) == ("title", "sid") and ids.ig.seq_titles[0][0].startswith("<a_")
    with pytest.raises(ValueError, match="mix checkpoints"):
        compare_arms([ViewArm("t", title, "d3"), ViewArm("s", ids, "d3")], ["kiwi"])


def test_runs_page_lists_the_sid_arms(monkeypatch, sid):
    at = app(monkeypatch, sid, "views/runs.py")
    assert {ARMS["sid_ce"].label, ARMS["sid_igd"].label} <= set(at.dataframe[0].value["method"])
    # igd report's semantic-ID tables: the table, then IGD against SID CE paired over the same users
    assert "Semantic IDs: IDs, the random-code control and titles" in [h.value for h in at.header]
    assert any("semantic-ID arms are compared below" in i.value for i in at.info)
    tables = "\n".join(m.value for m in at.markdown)
    assert "| SID, IGD-Tuning + IGD-Decoding (IDs, sid) | 0 |" in tables
    assert "| SID, IGD-Tuning + IGD-Decoding (IDs, sid) | SID, cross-entropy (IDs, sid) | HR@10 | 1 |" in tables


def test_a_folder_of_links_to_checkpoints_is_a_checkpoint_folder(monkeypatch, sid):
    """`--models` at a folder of symlinks to two checkpoints of a study (how one picks arms from
    many): both are found and the lists drawn. The search entered no symlink, so it found none
    ("found 0 checkpoint(s)"); it still walks through none (a link loop is no checkpoint)."""
    links = sid["root"] / "links"
    if not links.exists():
        links.mkdir()
        (links / "sft").symlink_to(sid["sft"], target_is_directory=True)
        (links / "igd").symlink_to(sid["igd"], target_is_directory=True)
        (links / "loop").symlink_to(links, target_is_directory=True)
    at = app(monkeypatch, {**sid, "models": links})
    assert not at.error, texts(at.error)
    assert len(at.selectbox(key="sft_ckpt").options) == len(at.selectbox(key="igd_ckpt").options) == 1
    recommend(at, ["kiwi", "lime"])
    assert len(at.table) == 4 and all(len(t.value) == 10 for t in at.table)


def test_the_worked_example_says_whose_history_it_is(monkeypatch, sid):
    """A catalogue without the four films (Amazon, fruits) gets its first test user's history:
    the note said "a history of four well-known films" over ten 3D-printer filaments."""
    at = app(monkeypatch, sid)
    shown = at.multiselect(key="history_pick").value
    note = texts(at.success)
    assert "films" not in note, note
    assert f"Worked example: the history of the first user in test.csv ({len(shown)} items)" in note
