"""Opening the run store's SQLite file, and what a bad one means for the user.

Listing never writes. A read-only open uses `mode=ro`; a store in WAL mode with no -wal file
beside it (no process has it open) is opened `immutable=1` instead, because a `mode=ro`
connection to a WAL database creates -wal and -shm files: a read-only folder refuses them and
a shipped store must not grow them. (An immutable reader takes no locks: a writer that starts
during the read could in principle make it fail as damaged; rerunning the listing reads it.)

SQLite's errors become StoreError, naming the file and the fix, for the classes of bad input
only (damaged, not a database, locked, read-only, cannot open, disk full or failing); any other
sqlite3 error (a constraint, a bad statement) is a bug and propagates unchanged.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from igd.data import DataError

UNTOUCHED = "pass another store path (this file is left untouched)"
_HEADER = b"SQLite format 3\x00"
T = TypeVar("T")


class StoreError(DataError):
    """The store file is missing, damaged, locked, read-only, or not a run store igd can use."""

    def __init__(self, path: Path | str, problem: str, fix: str):
        super().__init__(path, None, problem, fix)


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def check_path(path: Path, readonly: bool) -> None:
    """What can be said of the path before SQLite opens it (SQLite's own messages for these
    are 'unable to open database file' at best)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if readonly:
            raise StoreError(path, "does not exist", f"run `igd train`, `igd evaluate` or `igd experiment` with "
                             f"--db {path} to create it, or pass another path") from None
        folder = path.absolute().parent
        if not folder.is_dir():
            raise StoreError(path, f"its folder {folder} does not exist",
                             f"create it first (mkdir -p {folder}), or pass another path") from None
        return
    except OSError as err:  # a symlink loop, a path through a file, no permission
        raise StoreError(path, f"cannot be opened ({_reason(err)})", "pass the run store's real path") from None
    if stat.S_ISDIR(st.st_mode):
        raise StoreError(path, "is a folder, not a run store file", f"pass a file path, e.g. {path / 'runs.db'}")
    if readonly and st.st_size == 0:
        raise StoreError(path, "is empty (0 bytes), so it holds no runs",
                         "pass the store `igd train`/`igd evaluate`/`igd experiment` wrote (--db), or delete "
                         "the empty file")


def _wal_without_writer(path: Path) -> bool:
    """A WAL-mode database (header bytes 18-19 are 2) with no -wal file beside it: every
    writer has closed it, so the main file holds every committed run."""
    with open(path, "rb") as f:
        header = f.read(20)
    wal = path.with_name(path.name + "-wal")
    return header[:16] == _HEADER and header[18:20] == b"\x02\x02" and not (wal.exists() and wal.stat().st_size)


def connect(path: Path, readonly: bool, timeout: float) -> sqlite3.Connection:
    """A connection whose busy timeout makes it wait `timeout` s for another process's lock."""
    check_path(path, readonly)
    with translated(path, timeout):
        if not readonly:
            return sqlite3.connect(str(path), timeout=timeout)
        uri = f"{path.resolve().as_uri()}?mode=ro"
        try:
            if _wal_without_writer(path):
                uri += "&immutable=1"
        except OSError as err:
            raise StoreError(path, f"cannot be read ({_reason(err)})",
                             "make it readable, or pass another path") from None
        return sqlite3.connect(uri, timeout=timeout, uri=True)


# SQLite's result codes (Python 3.11+ names them; older ones leave only the message) -> what to tell.
_PROBLEMS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "SQLITE_CORRUPT": (("malformed",), "is damaged ({err})",
                       "restore it from a copy, or " + UNTOUCHED + "; igd never repairs a store"),
    "SQLITE_NOTADB": (("not a database",), "cannot be opened as a SQLite database ({err})", UNTOUCHED),
    "SQLITE_BUSY": (("locked", "busy"),
                    ("is locked by another process for more than {timeout:g} s (another igd command writing "
                     "it, or a sqlite3 shell holding a transaction)"),
                    "wait until that process finishes (or close it) and run again"),
    "SQLITE_READONLY": (("readonly",), "is read-only for igd ({err})",
                        ("make the file and its folder writable (chmod u+w), or pass another --db; listing "
                         "(`igd runs`) needs no write access")),
    "SQLITE_CANTOPEN": (("unable to open",), "cannot be opened ({err})",
                        "check the path and its folder's permissions, or pass another path"),
    "SQLITE_FULL": (("disk is full",), "cannot be written: the disk is full", "free disk space and run again"),
    "SQLITE_IOERR": (("disk i/o",), "cannot be read or written ({err})",
                     "check the disk and the file, or pass another path"),
}
_PROBLEMS["SQLITE_LOCKED"] = _PROBLEMS["SQLITE_BUSY"]
_PROBLEMS["SQLITE_PERM"] = _PROBLEMS["SQLITE_READONLY"]


def store_error(err: sqlite3.Error, path: Path, timeout: float) -> StoreError | None:
    """The StoreError for a bad-input SQLite error, or None for any other error."""
    name = getattr(err, "sqlite_errorname", None)
    text = str(err)
    for code, (words, problem, fix) in _PROBLEMS.items():
        if (name == code or (name or "").startswith(code + "_")) if name else any(w in text.lower() for w in words):
            return StoreError(path, problem.format(err=text, timeout=timeout), fix)
    return None


@contextmanager
def translated(path: Path, timeout: float) -> Iterator[None]:
    try:
        yield
    except sqlite3.DatabaseError as err:  # OperationalError included; IntegrityError is not bad input
        if (mapped := store_error(err, path, timeout)) is None:
            raise
        raise mapped from err


def sqlite_errors(method: Callable[..., T]) -> Callable[..., T]:
    """RunStore methods: SQLite's bad-input errors become a StoreError naming the store."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with translated(self.path, self.timeout):
            return method(self, *args, **kwargs)
    return wrapper
