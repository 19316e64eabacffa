"""What every page shares: the sidebar's paths, cached loaders, and errors shown as messages.

Only layout and caching live here; everything computed comes from `igd` (igd.compare, igd.store,
igd.stats). Loaders are `st.cache_resource` keyed by path strings and bounded (`max_entries`): a
model and its trie are built once per process whatever the page, and no visitor can fill the
memory with models. Bad input is a short `st.error` naming the input and the fix; user-given
text reaches Markdown only through `said` / `markdown_literal`; in hosted mode (hosting.py) the
sidebar offers the operator's entries only and messages never name a server path.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Container, NamedTuple, NoReturn, Sequence

import streamlit as st

from hosting import MAX_DEPTH, MAX_DIRS, META, Entry, entries, hosted, public, walk_checkpoints
from igd.compare import Loaded, load
from igd.config import ITEMS
from igd.data import SPLITS, Dataset, load_dataset
from igd.evaluate import checkpoint_items
from igd.sid_view import item_view
from igd.store import RunStore

REPO = Path(__file__).resolve().parents[1]
LOG = logging.getLogger("igd.app")


class Field(NamedTuple):
    env: str  # where the operator (or `igd app --data/--models/--runs`) sets it
    label: str  # of the local text input
    name: str  # in messages, and (capitalised) the hosted select box's label
    option: str  # of `igd app`
    kind: str  # what the path must be: "dir" or "file"
    fix: str  # said locally when the path is missing or of the wrong kind


FIELDS = {"data": Field("IGD_DATA", "Dataset directory (D3 layout)", "dataset", "--data", "dir",
                        "type the folder that holds its info.txt and train.csv, or build MovieLens-100K "
                        "with `igd data movielens --out data/ml-100k`"),
          "models": Field("IGD_MODELS", "Checkpoints (a folder searched for `igd train` outputs)",
                          "checkpoint folder", "--models", "dir",
                          "type the folder that holds your `igd train` outputs, or run `igd demo-models`"),
          "runs": Field("IGD_RUNS_DB", "Run store (SQLite)", "run store", "--runs", "file",
                        "type the SQLite file `igd experiment --db` wrote (e.g. runs.db)")}
MAX_PATH = 4096  # PATH_MAX: a longer path field is no path
MAX_WHY = 300  # characters of an exception's text quoted in a local message
MAX_PASTE_CHARS, MAX_PASTE_LINES = 100_000, 1000  # pasted history: far above the 10 items used
ECHO = 80  # characters of an unknown pasted title repeated in the "not in the catalogue" note


def _default(env: str, relative: str) -> str:
    """$env, else `relative` under the working directory if it exists, else under the repo."""
    if os.environ.get(env):
        return os.environ[env]
    return relative if Path(relative).exists() else str(REPO / relative)


def markdown_literal(text: str) -> str:
    """`text` shown as typed where Streamlit renders Markdown (st.table cells, captions, messages):
    every ASCII punctuation mark backslash-escaped (GFM), so "M*A*S*H (1970)" is not emphasis,
    a backtick opens no code span and `:red[...]` or `$x$` are no Streamlit directives."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def said(text: str, limit: int = 120) -> str:
    """User-given text (a path, a title, a prefix) quoted inside a message: cut to `limit`
    characters, so a pasted megabyte is not repeated back, and escaped (markdown_literal)."""
    text = str(text)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text):,} characters)"
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # a NUL or newline shown as \x00, \n
    return '"' + markdown_literal(text) + '"'


def fail(message: str) -> NoReturn:
    st.error(message)
    st.stop()


# The run stores this repository ships (study/README.md), the reproduction study first: what the
# Runs page opens when no store is configured and the working directory holds no runs.db. Hosted,
# each is a choice of the sidebar; the demo checkpoints' own store (models/runs.db) comes last.
SHIPPED_STORES = ("study/ml-100k-paper.db", "study/amazon.db", "study/sid-ml-100k.db", "study/sid-industrial.db",
                  "study/ml-100k.db", "models/runs.db")


def _shipped_stores() -> str:
    """The shipped stores present in this checkout, os.pathsep-joined (a local sidebar starts from
    the first)."""
    return os.pathsep.join(str(REPO / s) for s in SHIPPED_STORES if (REPO / s).is_file())


def _defaults() -> dict[str, str]:
    """The three paths as configured: a local sidebar starts from them as given (the first entry
    of a list); hosted mode reads each as a list of entries (`hosting.entries`)."""
    runs_db = (_default("IGD_RUNS_DB", "runs.db") if Path("runs.db").exists() or os.environ.get("IGD_RUNS_DB")
               else _shipped_stores())
    return {"data": _default("IGD_DATA", "data/ml-100k"), "models": _default("IGD_MODELS", "models"), "runs": runs_db}


def _local_defaults() -> dict[str, str]:
    """A local sidebar's starting paths: the defaults, of a configured list its first entry."""
    return {k: v.split(os.pathsep)[0] for k, v in _defaults().items()}


def configured(key: str) -> list[Entry]:
    """The operator's entries for a sidebar field: hosted mode's only choices."""
    return entries(_defaults()[key])


def sidebar_paths() -> None:
    """The dataset, checkpoint folder and run store every page reads. Drawn by the entry script
    on every run, whatever the page, so the values survive page switches."""
    # The values live under a plain key: Streamlit drops a widget's own state when a run does
    # not draw it (page switches), and the widget then starts again from `value`.
    with st.sidebar:
        if hosted():  # select boxes of configured names: no visitor types a server path
            st.markdown("**Data and models**")
            saved = st.session_state.setdefault("igd_hosted", {})
            for key, f in FIELDS.items():
                names = [e.label for e in configured(key)]
                index = names.index(saved[key]) if saved.get(key) in names else (0 if names else None)
                saved[key] = st.selectbox(f.name.capitalize(), names, index=index, key=f"hosted_{key}")
            return
        st.markdown("**Paths**")
        saved = st.session_state.setdefault("igd_paths", _local_defaults())
        for key, f in FIELDS.items():
            saved[key] = st.text_input(f.label, value=saved[key], key=f"path_{key}", max_chars=MAX_PATH).strip()


def current_paths() -> dict[str, str]:
    """The sidebar's values (absolute paths of configured entries when hosted; "" when none is
    configured); the defaults when a page script runs without the entry script having drawn the
    sidebar in this session (a page run on its own)."""
    if not hosted():
        return dict(st.session_state.setdefault("igd_paths", _local_defaults()))
    saved = st.session_state.get("igd_hosted", {})
    paths = {}
    for key in FIELDS:
        choices = configured(key)
        pick = next((e for e in choices if e.label == saved.get(key)), choices[0] if choices else None)
        paths[key] = pick.path if pick else ""
    return paths


def name_of(path: str) -> str:
    """How messages name a sidebar path: as typed locally; hosted, by its configured name."""
    if not hosted():
        return path
    return next((e.label for key in FIELDS for e in configured(key) if e.path == path), Path(path).name)


def _empty(key: str) -> str:
    f = FIELDS[key]
    if hosted():
        return f"No {f.name} is configured on this server: its operator sets one with `igd app {f.option}`."
    return f"The sidebar's {f.name} field is empty: type a path there (or set {f.env} before `igd app`)."


def _kind(path: str) -> str:
    """"dir", "file", "missing", or why the path cannot even be looked at: Path.is_dir() raises on
    a name too long or a NUL byte instead of answering False."""
    try:
        p = Path(path)
        return "dir" if p.is_dir() else "file" if p.exists() else "missing"
    except (OSError, ValueError) as err:
        return getattr(err, "strerror", None) or str(err)


def _wrong_path(key: str, path: str) -> str | None:
    """The message when the sidebar's `key` path is empty or not what the field needs; None if
    it is."""
    f, kind, where = FIELDS[key], _kind(path), said(name_of(path))
    if not path:
        return _empty(key)
    if kind == f.kind:
        return None
    if hosted():
        return f"The {f.name} {where} is not on this server: choose another {f.name} in the sidebar."
    if kind == "missing":
        return f"{f.name.capitalize()} {where} does not exist: {f.fix}."
    if kind in ("dir", "file"):
        return f"{f.name.capitalize()} {where} is a {'folder' if kind == 'dir' else 'file'}: {f.fix}."
    return f"{f.name.capitalize()} {where} is not a usable path ({markdown_literal(kind)}): {f.fix}."


def _cannot(head: str, err: BaseException, fix: str) -> str:
    """`head`, why, and the fix. Hosted, the why goes to the server log only: an exception's text
    names server paths and may quote file contents."""
    if hosted():
        LOG.warning("%s", head, exc_info=err)
        return f"{head} on this server (the details are in its log): {fix}."
    text = str(err) or type(err).__name__
    why = markdown_literal(text[:MAX_WHY] + ("…" if len(text) > MAX_WHY else ""))
    return f"{head}: {why}" + ("" if "Fix:" in text else f" Fix: {fix}.")


@st.cache_resource(show_spinner="Loading the dataset…", max_entries=4)
def _dataset(path: str, items: str = "title") -> Dataset:
    if items != "title":  # the semantic-ID view shares the title view's files and parsed splits
        return item_view(_dataset(path), items)
    return load_dataset(path, lazy=True)  # a split is parsed when a page first needs it


def dataset_or_stop(path: str, need: Sequence[str] = SPLITS, items: str = "title") -> Dataset:
    """The dataset with the splits in `need` parsed, in the item view of the page's checkpoint
    (igd.config.ITEMS), or a message in the page (never a traceback) and the page stops.
    Recommend needs test.csv only: MovieLens' training rows (3 s to parse) come from the
    checkpoints' stored item priors instead."""
    if problem := _wrong_path("data", path):
        fail(problem)
    where = said(name_of(path))
    try:
        dataset = _dataset(str(Path(path).resolve()), items)
        for split in need:
            dataset.splits.get(split)  # parses it; a malformed row is this input's problem
        return dataset
    # Any reader failure (csv, json, a decode error) is this input's problem, said in the page;
    # st.stop() / reruns are BaseException and pass.
    except Exception as err:  # noqa: BLE001
        if items == "sid":  # e.g. a D3 folder: its DataError names `igd sid build`
            fail(_cannot(f"Cannot read the dataset {where} by semantic IDs, as the chosen checkpoint names its "
                         "items", err, "choose a dataset with semantic IDs (`igd sid build`) in the sidebar, or "
                         "a checkpoint trained on titles"))
        fail(_cannot(f"Cannot load the dataset {where}", err,
                     "choose another dataset in the sidebar" if hosted() else
                     "type a folder in the D3 layout (info.txt, train/valid/test.csv)"))


@st.cache_resource(show_spinner="Loading the checkpoint and building its IG trie…", max_entries=4)
def _loaded(checkpoint: str, data: str) -> Loaded:
    return load(checkpoint, _dataset(data), dtype=os.environ.get("IGD_DTYPE", "auto"))  # `igd app --dtype`


def decode_threads() -> int | None:
    """Torch threads for the next decoding (`igd app --threads`; auto: the cores other
    processes leave free right now, sampled for 0.1 s: with the other core busy, 2 threads
    decoded several times slower than 1)."""
    from igd.precision import apply_threads, parse_threads

    value = os.environ.get("IGD_THREADS", "auto")
    try:
        choice = parse_threads(value)
    except ValueError:
        st.warning(f"IGD_THREADS={value!r} is not a thread count; decoding with auto threads. Fix: set it "
                   "to a number >= 1 or auto (`igd app --threads`)")
        choice = "auto"
    return apply_threads(choice, seconds=0.1)


def loaded_or_stop(pick: dict, data: str) -> Loaded:
    """The checkpoint `pick` (from `checkpoints_or_stop`) on the dataset, or a message."""
    try:
        return _loaded(pick["path"], str(Path(data).resolve()))
    # Loading runs json, tokenizers, safetensors and transformers on files the user chose: any
    # of their errors means this checkpoint cannot be used here.
    except Exception as err:  # noqa: BLE001
        fail(_cannot(f"Cannot use checkpoint {said(pick['label'])} with dataset {said(name_of(data))}", err,
                     "pick another checkpoint or dataset in the sidebar, or retrain it with `igd train`"))


def _checkpoint_info(folder: Path, root: Path) -> dict | None:
    """path, method, beta, items, dataset and label from igd_checkpoint.json; None unless it is the
    JSON object `igd train` writes (such a checkpoint is not offered, and counted). The label
    starts with the folder relative to `root`: unique, and no server path."""
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError):
        return None
    config = meta.get("config") if isinstance(meta, dict) else None
    if not isinstance(config, dict):
        return None
    method, beta, items = config.get("method"), config.get("beta"), checkpoint_items(meta)
    if not isinstance(method, str) or not (beta is None or isinstance(beta, (int, float))) or items not in ITEMS:
        return None
    name = folder.relative_to(root).as_posix() if folder != root else folder.name
    label = f"{name}  ({public(str(meta.get('model', '?')))}, {method}" + (", semantic IDs" if items == "sid" else "")
    label += f", β={beta:g})" if method in ("igd", "pos", "cft") and beta is not None else ")"
    return {"path": str(folder), "method": method, "beta": beta, "items": items, "dataset": meta.get("dataset"),
            "label": label}


@st.cache_data(ttl=30, max_entries=16, show_spinner="Searching for checkpoints…")
def _search(folder: str, hosted_mode: bool) -> tuple[list[dict], int, bool]:
    """(checkpoints, unreadable metadata files, search cut short); hosted_mode in the key: labels
    differ. Cached for 30 s: reruns do not walk the folder again, a new checkpoint still shows."""
    search = walk_checkpoints(Path(folder))
    infos = [_checkpoint_info(f, Path(folder)) for f in search.folders]
    return [i for i in infos if i], sum(i is None for i in infos), search.truncated


def pick_checkpoint(label: str, choices: list[dict], key: str) -> dict:
    """A select box of checkpoints whose values are their labels, never the dicts: Streamlit keeps
    a stale value whose label is still offered, so a dict would keep the previous folder's path."""
    by_label = {c["label"]: c for c in choices}
    return by_label[st.selectbox(label, list(by_label), key=key)]


def checkpoints_or_stop(folder: str) -> tuple[list[dict], str]:
    """Every `igd train` output under the sidebar's checkpoint folder, and a sentence on those
    not offered ("" if none); a missing or wrong folder is a message and the page stops."""
    if problem := _wrong_path("models", folder):
        fail(problem)
    where = said(name_of(folder))
    found, unreadable, truncated = _search(str(Path(folder).resolve()), hosted())
    if truncated:
        st.warning(f"Searched only the first {MAX_DIRS:,} folders under {where} (at most {MAX_DEPTH} deep): "
                   "point the sidebar at the folder that holds your checkpoints.")
    note = (f" {unreadable} {META} file(s) under it could not be read and are not offered: retrain those "
            "with `igd train`." if unreadable else "")
    return found, note


@st.cache_data(show_spinner=False, max_entries=16)
def _runs(path: str, mtime: float) -> list[dict]:  # mtime in the key: a changed file is re-read
    store = RunStore(path, readonly=True)  # one short-lived connection: sqlite is per thread
    try:
        return store.runs()
    finally:
        store.close()


@st.cache_data(show_spinner=False, max_entries=128)
def _per_run(path: str, mtime: float, run_id: int, rows: str) -> list[dict]:
    """A run's `rows` ("train_log" or "predictions"), read-only; mtime in the key as `_runs`."""
    store = RunStore(path, readonly=True)
    try:
        return getattr(store, rows)(run_id)
    finally:
        store.close()


def train_log(path: str, mtime: float, run_id: int) -> list[dict]:
    return _per_run(path, mtime, run_id, "train_log")


def predictions(path: str, mtime: float, run_id: int) -> list[dict]:
    return _per_run(path, mtime, run_id, "predictions")


def runs_or_none(path: str) -> tuple[list[dict], tuple[str, float]] | None:
    """All runs (with metrics) read-only, and the (path, mtime) key for `train_log`; or None
    after a message in the page."""
    p, where = Path(path), said(name_of(path))
    if path and _kind(path) == "missing":  # before the first `igd experiment`: not a mistake
        st.warning(f"The run store {where} has no runs on this server yet: choose another in the sidebar." if hosted()
                   else f"No run store at {where}: runs appear here after `igd experiment --db` (or "
                   "`igd demo-models`) writes one there; or type another path.")
        return None
    if problem := _wrong_path("runs", path):
        st.error(problem)
        return None
    try:
        wal = p.with_name(p.name + "-wal")  # a WAL store being written changes its -wal file first
        key = (str(p.resolve()), max(p.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0))
        return _runs(*key), key
    # A file that is not a run store fails in sqlite, or in reading rows of an unexpected shape.
    except Exception as err:  # noqa: BLE001
        st.error(_cannot(f"Cannot read the run store {where}", err,
                         "choose another run store in the sidebar" if hosted() else "type another store path"))
        return None


def bounded_entries(lines: list[str], known: Container[str]) -> list[str]:
    """History entries as `check_history` should see them: an unknown one longer than ECHO
    characters cut, since its note repeats it (a 30 MB paste came back as a 30 MB message)."""
    return [e if len(e.strip()) <= ECHO or e.strip() in known else e.strip()[:ECHO] + "…" for e in lines]


# Streamlit >= 1.47 leaves the sidebar open over the page after a navigation link is tapped on
# a phone (streamlit/streamlit#12065, open): close it from the page, only when the page changed
# and the viewport is narrow (Streamlit's mobile breakpoint), never on a desktop.
_CLOSE_SIDEBAR_JS = """<script>
(() => {
  const doc = window.parent ? window.parent.document : document;
  const win = window.parent || window;
  if (!win.matchMedia("(max-width: 768px)").matches) return;
  const button = doc.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (button) button.click();
})();
</script>"""


def close_sidebar_on_phones_after(page) -> None:
    """On a phone, close the sidebar once the page changed (the tapped link's page is shown)."""
    previous, st.session_state["_page"] = st.session_state.get("_page"), page.url_path
    if previous is not None and previous != page.url_path:
        st.html(_CLOSE_SIDEBAR_JS, unsafe_allow_javascript=True)
