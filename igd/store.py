"""The run store: every training, evaluation and baseline run in ONE SQLite file.

Several processes share the file (accelerate ranks, an evaluation, the app reading): WAL lets
readers go on during a write, and a 30 s busy timeout makes writers queue instead of failing
(after it, a StoreError says another process holds the store). complete() writes a run's
metrics, predictions and status in ONE transaction, so a process killed half-way leaves its
run 'running' with no result at all; reap() then marks it 'failed'.

Listing never writes: a store opened `readonly` (`igd runs`, the app) is neither migrated nor
switched to WAL nor reaped, and shows a run whose process died as 'running (dead pid)'. Only
the commands that write runs (train, evaluate, experiment, baseline) migrate, switch to WAL
(on open) and reap (when a run starts). Opening and SQLite's errors: igd.store_file; schema
and migration: igd.store_schema.
"""

from __future__ import annotations

import json
import math
import operator
import os
import socket
import sqlite3
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlite_utils import Database

from igd.config import ARMS, DECODINGS, HOLDOUT, TRAIN_METHODS
from igd.data import SPLITS
from igd.store_file import UNTOUCHED, StoreError, connect, sqlite_errors
from igd.store_schema import (SCHEMA, SCHEMA_VERSION, legacy_arm, legacy_row, migrate_to_v1, migrate_to_v2,
                              schema_problem, set_digest)
from igd.versions import package_versions

__all__ = ["DEAD", "DIED", "KINDS", "SCHEMA_VERSION", "RunRecord", "RunStore", "StoreError", "format_runs",
           "legacy_arm", "recorded_run", "summarize"]

KINDS = ("train", "eval", "baseline")
BUSY_TIMEOUT_S = 30.0  # how long a store waits for another process's lock (read at each open)
DIED = "process died (killed?)"
DEAD = "running (dead pid)"  # a read-only listing's status for a run whose process is gone
_GROUP = ("dataset", "model", "arm", "train_method", "beta", "decoding", "alpha", "split")
_FILTERS = ("dataset", "model", "kind", "arm", "train_method", "decoding", "status", "beta", "alpha",
            "seed", "split")

@dataclass(frozen=True)
class RunRecord:
    """What a run is, fixed before it starts (its result goes to RunStore.complete)."""

    kind: str
    dataset: str
    dataset_fingerprint: str
    model: str
    seed: int
    split: str
    train_method: str | None = None
    beta: float | None = None
    decoding: str | None = None
    alpha: float | None = None
    arm: str | None = None
    checkpoint: str | None = None
    parent_run: int | None = None
    config: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Closed sets: a typo ('IGD', 'BIGRec') would silently split summarize()'s groups.
        for name, allowed in (("kind", KINDS), ("split", (*SPLITS, HOLDOUT)), ("arm", (None, *ARMS)),
                              ("train_method", (None, *TRAIN_METHODS)), ("decoding", (None, *DECODINGS))):
            if (v := getattr(self, name)) not in allowed:
                raise ValueError(f"{name}={v!r}: choose one of {', '.join(map(str, allowed))}")
        for name in ("beta", "alpha"):  # `0 <= v < inf` is False for NaN too
            if (v := getattr(self, name)) is not None and (
                    isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < math.inf):
                raise ValueError(f"{name}={v!r}: must be a finite number >= 0, or None")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):  # True is no seed
            raise ValueError(f"seed={self.seed!r}: must be an int")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        pass
    try:  # a killed child its parent has not reaped yet is a zombie: dead, not running
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def process_gone(row: dict) -> bool:
    """A 'running' run of THIS host whose process no longer exists (killed, crashed)."""
    return (row["status"] == "running" and row["host"] == socket.gethostname() and row["pid"] is not None
            and not _pid_alive(row["pid"]))


class RunStore:
    """The run store in one SQLite file; ``db`` is its sqlite-utils Database, for readers."""

    def __init__(self, path: str | Path = "runs.db", readonly: bool = False, timeout: float | None = None):
        """`readonly` (`igd runs`, the app's Runs page): the file must exist, and nothing is
        written to it, not even WAL mode, the schema or reaping. `timeout`: seconds to wait
        for another process's lock (default BUSY_TIMEOUT_S), then a StoreError saying so."""
        self.path, self.readonly = Path(path), readonly
        self.timeout = BUSY_TIMEOUT_S if timeout is None else timeout
        self.db = Database(connect(self.path, readonly, self.timeout))  # our own: the busy timeout
        try:
            self._open()
        except BaseException:
            self.close()
            raise

    @sqlite_errors
    def _open(self) -> None:
        # The first read of the file: a non-SQLite or damaged file fails here, before WAL or
        # tables write anything to it.
        tables = set(self.db.table_names())
        if "runs" not in tables and (tables or self.readonly):
            raise StoreError(self.path, "is a SQLite database without a 'runs' table, so not an igd run store",
                             UNTOUCHED)
        if problem := schema_problem(self.db, tables):
            raise StoreError(self.path, *problem)
        # A store written before the arm column (schema 0) is migrated when opened writable and
        # read through `legacy_row` when opened read-only (the file is never written then).
        self.legacy = "runs" in tables and "arm" not in self.db["runs"].columns_dict
        if self.readonly:
            return
        self.db.execute("PRAGMA foreign_keys = ON")  # per connection: metrics need their run
        self.db.enable_wal()
        with self._write():
            if self.legacy:
                migrate_to_v1(self.db)
            if "predictions" in tables and "top_set" not in self.db["predictions"].columns_dict:
                migrate_to_v2(self.db)
            self.db.executescript(";\n".join(SCHEMA))  # in a transaction: split, not committed
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self.legacy = False

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _write(self) -> Iterator[None]:
        # BEGIN IMMEDIATE takes the write lock first, so the busy timeout covers waiting for
        # other writers; a deferred BEGIN that reads, then writes, fails at once under WAL if
        # another process committed in between. sqlite-utils calls inside nest as savepoints.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.commit()
        except BaseException:  # a failed COMMIT too: never leave the transaction open
            self.db.rollback()
            raise

    def _status(self, run_id: int, what: str = "run") -> str:
        row = self.db.execute("SELECT status FROM runs WHERE id = ?", [run_id]).fetchone()
        if row is None:
            raise ValueError(f"{what} {run_id} is not in {self.path}")
        return row[0]

    @sqlite_errors
    def start(self, record: RunRecord) -> int:
        # Recorded here so no caller forgets them; from package metadata (no imports); caller's win.
        versions = {**package_versions(), "sqlite": sqlite3.sqlite_version, **record.versions}
        row = asdict(record)
        row.update(status="running", started_at=_now(), pid=os.getpid(), host=socket.gethostname(),
                   versions=json.dumps(versions, sort_keys=True),
                   config=json.dumps(record.config, sort_keys=True, default=str),  # Path -> str
                   checkpoint=None if record.checkpoint is None else str(record.checkpoint))
        with self._write():
            # Writers reap (a listing never writes): every command that stores runs, igd
            # experiment included, marks the runs of dead processes failed before its own.
            self._reap()
            if record.parent_run is not None:
                self._status(record.parent_run, "parent_run")
            return self.db.table("runs").insert(row).last_pk

    @sqlite_errors
    def complete(self, run_id: int, metrics: dict[str, float],
                 predictions: list[dict] | None = None) -> None:
        """Store the result and mark the run complete, all or nothing: on any error the run
        stays 'running' with no metrics, for the caller to fail(). A prediction has user_index
        (row in the split), user_id, target_title, items (titles), scores (one per item) and
        rank (1-based position of the target in items; None when missed)."""
        with self._write():
            if (status := self._status(run_id)) != "running":
                raise ValueError(f"run {run_id} is {status!r}; only a running run completes")
            if bad := {k: v for k, v in metrics.items() if not math.isfinite(v)}:
                raise ValueError(f"metrics {bad}: must be finite numbers")
            self.db.table("metrics").insert_all(
                {"run_id": run_id, "name": k, "value": float(v)} for k, v in metrics.items())
            # A generator: each row is checked and written inside this transaction.
            self.db.table("predictions").insert_all(
                _prediction_row(run_id, i, p) for i, p in enumerate(predictions or ()))
            self.db.table("runs").update(run_id, {"status": "complete", "finished_at": _now()})

    @sqlite_errors
    def fail(self, run_id: int, error: str) -> None:
        with self._write():
            if self._status(run_id) == "complete":
                raise ValueError(f"run {run_id} is complete; a complete run is never failed")
            self.db.table("runs").update(
                run_id, {"status": "failed", "error": str(error), "finished_at": _now()})

    @sqlite_errors
    def log_train(self, run_id: int, step: int, epoch: float, values: dict[str, float]) -> None:
        rows = [{"run_id": run_id, "step": int(step), "epoch": float(epoch), "name": name,
                 "value": None if math.isnan(v := float(x)) else v} for name, x in values.items()]
        with self._write():
            self.db.table("train_log").upsert_all(rows, pk=("run_id", "step", "name"))

    @sqlite_errors
    def copy_train_log(self, source: int, run_id: int, upto_step: int) -> None:
        """A resumed training's run starts with the stopped run's log up to the step it resumes
        from (parameterised SQL; later lines of the stopped run are redone by the new one)."""
        with self._write():
            self.db.execute("INSERT OR REPLACE INTO train_log (run_id, step, epoch, name, value) "
                            "SELECT ?, step, epoch, name, value FROM train_log WHERE run_id = ? AND step <= ?",
                            [run_id, source, upto_step])

    @sqlite_errors
    def reap(self) -> int:
        """Fail the running runs of THIS host whose process is gone; returns how many."""
        with self._write():
            return self._reap()

    def _reap(self) -> int:  # inside the caller's transaction
        running = self.db.table("runs").rows_where("status = 'running'", select="id, status, pid, host")
        dead = [r["id"] for r in running if process_gone(r)]
        for run_id in dead:
            self.db.table("runs").update(run_id, {"status": "failed", "error": DIED, "finished_at": _now()})
        return len(dead)

    @sqlite_errors
    def runs(self, dataset: str | None = None, model: str | None = None, kind: str | None = None,
             train_method: str | None = None, decoding: str | None = None, status: str | None = None,
             beta: float | None = None, alpha: float | None = None, seed: int | None = None,
             split: str | None = None, arm: str | None = None) -> list[dict]:
        """Runs matching every filter given (None = any), oldest first, each with 'metrics'."""
        values = (dataset, model, kind, arm, train_method, decoding, status, beta, alpha, seed, split)
        given = {k: v for k, v in zip(_FILTERS, values) if v is not None}
        where = " AND ".join(f"{k} = ?" for k in given) or None  # our own column names only
        if self.legacy and "arm" in given:  # no column to filter on: filter the derived values
            arm = given.pop("arm")
            where = " AND ".join(f"{k} = ?" for k in given) or None
            rows = [r for r in self._rows(where, list(given.values())) if r["arm"] == arm]
        else:
            rows = self._rows(where, list(given.values()))
        return rows

    def _rows(self, where: str | None, values: list) -> list[dict]:
        rows = list(self.db.table("runs").rows_where(where, values, order_by="id"))
        for r in rows:
            r.update(config=json.loads(r["config"]), versions=json.loads(r["versions"]),
                     metrics={m["name"]: self._metric(r["id"], m) for m in self.db.table("metrics").rows_where(
                         "run_id = ?", [r["id"]], order_by="name")})
            if self.legacy:
                legacy_row(r)
            if self.readonly and process_gone(r):  # a writer reaps it as failed; a listing only says so
                r["status"] = DEAD
        return rows

    def _metric(self, run_id: int, row: dict) -> float | None:
        """A stored metric: a number (None for a NaN loss); anything else (text written into the
        file by another tool) is refused, naming the run and the metric."""
        value = row["value"]
        if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return value
        raise StoreError(self.path, f"run {run_id}'s metric {row['name']!r} holds {value!r}, not a number",
                         "restore the store from a copy, or rerun that run into a new store")

    @sqlite_errors
    def predictions(self, run_id: int) -> list[dict]:
        rows = list(self.db.table("predictions").rows_where("run_id = ?", [run_id], order_by="user_index"))
        for r in rows:
            r.update(items=json.loads(r["items"]), scores=json.loads(r["scores"]))
        return rows

    @sqlite_errors
    def slim_predictions(self) -> int:
        """Drop the stored top-k lists (items, scores), keep each user's target and rank: what
        `igd report`'s paired tests read. A study's store then ships small (its lists are ~85% of
        it). Returns how many rows lost their lists; the file is compacted (VACUUM)."""
        with self._write():
            n = self.db.execute("UPDATE predictions SET items = '[]', scores = '[]' WHERE items != '[]'").rowcount
        self.db.execute("VACUUM")
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # under WAL the compacted pages are in the log until now
        return n

    @sqlite_errors
    def train_log(self, run_id: int) -> list[dict]:
        return list(self.db.table("train_log").rows_where("run_id = ?", [run_id], order_by="step, name"))


def _prediction_row(run_id: int, i: int, p: dict) -> dict:
    if missing := [k for k in ("user_index", "user_id", "target_title", "rank", "items", "scores")
                   if k not in p]:
        raise ValueError(f"prediction {i} lacks {', '.join(missing)}")
    items, scores = list(p["items"]), [float(s) for s in p["scores"]]
    rank = None if p["rank"] is None else operator.index(p["rank"])  # numpy ints too, no floats
    if len(items) != len(scores):
        raise ValueError(f"prediction {i}: {len(items)} items but {len(scores)} scores")
    # items[rank - 1] must be the target itself: this catches a 0-based rank.
    if rank is not None and not (1 <= rank <= len(items) and items[rank - 1] == p["target_title"]):
        raise ValueError(f"prediction {i}: rank={rank} does not point at the target "
                         f"{p['target_title']!r} in items (1-based; None when missed)")
    return {"run_id": run_id, "user_index": operator.index(p["user_index"]),
            "user_id": str(p["user_id"]), "target_title": p["target_title"], "rank": rank,
            "items": json.dumps(items), "scores": json.dumps(scores), "top_set": set_digest(items)}


@contextmanager
def recorded_run(store: "RunStore | None", record: Callable[[], RunRecord]) -> Iterator[int | None]:
    """Start a run (when there is a store), yield its id, and mark it failed if the body raises.
    The body completes the run itself: completion writes the metrics in one transaction."""
    run_id = store.start(record()) if store is not None else None
    try:
        yield run_id
    except BaseException as err:
        if run_id is not None:
            store.fail(run_id, f"{type(err).__name__}: {err}")
        raise


def format_runs(rows: list[dict], metrics: Sequence[str] = ("hr@10", "ndcg@10")) -> str:
    """A fixed-width table; 'method' is train_method/decoding, '-' for what is unset."""
    header = ["id", "kind", "status", "dataset", "model", "arm", "method", "beta", "alpha", "seed", "split",
              *metrics]
    table = [header] + [[
        str(r["id"]), r["kind"], r["status"], r["dataset"], r["model"], r.get("arm") or "-",
        f"{r['train_method'] or '-'}/{r['decoding'] or '-'}",
        *("-" if r[k] is None else f"{r[k]:g}" for k in ("beta", "alpha")), str(r["seed"]), r["split"],
        *("-" if (v := r.get("metrics", {}).get(m)) is None else f"{v:.4f}" for m in metrics)] for r in rows]
    widths = [max(len(line[c]) for line in table) for c in range(len(header))]
    numeric = {0, 7, 8, 9, *range(11, len(header))}  # right-aligned, so decimals line up
    return "\n".join("  ".join(cell.rjust(w) if c in numeric else cell.ljust(w)
                               for c, (cell, w) in enumerate(zip(line, widths))).rstrip()
                     for line in table)


def decisiveness_of(row: dict) -> str | None:
    """The decisiveness measure of a train or eval run (recorded in its config; runs recorded
    before measures existed used IG); None for a baseline."""
    return None if row.get("kind") == "baseline" else (row.get("config") or {}).get("decisiveness", "ig")


def summarize(rows: list[dict], metric: str) -> list[dict]:
    """Mean and sample std (n - 1; None for one seed) of ``metric`` over seeds, per setting
    (dataset, model, arm, train_method, beta, decoding, alpha, split, decisiveness). Only complete
    runs with the metric count; a seed run twice counts once, by its latest run, so a re-run replaces."""
    by_seed: dict[tuple, dict[int, dict]] = {}
    for r in sorted(rows, key=lambda r: r["id"]):
        if r["status"] == "complete" and metric in r.get("metrics", {}):
            by_seed.setdefault((*(r.get(k) for k in _GROUP), decisiveness_of(r)), {})[r["seed"]] = r
    out = []
    for key in sorted(by_seed, key=lambda k: [(v is None, v) for v in k]):
        seeds = sorted(by_seed[key])
        values = [by_seed[key][s]["metrics"][metric] for s in seeds]
        out.append({**dict(zip((*_GROUP, "decisiveness"), key)), "metric": metric, "n": len(values), "seeds": seeds,
                    "run_ids": [by_seed[key][s]["id"] for s in seeds], "mean": statistics.fmean(values),
                    "std": statistics.stdev(values) if len(values) > 1 else None})
    return out
