"""Bad input to the app, one case each: typed into the sidebar's path fields, the history, K and
beams, the trie prefix, or configured by the operator in hosted mode. Every case must end in a
short message (never a traceback) that names the input and says the fix; hosted, no rendered
text may name a server path.

The checkpoints are two `igd train` runs of 2 steps on the fruit dataset (char tokenizer):
what they recommend does not matter here, only that they load."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fruits import TINY, write_dataset
from igd.cli import main

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app" / "streamlit_app.py")
ENV = {"data": "IGD_DATA", "models": "IGD_MODELS", "runs": "IGD_RUNS_DB"}
MAX_MESSAGE = 500  # characters: a message, not a dump
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """The good inputs, and one bad file or folder per kind of mistake."""
    root = tmp_path_factory.mktemp("bad-app-inputs")
    data = write_dataset(root / "fruits")
    for method in ("sft", "igd"):
        assert main(["train", "--data", str(data), "--method", method, "--out", str(root / "ckpts" / method),
                     "--max-steps", "2", "--db", str(root / "runs.db"), *TINY]) == 0
    w = {"root": root, "data": data, "models": root / "ckpts", "runs": root / "runs.db"}
    w["file"] = root / "notes.txt"
    w["file"].write_text("a text file `with` **markdown**\n")
    w["empty_dir"] = root / "empty"
    w["empty_dir"].mkdir()
    w["bad_info"] = root / "bad-info"
    shutil.copytree(data, w["bad_info"])
    (w["bad_info"] / "info.txt").write_text("a title without a tab\n")
    w["other_data"] = write_dataset(root / "other-fruits", users=30, seed=5)  # another item trie
    w["no_test"] = root / "no-test"
    shutil.copytree(data, w["no_test"])
    (w["no_test"] / "test.csv").unlink()
    for name, damage in (("json_list", lambda p: (p / "igd_checkpoint.json").write_text("[]")),
                         ("bad_weights", lambda p: [f.write_bytes(b"junk") for f in (p / "model").glob("*")]),
                         ("bad_template", _bad_template)):
        w[name] = root / name
        shutil.copytree(w["models"], w[name])
        damage(w[name] / "igd")
    w["no_runs_table"] = root / "other.db"
    with sqlite3.connect(w["no_runs_table"]) as db:
        db.execute("CREATE TABLE runs (id INTEGER)")
    return w


def _bad_template(ckpt: Path) -> None:
    meta = json.loads((ckpt / "igd_checkpoint.json").read_text())
    meta["template"] = {"unknown_field": 1}
    (ckpt / "igd_checkpoint.json").write_text(json.dumps(meta))


@dataclass(frozen=True)
class Case:
    """`fields`: sidebar field -> its value (typed locally, configured by the operator hosted);
    `says`: what the message must contain, the input's name first (a callable gets the world)."""

    id: str
    fields: dict[str, Callable[[dict], str]] = field(default_factory=dict)
    page: str | None = None
    act: Callable[[AppTest], None] | None = None
    kind: str = "error"
    says: tuple = ()
    hosted: bool = False


def recommend(paste: str = "", k: int | None = None, beams: int | None = None) -> Callable[[AppTest], None]:
    def act(at: AppTest) -> None:
        if k:
            at.slider(key="k").set_value(k)
        if beams:
            at.number_input(key="beams").set_value(beams)
        at.multiselect(key="history_pick").set_value([])  # the first visit's worked example, cleared
        at.text_area(key="history_paste").set_value(paste)
        at.button(key="recommend").click().run()
    return act


def real_user(at: AppTest) -> None:
    at.radio(key="history_mode").set_value("A real test user").run()


def prefix(text: str) -> Callable[[AppTest], None]:
    return lambda at: at.text_input(key="prefix").set_value(text).run()


def path(key: str) -> Callable[[dict], str]:
    return lambda w: str(w[key])


RUNS, CATALOGUE = "views/runs.py", "views/catalogue.py"
BIG = "kiwi\n" + "x" * 20_000_000  # 20 MB: more is refused by Streamlit itself (maxWidgetStateSize)
CASES = [
    # the dataset field
    Case("data-empty", {"data": lambda w: ""}, says=("dataset field is empty", "type a path")),
    Case("data-a-file", {"data": path("file")}, says=(path("file"), "is a file", "type the folder")),
    Case("data-nul-byte", {"data": lambda w: "data\x00x"}, says=(r'"data\x00x" does not exist', "type the folder")),
    Case("data-missing", {"data": lambda w: str(w["root"] / "nowhere")}, says=("nowhere", "does not exist", "igd data movielens")),
    Case("data-not-a-dataset", {"data": path("empty_dir")}, says=(path("empty_dir"), "missing info.txt", "Fix:")),
    Case("data-bad-info", {"data": path("bad_info")}, says=(path("bad_info"), "info.txt", "Fix:")),
    Case("data-backtick", {"data": lambda w: "/no/such `dir` **x** :red[y] $z$"},
         says=("/no/such `dir` **x** :red[y] $z$", "does not exist")),
    Case("data-huge-path", {"data": lambda w: "/" + "d" * 10_000}, says=("/" + "d" * 100, "not a usable path")),
    Case("runs-nul-byte", {"runs": lambda w: "runs\x00.db"}, page=RUNS, kind="warning", says=(r'"runs\x00.db"', "No run store")),
    Case("data-of-other-checkpoints", {"data": path("other_data")}, says=("Cannot use checkpoint", "different item trie")),
    Case("data-no-test-split", {"data": path("no_test")}, act=real_user, says=(path("no_test"), "no test users", "Build a history")),
    Case("data-on-catalogue", {"data": path("file")}, page=CATALOGUE, says=(path("file"), "is a file")),
    # the checkpoint folder field
    Case("models-empty", {"models": lambda w: ""}, says=("checkpoint folder field is empty", "type a path")),
    Case("models-a-file", {"models": path("file")}, says=(path("file"), "is a file", "igd train")),
    Case("models-missing", {"models": lambda w: str(w["root"] / "nowhere")}, says=("nowhere", "does not exist", "igd demo-models")),
    Case("models-without-checkpoints", {"models": path("empty_dir")}, says=(path("empty_dir"), "needs an SFT checkpoint", "igd train")),
    Case("models-corrupt-metadata", {"models": path("json_list")}, says=(path("json_list"), "could not be read", "retrain")),
    Case("models-corrupt-weights", {"models": path("bad_weights")}, says=("Cannot use checkpoint", "Fix")),
    Case("models-bad-template", {"models": path("bad_template")}, says=("Cannot use checkpoint", "template", "Fix")),
    Case("models-root", {"models": lambda w: "/"}, kind="warning", says=("Searched only the first 2,000 folders",
                                                                         "point the sidebar")),
    Case("models-on-catalogue", {"models": path("empty_dir")}, page=CATALOGUE, says=(path("empty_dir"), "No checkpoint", "igd train")),
    # the run store field
    Case("runs-empty", {"runs": lambda w: ""}, page=RUNS, says=("run store field is empty", "type a path")),
    Case("runs-a-folder", {"runs": path("empty_dir")}, page=RUNS, says=(path("empty_dir"), "is a folder", "type the SQLite file")),
    Case("runs-missing", {"runs": lambda w: str(w["root"] / "none.db")}, page=RUNS, kind="warning",
         says=("none.db", "No run store", "igd experiment --db")),
    Case("runs-not-sqlite", {"runs": path("file")}, page=RUNS, says=(path("file"), "Cannot read the run store", "Fix:")),
    Case("runs-no-runs-table", {"runs": path("no_runs_table")}, page=RUNS, says=(path("no_runs_table"), "lacks columns", "Fix:")),
    # the history, K and beams, the trie prefix
    Case("history-empty", act=recommend(""), says=("history is empty", "add at least one catalogue item")),
    Case("history-unknown-only", act=recommend("durian\n`**x**`"), says=("history is empty", "add at least one")),
    Case("history-unknown-echo", act=recommend("kiwi\n`**x**`"), kind="info", says=("`**x**`", "Pick titles")),
    Case("history-huge-paste", act=recommend(BIG), kind="info", says=("x" * 80, "not in the catalogue", "Pick titles")),
    Case("history-too-many-lines", act=recommend("kiwi\n" * 1001), says=("1,001 lines", "paste at most 1,000")),
    Case("k-above-beams", act=recommend("kiwi\nlime", k=15, beams=5), says=("K=15", "raise Beams to at least 15")),
    Case("prefix-markdown", page=CATALOGUE, act=prefix("`**zz**` :red[q]"), kind="warning",
         says=("`**zz**` :red[q]", "type the first letters")),
    # hosted: the operator configured something broken; the visitor sees names, never paths
    Case("hosted-data-not-a-dataset", {"data": path("empty_dir")}, says=('dataset "empty"', "choose another dataset"), hosted=True),
    Case("hosted-data-missing", {"data": lambda w: str(w["root"] / "gone")}, says=('dataset "gone"', "choose another"), hosted=True),
    Case("hosted-nothing-configured", {"data": lambda w: os.pathsep}, says=("No dataset is configured", "igd app --data"), hosted=True),
    Case("hosted-models-missing", {"models": lambda w: str(w["root"] / "gone")}, says=('"gone" is not on this server', "choose another"), hosted=True),
    Case("hosted-corrupt-weights", {"models": path("bad_weights")}, says=("Cannot use checkpoint", "pick another checkpoint"), hosted=True),
    Case("hosted-other-dataset", {"data": path("other_data")}, says=('dataset "other-fruits" on this server', "pick another"), hosted=True),
    Case("hosted-runs-corrupt", {"runs": path("file")}, page=RUNS, says=('run store "notes.txt"', "choose another run store"), hosted=True),
    Case("hosted-runs-missing", {"runs": lambda w: str(w["root"] / "none.db")}, page=RUNS, kind="warning",
         says=('run store "none.db"', "choose another"), hosted=True),
    Case("hosted-huge-paste", act=recommend(BIG), kind="info", says=("x" * 80, "Pick titles"), hosted=True),
    Case("hosted-k-above-beams", act=recommend("kiwi", k=15, beams=5), says=("K=15", "raise Beams"), hosted=True),
]


def plain(markdown: str) -> str:
    """Text as shown: the app backslash-escapes every punctuation mark of user text."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def rendered(at: AppTest) -> str:
    """Everything the app sent to the browser: every element's protobuf, as text."""
    return "\n".join(str(node.proto) for node in at._tree if getattr(node, "proto", None) is not None)


@pytest.fixture
def restore_config():
    """Hosted mode sets Streamlit's process-wide client options: put them back."""
    from streamlit import config

    before = {o: config.get_option(o) for o in ("client.showErrorDetails", "client.toolbarMode")}
    yield
    for option, value in before.items():
        config.set_option(option, value)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_a_short_message(case, world, monkeypatch, restore_config):
    for key, env in ENV.items():
        value = case.fields[key](world) if case.hosted and key in case.fields else str(world[key])
        monkeypatch.setenv(env, value)
    if case.hosted:
        monkeypatch.setenv("IGD_HOSTED", "1")
    else:
        monkeypatch.delenv("IGD_HOSTED", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if not case.hosted:  # typed into the sidebar, as a user would
        for key, value in case.fields.items():
            at.text_input(key=f"path_{key}").set_value(value(world)).run()
    if case.page:
        at.switch_page(case.page).run()
    if case.act:
        case.act(at)
    assert not at.exception, at.exception
    says = [s(world) if callable(s) else s for s in case.says]
    messages = [m.value for m in getattr(at, case.kind) if says[0][:100] in plain(m.value)]
    assert messages, f"no {case.kind} naming {says[0][:100]!r}: {[plain(m.value) for m in at.error]}"
    for message in messages:
        assert len(plain(message)) <= MAX_MESSAGE, message[:1000]
        assert all(s[:100] in plain(message) for s in says), plain(message)
    if case.hosted:
        shown = rendered(at)
        assert str(world["root"]) not in shown and str(REPO) not in shown
        assert not at.sidebar.text_input
