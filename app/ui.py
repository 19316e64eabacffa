"""What every page shares: the sidebar's paths, cached loaders, and errors shown as messages.

Only layout and caching live here; everything computed comes from `igd` (igd.compare, igd.store,
igd.stats). Loaders are `st.cache_resource` keyed by path strings, so a model and its trie are
built once per process whatever the page.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import streamlit as st

from igd.compare import Loaded, load
from igd.data import DataError, Dataset, load_dataset
from igd.store import RunStore

REPO = Path(__file__).resolve().parents[1]
META = "igd_checkpoint.json"
DATA_FIX = "build it with `igd data movielens --out data/ml-100k`, or type another dataset directory"


def _default(env: str, relative: str) -> str:
    """$env, else `relative` under the working directory if it exists, else under the repo."""
    if os.environ.get(env):
        return os.environ[env]
    return relative if Path(relative).exists() else str(REPO / relative)


def markdown_literal(text: str) -> str:
    """`text` shown as typed where Streamlit renders Markdown (st.table cells, captions, messages):
    every ASCII punctuation mark backslash-escaped (GFM), so "M*A*S*H (1970)" is not emphasis."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", text)


def sidebar_paths() -> None:
    """The dataset, checkpoint folder and run store every page reads. Drawn by the entry script
    on every run, whatever the page, so the values survive page switches."""
    # The values live under a plain key: Streamlit drops a widget's own state when a run does
    # not draw it (page switches), and the widget then starts again from `value`.
    saved = st.session_state.setdefault("igd_paths", _default_paths())
    with st.sidebar:
        st.markdown("**Paths**")
        for key, label in (("data", "Dataset directory (D3 layout)"),
                           ("models", "Checkpoints (a folder searched for `igd train` outputs)"),
                           ("runs", "Run store (SQLite)")):
            saved[key] = st.text_input(label, value=saved[key], key=f"path_{key}").strip()


def _default_paths() -> dict[str, str]:
    return {"data": _default("IGD_DATA", "data/ml-100k"), "models": _default("IGD_MODELS", "models"),
            "runs": _default("IGD_RUNS_DB", "runs.db") if Path("runs.db").exists() or os.environ.get(
                "IGD_RUNS_DB") else str(REPO / "models" / "runs.db")}


def current_paths() -> dict[str, str]:
    """The sidebar's values; the defaults when a page script runs without the entry script
    having drawn the sidebar in this session (a page run on its own)."""
    return dict(st.session_state.setdefault("igd_paths", _default_paths()))


@st.cache_resource(show_spinner="Loading the dataset…")
def _dataset(path: str) -> Dataset:
    return load_dataset(path)


def dataset_or_stop(path: str) -> Dataset:
    """The dataset, or a message in the page (never a traceback) and the page stops."""
    if not path or not Path(path).is_dir():
        st.error(f"Dataset directory `{path or '(empty)'}` does not exist: {DATA_FIX}.")
        st.stop()
    try:
        return _dataset(str(Path(path).resolve()))
    except (DataError, ValueError, OSError) as err:
        st.error(f"Cannot load the dataset `{path}`: {err}")
        st.stop()


@st.cache_resource(show_spinner="Loading the checkpoint and building its IG trie…")
def _loaded(checkpoint: str, data: str) -> Loaded:
    return load(checkpoint, _dataset(data))


def loaded_or_stop(checkpoint: str, data: str) -> Loaded:
    try:
        return _loaded(str(Path(checkpoint).resolve()), str(Path(data).resolve()))
    except (DataError, ValueError, OSError, KeyError) as err:
        st.error(f"Cannot use checkpoint `{checkpoint}` with dataset `{data}`: {err}")
        st.stop()


def find_checkpoints(folder: str) -> list[dict]:
    """Every `igd train` output under `folder` (or `folder` itself): path, method, beta, label."""
    root = Path(folder)
    if not root.is_dir():
        return []
    found = []
    for meta_file in sorted([root / META] if (root / META).exists() else root.rglob(META)):
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            continue  # not readable: not offered
        config = meta.get("config", {})
        method, beta = config.get("method", "?"), config.get("beta")
        label = f"{meta_file.parent.name}  ({meta.get('model', '?')}, {method}"
        label += f", β={beta:g})" if method in ("igd", "pos", "cft") and beta is not None else ")"
        found.append({"path": str(meta_file.parent), "method": method, "beta": beta,
                      "dataset": meta.get("dataset"), "label": label})
    return found


@st.cache_data(show_spinner=False)
def _runs(path: str, mtime: float) -> list[dict]:  # mtime in the key: a changed file is re-read
    store = RunStore(path, readonly=True)  # one short-lived connection: sqlite is per thread
    try:
        return store.runs()
    finally:
        store.close()


@st.cache_data(show_spinner=False)
def train_log(path: str, mtime: float, run_id: int) -> list[dict]:
    store = RunStore(path, readonly=True)
    try:
        return store.train_log(run_id)
    finally:
        store.close()


def runs_or_none(path: str) -> tuple[list[dict], tuple[str, float]] | None:
    """All runs (with metrics) read-only, and the (path, mtime) key for `train_log`; or None
    after a message in the page."""
    p = Path(path)
    if not p.is_file():
        st.warning(f"No run store at `{path}`. Runs appear here after `igd experiment --db {path}` "
                   "(or `igd demo-models`).")
        return None
    wal = p.with_name(p.name + "-wal")  # a WAL store being written changes its -wal file first
    key = (str(p.resolve()), max(p.stat().st_mtime, wal.stat().st_mtime if wal.exists() else 0.0))
    try:
        return _runs(*key), key
    except (DataError, OSError) as err:
        st.error(f"Cannot read the run store `{path}`: {err}")
        return None
