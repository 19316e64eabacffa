"""The Streamlit app with AppTest: every page, the side-by-side lists, the token-path view
against igd's own IG, and bad input shown as messages (never a traceback).

Checkpoints and the run store come from `igd experiment` on the fruit dataset (char tokenizer,
a few steps); `test_demo_models_*` use the committed demo checkpoints on MovieLens-100K."""

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fruits import TINY, TITLES, write_dataset
from igd.cli import main
from igd.compare import EXAMPLE_TITLES, load
from igd.config import DEFAULT_VIEW
from igd.data import load_dataset

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app" / "streamlit_app.py")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fruit(tmp_path_factory):
    root = tmp_path_factory.mktemp("app")
    data = write_dataset(root / "fruits")
    assert main(["experiment", "--data", str(data), "--seeds", "0", "--out-dir", str(root / "ckpts"),
                 "--max-steps", "6", "--db", str(root / "runs.db"), "--alpha", "0,0.4", *TINY]) == 0
    return {"data": data, "models": root / "ckpts", "runs": root / "runs.db", "root": root}


def app(monkeypatch, paths: dict, page: str | None = None, hosted: bool = False) -> AppTest:
    for key, env in (("data", "IGD_DATA"), ("models", "IGD_MODELS"), ("runs", "IGD_RUNS_DB")):
        monkeypatch.setenv(env, str(paths[key]))
    if hosted:
        monkeypatch.setenv("IGD_HOSTED", "1")
    else:
        monkeypatch.delenv("IGD_HOSTED", raising=False)
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    """The elements' text as shown: the app backslash-escapes user text in Markdown (ui.said)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", "\n".join(str(e.value) for e in elements))


def recommend(at: AppTest, history: list[str] | None = None, paste: str = "") -> AppTest:
    if history is not None:
        at.multiselect(key="history_pick").set_value(history)
    at.text_area(key="history_paste").set_value(paste)
    at.button(key="recommend").click().run()
    assert not at.exception, at.exception
    return at


def test_side_by_side_shows_one_list_per_arm(monkeypatch, fruit):
    at = app(monkeypatch, fruit)
    at.slider(key="k").set_value(5).run()
    recommend(at, ["kiwi", "lime"])
    lists = at.table[:4]
    assert [h.value for h in at.subheader][:4] == list(DEFAULT_VIEW)  # the presets' own words
    for table in lists:
        titles = list(table.value["title"])
        assert len(titles) == 5 == len(set(titles)) and set(titles) <= set(TITLES)
    flagged = set().union(*[set(t.value["title"][t.value[""].str.contains("≠")]) for t in lists])
    every = [set(t.value["title"]) for t in lists]
    assert flagged == set.union(*every) - set.intersection(*every)
    assert {"kiwi", "lime"} & set().union(*every) == set().union(
        *[set(t.value["title"][t.value[""].str.contains("⟲")]) for t in lists])  # history items marked
    assert "Latency of the 4 arms" in texts(at.caption)
    assert "divide by the title's length (length penalty 1: about −0.3)" in texts(at.caption)
    assert at.get("download_button")


def test_the_first_visit_shows_a_worked_example(monkeypatch, fruit):
    at = app(monkeypatch, fruit)  # nothing pressed
    dataset = load_dataset(fruit["data"])
    first = dataset.split("test")[0]  # the fruit catalogue lacks the four films: its first test user
    titles = [dataset.catalogue.titles[i] for i in first.history]
    latest = [t for i, t in enumerate(titles) if t not in titles[i + 1:]]  # a repeat kept at its latest position
    assert at.multiselect(key="history_pick").value == latest
    assert [h.value for h in at.subheader][:4] == list(DEFAULT_VIEW) and len(at.table) == 4
    assert "Worked example" in texts(at.success)
    assert at.expander[0].label == "How to read this page" and "about −0.3" in texts(at.expander[0].markdown)
    assert "constrained to catalogue titles" in texts(at.expander[0].markdown)
    recommend(at, ["kiwi", "lime"])  # the user's own history: no longer the example
    assert len(at.table) == 4 and "Worked example" not in texts(at.success)
    at.switch_page("views/runs.py").run()
    at.switch_page("views/recommend.py").run()
    assert "Worked example" not in texts(at.success)  # once per session


def test_the_sidebar_closer_runs_only_after_a_page_change(monkeypatch, fruit):
    at = app(monkeypatch, fruit)
    closers = lambda: [e for e in at.get("html") if "stSidebarCollapseButton" in str(e.proto)]  # noqa: E731
    assert not closers()
    at.run()
    assert not closers()  # a rerun of the same page
    at.switch_page("views/runs.py").run()
    assert len(closers()) == 1 and "max-width: 768px" in str(closers()[0].proto)  # phones only


def test_path_view_ig_equals_igd(monkeypatch, fruit):
    at = recommend(app(monkeypatch, fruit), ["kiwi", "lime"])
    igd_list = list(at.table[3].value["title"])
    at.selectbox(key="path_method").set_value("IGD-Tuning + IGD-Decoding")
    at.selectbox(key="path_title").set_value(igd_list[1]).run()
    path = at.dataframe[0].value
    ckpt = next(p.parent for p in fruit["models"].rglob("igd_checkpoint.json") if "igd-" in p.parent.name)
    _, igs = load(ckpt, load_dataset(fruit["data"])).ig.path(igd_list[1])
    np.testing.assert_allclose(path["ig"].to_numpy(), igs, rtol=0, atol=1e-12)
    assert list(path["zero_ig"]) == [g == 0 for g in igs]
    assert "beam score" in texts(at.caption)


def comparison_of(at: AppTest):
    return at.session_state["comparison"]["result"]


def test_alpha_0_on_the_sft_checkpoint_equals_d3_on_the_page(monkeypatch, fruit):
    at = app(monkeypatch, fruit)
    at.slider(key="alpha").set_value(0.0)
    at.multiselect(key="arms").set_value(["D3", "D3 + IGD-Decoding"])
    recommend(at, ["kiwi", "lime"])
    d3, igd_d = at.table[0].value, at.table[1].value
    assert [h.value for h in at.subheader][:2] == ["D3", "D3 + IGD-Decoding"]
    assert list(d3["title"]) == list(igd_d["title"]) and list(d3["score"]) == list(igd_d["score"])
    result = comparison_of(at)
    assert [r.score for r in result.top("D3")] == [r.score for r in result.top("D3 + IGD-Decoding")]


def test_item_across_arms_on_the_page_matches_the_core(monkeypatch, fruit):
    from igd.arms_view import item_across_arms

    at = app(monkeypatch, fruit)
    at.radio(key="history_mode").set_value("A real test user").run()
    at.number_input(key="user_index").set_value(1).run()
    at.button(key="recommend").click().run()
    dataset = load_dataset(fruit["data"])
    truth = dataset.catalogue.titles[dataset.split("test")[1].target]
    assert at.selectbox(key="item_title").value == truth  # the ground truth first
    shown = at.dataframe[1].value
    rows = item_across_arms(comparison_of(at), truth)
    assert list(shown["arm"]) == [r.arm for r in rows] == list(DEFAULT_VIEW)
    assert [str(x) for x in shown["rank"]] == [str(r.rank) if r.rank else "not in top 10" for r in rows]
    assert list(shown["shift"]) == [r.shift for r in rows]
    np.testing.assert_allclose(shown["beam score"].to_numpy(), [r.score for r in rows], atol=1e-9)
    assert list(shown["tokens"]) == [" | ".join(p["token"] for p in r.path) for r in rows]
    assert "level" not in at.dataframe[2].value.columns  # titles: no code levels
    assert "⏎ a newline (every title ends with one)" in texts(at.caption)
    assert "so their scores (about −0.3) are on another scale" in texts(at.caption)


def test_divergence_on_the_page_matches_the_core(monkeypatch, fruit):
    from igd.arms_view import divergence

    at = recommend(app(monkeypatch, fruit), ["kiwi", "lime"])
    result = comparison_of(at)
    pairs = [(a, b) for a in result.sides for b in result.sides if a != b]
    a, b = next(((a, b) for a, b in pairs if result.top(a)[0].title != result.top(b)[0].title), pairs[0])
    at.selectbox(key="part_a").set_value(a)
    at.selectbox(key="part_b").set_value(b).run()
    assert not at.exception
    d = divergence(result, a, b)
    if d.step is None:  # every arm agrees on the top title: said, not drawn
        assert "never part" in texts(at.info)
        return
    ta, tb = result.top(a)[0].token_ids, result.top(b)[0].token_ids
    first = next(i for i, (x, y) in enumerate(zip(ta, tb)) if x != y)
    assert d.step == first + 1
    assert f"**Step {d.step}**" in "\n".join(m.value for m in at.markdown)
    table = at.dataframe[-1].value
    assert list(table["token"]) == [r["token"] for r in d.candidates]
    np.testing.assert_allclose(table["w·log p (A)"].to_numpy(), [r["score_a"] for r in d.candidates])
    charts = lambda: [str(c.proto) for c in at.get("vega_lite_chart") if "candidate token" in str(c.proto)]  # noqa: E731
    assert "linear scale" in charts()[-1] and "symlog" not in charts()[-1]
    at.checkbox(key="part_ig_log").check().run()
    assert "symlog scale" in charts()[-1] and '\\"type\\": \\"symlog\\"' in charts()[-1].replace("\\\\", "\\")


def test_stale_lists_are_not_shown_under_changed_inputs(monkeypatch, fruit):
    at = recommend(app(monkeypatch, fruit), ["kiwi", "lime"])
    assert len(at.table) == 4
    at.slider(key="k").set_value(3).run()
    assert len(at.table) == 0 and "inputs changed" in texts(at.info)


def test_a_real_test_user_shows_the_ground_truth(monkeypatch, fruit):
    at = app(monkeypatch, fruit)
    at.radio(key="history_mode").set_value("A real test user").run()
    at.number_input(key="user_index").set_value(1).run()
    at.button(key="recommend").click().run()
    assert not at.exception
    dataset = load_dataset(fruit["data"])
    truth = dataset.catalogue.titles[dataset.split("test")[1].target]
    assert f"Ground-truth next item: **{truth}**" in texts(at.markdown)
    assert "Rank of the ground truth" in texts(at.markdown)


@pytest.mark.parametrize("paste, message", [
    ("durian\nkiwi", "not in the catalogue were skipped"),
    ("kiwi\nlime\nkiwi", "repeated item(s) kept once"),
    ("\n".join(TITLES[i % 11] for i in range(500)), "Using the last 10 of 11 items"),
])
def test_bad_histories_are_explained(monkeypatch, fruit, paste, message):
    at = recommend(app(monkeypatch, fruit), [], paste)
    assert message in texts(at.info)
    assert len(at.table) == len(DEFAULT_VIEW)  # and still recommended


def test_an_empty_history_is_a_message(monkeypatch, fruit):
    at = recommend(app(monkeypatch, fruit), [], "")
    assert "history is empty" in texts(at.error) and len(at.table) == 0


@pytest.mark.parametrize("key, page, message", [
    ("data", None, "does not exist"),
    ("models", None, "does not exist"),
    ("models", "views/catalogue.py", "does not exist"),
    ("runs", "views/runs.py", "No run store at"),
])
def test_missing_inputs_are_messages(monkeypatch, fruit, key, page, message):
    at = app(monkeypatch, {**fruit, key: fruit["root"] / "missing"}, page)
    assert message in texts(at.error) + texts(at.warning)


def test_a_corrupt_run_store_is_a_message(monkeypatch, fruit):
    bad = fruit["root"] / "bad.db"
    bad.write_text("user_id,item_id\n" * 100)
    at = app(monkeypatch, {**fruit, "runs": bad}, "views/runs.py")
    assert "Cannot read the run store" in texts(at.error)
    assert bad.read_text() == "user_id,item_id\n" * 100  # left untouched


def test_a_checkpoint_of_another_dataset_is_a_message(monkeypatch, fruit):
    other = write_dataset(fruit["root"] / "other", users=30, seed=5)
    at = app(monkeypatch, {**fruit, "data": other})
    assert "different item trie" in texts(at.error)


@pytest.fixture
def restore_config():
    """Hosted mode sets Streamlit's process-wide client options: put them back."""
    from streamlit import config

    before = {o: config.get_option(o) for o in ("client.showErrorDetails", "client.toolbarMode")}
    yield config
    for option, value in before.items():
        config.set_option(option, value)


def rendered(at: AppTest) -> str:
    """Everything the app sent to the browser: every element's protobuf, as text."""
    return "\n".join(str(node.proto) for node in at._tree if getattr(node, "proto", None) is not None)


def test_hosted_mode_offers_only_the_configured_entries(monkeypatch, fruit, restore_config):
    other = fruit["root"] / "other-hosted"
    if not other.exists():
        write_dataset(other, users=30, seed=5)
    paths = {**fruit, "data": f"{fruit['data']}{os.pathsep}{other}"}
    at = app(monkeypatch, paths, hosted=True)
    assert not at.sidebar.text_input  # nothing a visitor could type a server path into
    assert [(s.key, s.options) for s in at.sidebar.selectbox] == [
        ("hosted_data", ["fruits", "other-hosted"]), ("hosted_models", ["ckpts"]), ("hosted_runs", ["runs.db"])]
    with pytest.raises(ValueError):  # AppTest, like the server, knows only the listed options
        at.selectbox(key="hosted_data").set_value("/").run()
    at.selectbox(key="hosted_data").set_value("fruits")
    assert restore_config.get_option("client.showErrorDetails") == "none"
    recommend(at, ["kiwi", "lime"])
    assert len(at.table) == len(DEFAULT_VIEW)
    at.selectbox(key="hosted_data").set_value("other-hosted").run()  # the checkpoints' other dataset
    assert not at.exception
    assert 'with dataset "other-hosted" on this server' in texts(at.error)
    for page in (None, "views/runs.py", "views/catalogue.py"):
        if page:
            at.switch_page(page).run()
        assert not at.exception and str(fruit["root"]) not in rendered(at) and str(REPO) not in rendered(at)


def test_hosted_mode_a_bug_shows_no_traceback(monkeypatch, fruit, restore_config):
    import igd.compare

    def bug(*args, **kwargs):
        raise RuntimeError(f"a bug that names {fruit['root']}")

    monkeypatch.setattr(igd.compare, "compare_arms", bug)  # the page imports it on every run
    at = AppTest.from_file(APP, default_timeout=300)
    for key, env in (("data", "IGD_DATA"), ("models", "IGD_MODELS"), ("runs", "IGD_RUNS_DB")):
        monkeypatch.setenv(env, str(fruit[key]))
    monkeypatch.setenv("IGD_HOSTED", "1")
    at.run()
    at.multiselect(key="history_pick").set_value(["kiwi"])
    at.button(key="recommend").click().run()
    (shown,) = at.exception
    assert not shown.stack_trace and "RuntimeError" not in str(shown.proto)
    assert str(fruit["root"]) not in rendered(at)


def test_a_huge_paste_is_a_short_message(monkeypatch, fruit, restore_config):
    """20 MB: above it Streamlit itself refuses the rerun (server.maxWidgetStateSize, 25 MB, 2 MB
    hosted); the browser never sends it (max_chars, test_browser.py pastes 30 MB)."""
    at = app(monkeypatch, fruit, hosted=True)
    recommend(at, [], "kiwi\nlime\n" + "x" * 20_000_000)
    (note,) = at.info
    assert "1 title(s) not in the catalogue were skipped" in texts([note]) and len(note.value) < 400
    assert len(at.table) == len(DEFAULT_VIEW)  # kiwi and lime still recommended from


def test_a_backtick_in_a_path_formats_nothing(monkeypatch, fruit):
    at = app(monkeypatch, fruit)
    at.text_input(key="path_data").set_value(str(fruit["root"] / "a`b **c** :red[d]")).run()
    (error,) = at.error
    assert r"a\`b \*\*c\*\* \:red\[d\]" in error.value and "does not exist" in error.value
    assert len(error.value) < 300


def test_runs_page(monkeypatch, fruit):
    at = app(monkeypatch, fruit, "views/runs.py")
    table = at.dataframe[0].value
    from igd.config import ARMS

    # arms named as the registry names them, in the paper's words
    assert {"BIGRec", "D3", ARMS["igd"].label, "Most popular"} <= set(table["method"])
    assert len(table) == len(json.loads(_runs_json(fruit["runs"])))
    assert "No sweep" not in texts(at.info)  # alpha 0 and 0.4 on valid: a curve
    assert len(at.get("vega_lite_chart")) >= 3  # methods, alpha sweep, losses
    at.multiselect(key="filter_method").set_value(["D3"]).run()
    assert set(at.dataframe[0].value["method"]) == {"D3"}


def test_runs_page_sets_the_run_beside_the_paper(monkeypatch, fruit):
    from igd import report_data as rd
    from igd import report_paper as rp
    from igd.store import RunStore

    at = app(monkeypatch, fruit, "views/runs.py")
    assert "Paper vs this run" in [h.value for h in at.header]
    store = RunStore(fruit["runs"], readonly=True)
    tested = rd.test_runs(store.runs(), load_dataset(fruit["data"]).name)
    want = rd.improvement_rows(store.predictions, tested)
    shown = next(d.value for d in at.dataframe if "paper (its datasets)" in d.value.columns)
    assert list(shown["this run"]) == [f"{t['relative']:+.1%}" for t in want] and len(want) >= 2
    assert set(shown["paper (its datasets)"]) == {"+4.3% … +41.3%"}  # from igd/paper_numbers.csv
    assert list(shown["p (sign test over users)"]) == [round(t["p_sign"], 4) for t in want]
    assert list(shown["p (Holm)"]) == [round(t["p_holm"], 4) for t in want]
    assert list(shown["users"]) == [t["users"] for t in want] and list(shown["test rows"]) == [t["rows"] for t in want]
    settings = [v for d in at.dataframe if "setting" in d.value.columns for v in d.value["setting"]]
    assert settings and not any("nan" in v for v in settings)  # a baseline has no measure to name


def test_catalogue_page(monkeypatch, fruit):
    at = app(monkeypatch, fruit, "views/catalogue.py")
    assert [m.label for m in at.metric][:2] == ["Users", "Items"] and at.metric[1].value == str(len(TITLES))
    at.text_input(key="prefix").set_value("ban").run()
    assert not at.exception
    children, titles = at.dataframe[1].value, at.dataframe[2].value
    assert set(titles["title"]) == {"banana", "band", "bandana"}
    assert '3** titles start with "ban"' in texts(at.markdown)
    assert len(children) >= 1 and (children["ig"] >= 0).all()
    assert children["titles_below"].sum() == 3  # the count above agrees with the counts below
    at.text_input(key="prefix").set_value("band").run()  # a complete title (and a prefix of bandana)
    path = at.dataframe[1].value
    assert "".join(path["token"]) == "band⏎<eos>" and (path["ig"] >= 0).all()
    assert '"band" is a complete title' in texts(at.caption)
    at.text_input(key="prefix").set_value("bandana").run()  # one title: said in the singular
    assert '**1** title starts with "bandana"; its token path is' in texts(at.markdown)
    at.text_input(key="prefix").set_value("zzz").run()
    assert "No title starts with" in texts(at.warning)


def _runs_json(db: Path) -> str:
    import io
    from contextlib import redirect_stdout

    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["runs", "--db", str(db), "--json"]) == 0
    return out.getvalue()


DEMO = REPO / "models"
ML = REPO / "data" / "ml-100k"


@pytest.fixture(scope="module")
def demo_paths():
    if not (DEMO / "demo-sft").exists():
        pytest.fail("models/demo-sft is missing: run `igd demo-models`")
    if not (ML / "info.txt").exists():
        assert main(["data", "movielens", "--out", str(ML)]) == 0
    return {"data": ML, "models": DEMO, "runs": DEMO / "runs.db"}


def test_demo_models_recommend_and_path_view(monkeypatch, demo_paths):
    first = app(monkeypatch, demo_paths)  # the worked example: four films, the default arms' lists
    assert first.multiselect(key="history_pick").value == list(EXAMPLE_TITLES)
    assert "Worked example: a history of four well-known films" in texts(first.success)
    assert [len(t.value) for t in first.table] == [10] * len(DEFAULT_VIEW)
    at = recommend(app(monkeypatch, demo_paths), ["Star Wars (1977)", "Fargo (1996)", "Toy Story (1995)"])
    assert [len(t.value) for t in at.table] == [10] * len(DEFAULT_VIEW)
    title = at.table[-1].value["title"][0]  # IGD-Tuning + IGD-Decoding, the path view's default
    _, igs = load(DEMO / "demo-igd-beta0.2", load_dataset(ML)).ig.path(title)
    np.testing.assert_allclose(at.dataframe[0].value["ig"].to_numpy(), igs, atol=1e-12)
    for page in ("views/runs.py", "views/catalogue.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error


def test_the_runs_page_opens_the_study_store_by_default(monkeypatch, tmp_path):
    """No store configured and no runs.db here: the reproduction study's store (issue 12) opens;
    hosted, every shipped store is a choice, in SHIPPED_STORES' order."""
    import sys

    sys.path.insert(0, str(REPO / "app"))
    import ui

    monkeypatch.chdir(tmp_path)  # no runs.db in the working directory
    for env in ("IGD_RUNS_DB", "IGD_HOSTED"):
        monkeypatch.delenv(env, raising=False)
    shipped = [str(REPO / s) for s in ui.SHIPPED_STORES if (REPO / s).is_file()]
    assert shipped[0] == str(REPO / "study" / "ml-100k-paper.db") and shipped[-1] == str(REPO / "models" / "runs.db")
    assert ui._local_defaults()["runs"] == shipped[0]
    assert [e.path for e in ui.configured("runs")] == shipped
    assert [e.label for e in ui.configured("runs")][:2] == ["ml-100k-paper.db", "amazon.db"]
    (tmp_path / "runs.db").touch()  # a store of the user's own wins
    assert ui._local_defaults()["runs"] == "runs.db"
    monkeypatch.setenv("IGD_RUNS_DB", os.pathsep.join(["/a/x.db", "/b/y.db"]))  # a list: locally its first
    assert ui._local_defaults()["runs"] == "/a/x.db"
    monkeypatch.delenv("IGD_RUNS_DB")
    (tmp_path / "runs.db").unlink()
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("views/runs.py").run()
    assert not at.exception and not at.error
    assert "ml-100k-paper.db" in texts(at.caption)


def test_hosted_messages_cut_server_paths(monkeypatch):
    import sys

    sys.path.insert(0, str(REPO / "app"))
    import hosting

    monkeypatch.setenv("IGD_HOSTED", "1")
    assert hosting.public("cannot load '/srv/models/Qwen2.5-1.5B/model': no") == "cannot load 'model': no"
    kept = "Qwen/Qwen2.5-1.5B, HR / NDCG, 1/2, https://x.org/a/b"
    assert hosting.public(kept) == kept
    both = hosting.entries(os.pathsep.join(["/a/runs.db", "/b/runs.db", "", "/a/runs.db"]))
    assert [(e.label, e.path) for e in both] == [("runs.db", "/a/runs.db"), ("runs.db (2)", "/b/runs.db")]
    monkeypatch.delenv("IGD_HOSTED")
    assert hosting.public("/srv/x") == "/srv/x"  # locally the paths are the user's own


def test_the_checkpoint_search_is_bounded(monkeypatch, tmp_path):
    """A checkpoint folder of `/` once walked the whole filesystem on every rerun."""
    import sys

    sys.path.insert(0, str(REPO / "app"))
    import hosting

    for folder in ("x", "x/model/inner", ".hidden", "a/b/c/d/e/f/g"):  # found; in a checkpoint; hidden; too deep
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "igd_checkpoint.json").write_text("{}")
    assert hosting.walk_checkpoints(tmp_path) == hosting.Search([tmp_path / "x"])
    monkeypatch.setattr(hosting, "MAX_DIRS", 3)
    assert hosting.walk_checkpoints(tmp_path).truncated


def test_titles_are_shown_literally_in_markdown():
    import sys

    sys.path.insert(0, str(REPO / "app"))
    from ui import markdown_literal

    assert markdown_literal("M*A*S*H (1970)") == r"M\*A\*S\*H \(1970\)"
    assert markdown_literal("a_b [c] `d` \\ <e>") == r"a\_b \[c\] \`d\` \\ \<e\>"
    assert markdown_literal("Star Wars 1977 ✓") == "Star Wars 1977 ✓"


def test_runs_page_shows_table7_and_the_entropy_gap_as_the_report_does(monkeypatch, fruit):
    from igd import report
    from igd import report_data as rd
    from igd import report_paper as rp
    from igd.store import RunStore

    at = app(monkeypatch, fruit, "views/runs.py")
    assert "Diversity against α (Table 7) and the entropy gap (Fig. 3)" in [h.value for h in at.subheader]
    runs = RunStore(fruit["runs"], readonly=True).runs()
    name = load_dataset(fruit["data"]).name
    gap = report.entropy_gap_table(report.entropy_gap_evals(runs, name)[0])
    shown = "\n".join(texts(at.markdown))
    assert gap and gap[-1] in shown  # the last row of the report's own table, on the page
    assert report.table7(runs, name, rp.paper_numbers())[-1] in shown
