"""Hosted mode: what a visitor of a public deployment (the Hugging Face Space) may make the
server do. On with `igd app --hosted` (the Dockerfile's command) or IGD_HOSTED=1.

Hosted, the sidebar offers only the datasets, checkpoint folders and run stores the operator
configured ($IGD_DATA, $IGD_MODELS, $IGD_RUNS_DB; several in one variable separated by
os.pathsep), by name; messages name those entries and never a server path; a bug shows
Streamlit's generic message instead of a traceback. Locally the sidebar takes free paths.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

HOSTED_ENV = "IGD_HOSTED"
META = "igd_checkpoint.json"
# A checkpoint search walks at most this deep and this many folders: a checkpoint folder of `/`
# once walked the whole filesystem on every rerun (6.8-9.3 s each).
MAX_DEPTH, MAX_DIRS = 5, 2000


def hosted() -> bool:
    return os.environ.get(HOSTED_ENV, "").strip().lower() not in ("", "0", "false", "no")


@dataclass(frozen=True)
class Entry:
    """One configured dataset / checkpoint folder / run store: the name a visitor sees, and the
    absolute path only the server uses."""

    label: str
    path: str


def entries(value: str) -> list[Entry]:
    """The os.pathsep-separated paths of `value`, absolute, each once, named by their last part
    ("ml-100k", "runs.db"), a number added where two share one."""
    out: list[Entry] = []
    for raw in value.split(os.pathsep):
        if not raw.strip():
            continue
        path = str(Path(raw.strip()).expanduser().resolve())
        if any(e.path == path for e in out):
            continue
        name = Path(path).name or "root"
        taken = sum(e.label == name or e.label.startswith(f"{name} (") for e in out)
        out.append(Entry(name if not taken else f"{name} ({taken + 1})", path))
    return out


# An absolute (or ~, ./, ../) path: kept as its last part. Not after a word character, so
# Hub names ("Qwen/Qwen2.5-1.5B") and ratios ("1/2") stay as they are.
_PATH = re.compile(r"(?<![\w/:.~-])(?:~|\.{1,2})?/(?:[^\s/'\"`,;:()<>\[\]{}]+/)*([^\s/'\"`,;:()<>\[\]{}]+)")


def public(text: str) -> str:
    """`text` as a hosted app may show it: every server path cut to its last part. Unchanged
    locally, where the paths are the user's own."""
    return _PATH.sub(r"\1", str(text)) if hosted() else str(text)


@dataclass(frozen=True)
class Search:
    """What a checkpoint search found: the checkpoint folders, and whether it stopped at MAX_DIRS."""

    folders: list[Path]
    truncated: bool = False


def walk_checkpoints(root: Path) -> Search:
    """Every folder holding igd_checkpoint.json under `root` (or `root` itself), at most
    MAX_DEPTH deep and MAX_DIRS folders visited; hidden folders and symlinks are not entered,
    nor is a checkpoint's own folder (its model/ and tokenizer/ hold no checkpoint). A symlink
    to a checkpoint folder is found, though (a folder of links picks checkpoints from a study):
    nothing is walked through it, so no link loop or link out of `root` is searched."""
    if (root / META).is_file():
        return Search([root])
    found, visited = [], 0
    for folder, subdirs, files in os.walk(root):
        visited += 1
        if visited > MAX_DIRS:
            return Search(sorted(found), truncated=True)
        here = Path(folder)
        if META in files:
            found.append(here)
            subdirs.clear()
            continue
        found += [here / d for d in subdirs
                  if not d.startswith(".") and (here / d).is_symlink() and (here / d / META).is_file()]
        depth = len(here.relative_to(root).parts)
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and depth < MAX_DEPTH
                            and not (here / d).is_symlink())
    return Search(sorted(found))
