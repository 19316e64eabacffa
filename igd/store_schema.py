"""The run store's schema, its check, and the migration of stores written by older igd.

Schema 0 (before arms) is read as schema 1 on the fly by a read-only store (`legacy_row`), and
migrated in place (`migrate_to_v1`) by a store opened for writing: a listing never writes.
Schema 2 adds `predictions.top_set`, a digest of each top-K list's set of titles that `igd slim`
keeps, so a slimmed store still tells whether two arms returned the same set to a user; a
read-only store without it reads None.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence

from sqlite_utils import Database

from igd.config import ARMS, arm_of

SCHEMA_VERSION = 2  # PRAGMA user_version; 0 = before the arm column, 1 = before top_set (both migrated)

# AUTOINCREMENT: run ids are quoted in reports and parent_run, so they are never reused.
# The CHECKs and foreign keys (no CASCADE: results are never deleted by accident) also guard
# rows written by other tools (the sqlite-utils CLI, the app). Method names are NOT checked
# in SQL: RunRecord checks them against the registry (igd.config), so a new method needs no
# schema change. `arm` is the experiment arm (igd.config.ARMS), None when no arm matches.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('train', 'eval', 'baseline')),
    dataset TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, model TEXT NOT NULL,
    checkpoint TEXT, train_method TEXT, beta REAL, decoding TEXT, alpha REAL,
    seed INTEGER NOT NULL, split TEXT NOT NULL, arm TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    error TEXT, started_at TEXT NOT NULL, finished_at TEXT, pid INTEGER, host TEXT,
    versions TEXT NOT NULL DEFAULT '{}', config TEXT NOT NULL DEFAULT '{}',
    parent_run INTEGER REFERENCES runs(id))""",
    """CREATE TABLE IF NOT EXISTS metrics (run_id INTEGER NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL, value REAL NOT NULL, PRIMARY KEY (run_id, name))""",
    """CREATE TABLE IF NOT EXISTS predictions (run_id INTEGER NOT NULL REFERENCES runs(id),
    user_index INTEGER NOT NULL, user_id TEXT NOT NULL, target_title TEXT NOT NULL,
    rank INTEGER, items TEXT NOT NULL, scores TEXT NOT NULL, top_set TEXT, PRIMARY KEY (run_id, user_index))""",
    # value NULL = a NaN loss: SQLite has no NaN, and a diverging run must still be logged.
    """CREATE TABLE IF NOT EXISTS train_log (run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER NOT NULL, epoch REAL, name TEXT NOT NULL, value REAL,
    PRIMARY KEY (run_id, step, name))""",
    "CREATE INDEX IF NOT EXISTS idx_runs_dataset_model ON runs (dataset, model)",
    "CREATE INDEX IF NOT EXISTS idx_runs_status ON runs (status)",
)


# Columns an older store lacks and gets when opened for writing (read-only: derived or None).
MIGRATED = {("runs", "arm"), ("predictions", "top_set")}


def set_digest(items: Sequence[str]) -> str:
    """16 hex digits naming the SET of titles in a top-K list (order ignored): equal digests,
    the same recommendations in another order (BIGRec vs D3 often differ only so)."""
    return hashlib.sha256(json.dumps(sorted(items), ensure_ascii=False).encode()).hexdigest()[:16]


def migrate_to_v2(db: Database) -> None:
    """Schema 1 -> 2, inside the caller's transaction: predictions.top_set, filled from the
    lists still stored (a slimmed store's rows keep None: their lists are gone)."""
    db.execute("ALTER TABLE predictions ADD COLUMN top_set TEXT")
    rows = db.execute("SELECT run_id, user_index, items FROM predictions WHERE items != '[]'").fetchall()
    db.conn.executemany("UPDATE predictions SET top_set = ? WHERE run_id = ? AND user_index = ?",
                   [(set_digest(json.loads(items)), run, user) for run, user, items in rows])


def schema_problem(db: Database, tables: set[str]) -> tuple[str, str] | None:
    """(problem, fix) when the database's igd tables lack columns of SCHEMA (schema 0's
    missing arm column excepted: it is migrated or derived), else None."""
    with Database(memory=True) as expected:  # SCHEMA's own columns: no list to drift
        expected.executescript(";\n".join(SCHEMA))
        for table in sorted(tables & set(expected.table_names()) - {"sqlite_sequence"}):
            if missing := [c for c in expected[table].columns_dict if c not in db[table].columns_dict
                           and (table, c) not in MIGRATED]:
                fix = "add them with `sqlite-utils add-column`, or pass another store path (this file is left " \
                      "untouched)"
                return f"table {table!r} lacks columns {', '.join(missing)}", fix
    return None


def legacy_arm(row: dict) -> str | None:
    """The arm of a run stored before arms existed (schema 0)."""
    if row["kind"] == "baseline":
        return row["model"] if row["model"] in ARMS else None
    if row["kind"] != "eval":
        return None
    return arm_of(row["train_method"], row["decoding"], "binary")  # schema 0 had no linear arm


def legacy_metrics(metrics: dict) -> dict:
    """Schema 0 stored ISE in nats as 'ise' and the first-WORD ratio as 'fwr'."""
    out = dict(metrics)
    if "ise" in out:
        out["ise_nats"] = out.pop("ise")
        out["ise"] = out["ise_nats"] / math.log(2)
    if "fwr" in out:
        out["fwr_word"] = out.pop("fwr")
    return out


def legacy_row(row: dict) -> None:
    row["arm"] = legacy_arm(row)
    if row.get("decoding") == "most_popular":
        row["decoding"] = None
    row["metrics"] = legacy_metrics(row["metrics"])


def migrate_to_v1(db: Database) -> None:
    """Schema 0 -> 1, inside the caller's transaction: the arm column, filled from each run's
    method and decoding; ISE renamed to ise_nats plus ise in bits; fwr (first word) renamed
    fwr_word; the most-popular baseline's decoding 'most_popular' moved to its arm."""
    db.execute("ALTER TABLE runs ADD COLUMN arm TEXT")
    for row in list(db["runs"].rows):
        db.execute("UPDATE runs SET arm = ? WHERE id = ?", [legacy_arm(row), row["id"]])
    db.execute("UPDATE runs SET decoding = NULL WHERE decoding = 'most_popular'")
    db.execute("UPDATE metrics SET name = 'fwr_word' WHERE name = 'fwr'")
    db.execute("UPDATE metrics SET name = 'ise_nats' WHERE name = 'ise'")
    db.execute("INSERT INTO metrics (run_id, name, value) SELECT run_id, 'ise', value / ? "
               "FROM metrics WHERE name = 'ise_nats'", [math.log(2)])
