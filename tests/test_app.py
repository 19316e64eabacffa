"""The Streamlit app with AppTest: every page, the side-by-side lists, the token-path view
against igd's own IG, and bad input shown as messages (never a traceback).

Checkpoints and the run store come from `igd experiment` on the fruit dataset (char tokenizer,
a few steps); `test_demo_models_*` use the committed demo checkpoints on MovieLens-100K."""

import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fruits import TINY, TITLES, write_dataset
from igd.cli import main
from igd.compare import load
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


def app(monkeypatch, paths: dict, page: str | None = None) -> AppTest:
    for key, env in (("data", "IGD_DATA"), ("models", "IGD_MODELS"), ("runs", "IGD_RUNS_DB")):
        monkeypatch.setenv(env, str(paths[key]))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def recommend(at: AppTest, history: list[str] | None = None, paste: str = "") -> AppTest:
    if history is not None:
        at.multiselect(key="history_pick").set_value(history)
    at.text_area(key="history_paste").set_value(paste)
    at.button(key="recommend").click().run()
    assert not at.exception, at.exception
    return at


def test_side_by_side_shows_three_lists(monkeypatch, fruit):
    at = app(monkeypatch, fruit)
    at.slider(key="k").set_value(5).run()
    recommend(at, ["kiwi", "lime"])
    lists = at.table[:3]
    assert [h.value for h in at.subheader][:3] == ["BIGRec", "D3", "IGD, α=0.2"]
    for table in lists:
        titles = list(table.value["title"])
        assert len(titles) == 5 == len(set(titles)) and set(titles) <= set(TITLES)
    flagged = set().union(*[set(t.value["title"][t.value[""] == "≠"]) for t in lists])
    every = [set(t.value["title"]) for t in lists]
    assert flagged == set.union(*every) - set.intersection(*every)
    assert "Three-way latency" in texts(at.caption)


def test_path_view_ig_equals_igd(monkeypatch, fruit):
    at = recommend(app(monkeypatch, fruit), ["kiwi", "lime"])
    igd_list = list(at.table[2].value["title"])
    at.selectbox(key="path_method").set_value("igd")
    at.selectbox(key="path_title").set_value(igd_list[1]).run()
    path = at.dataframe[0].value
    ckpt = next(p.parent for p in fruit["models"].rglob("igd_checkpoint.json") if "igd-" in p.parent.name)
    _, igs = load(ckpt, load_dataset(fruit["data"])).ig.path(igd_list[1])
    np.testing.assert_allclose(path["ig"].to_numpy(), igs, rtol=0, atol=1e-12)
    assert list(path["zero_ig"]) == [g == 0 for g in igs]
    assert "beam score" in texts(at.caption)


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
    assert len(at.table) == 3  # and still recommended


def test_an_empty_history_is_a_message(monkeypatch, fruit):
    at = recommend(app(monkeypatch, fruit), [], "")
    assert "history is empty" in texts(at.warning) and len(at.table) == 0


@pytest.mark.parametrize("key, page, message", [
    ("data", None, "does not exist"),
    ("models", None, "needs an SFT checkpoint"),
    ("models", "views/catalogue.py", "No checkpoint under"),
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


def test_catalogue_page(monkeypatch, fruit):
    at = app(monkeypatch, fruit, "views/catalogue.py")
    assert [m.label for m in at.metric][:2] == ["Users", "Items"] and at.metric[1].value == str(len(TITLES))
    at.text_input(key="prefix").set_value("ban").run()
    assert not at.exception
    children, titles = at.dataframe[1].value, at.dataframe[2].value
    assert set(titles["title"]) == {"banana", "band", "bandana"}
    assert "3** titles start with 'ban'" in texts(at.markdown)
    assert len(children) >= 1 and (children["ig"] >= 0).all()
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
    at = recommend(app(monkeypatch, demo_paths), ["Star Wars (1977)", "Fargo (1996)", "Toy Story (1995)"])
    assert [len(t.value) for t in at.table] == [10, 10, 10]
    title = at.table[2].value["title"][0]
    _, igs = load(DEMO / "demo-igd-beta0.2", load_dataset(ML)).ig.path(title)
    np.testing.assert_allclose(at.dataframe[0].value["ig"].to_numpy(), igs, atol=1e-12)
    for page in ("views/runs.py", "views/catalogue.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error


def test_titles_are_shown_literally_in_markdown():
    import sys

    sys.path.insert(0, str(REPO / "app"))
    from ui import markdown_literal

    assert markdown_literal("M*A*S*H (1970)") == r"M\*A\*S\*H \(1970\)"
    assert markdown_literal("a_b [c] `d` \\ <e>") == r"a\_b \[c\] \`d\` \\ \<e\>"
    assert markdown_literal("Star Wars 1977 ✓") == "Star Wars 1977 ✓"
