"""igd.store: the run store on a fresh SQLite file per test, including a real kill -9 in the
middle of complete()'s transaction."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from igd.store import DEAD, DIED, RunRecord, RunStore, StoreError, format_runs, summarize
from igd.store_schema import SCHEMA_VERSION, set_digest

REPO = Path(__file__).resolve().parents[1]


def record(**changes) -> RunRecord:
    fields = dict(kind="eval", dataset="ml-100k", dataset_fingerprint="fp0", model="qwen2.5-0.5b",
                  seed=0, split="test", train_method="igd", beta=0.2, decoding="igd", alpha=0.1)
    return RunRecord(**{**fields, **changes})


def prediction(i: int, rank: int | None = 1) -> dict:
    items = ["Heat (1995)", "Alien (1979)"]
    return {"user_index": i, "user_id": f"u{i}", "target_title": "Heat (1995)" if rank else "Up (2009)",
            "rank": rank, "items": items, "scores": [-0.5, -1.5]}


@pytest.fixture
def store(tmp_path):
    opened = RunStore(tmp_path / "runs.db")
    yield opened
    opened.close()


def test_creates_tables_in_wal_mode_with_busy_timeout(store):
    assert {"runs", "metrics", "predictions", "train_log"} <= set(store.db.table_names())
    assert store.db.journal_mode == "wal"
    assert store.db.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
    assert store.db["metrics"].pks == ["run_id", "name"]


def test_start_records_a_running_run(store):
    store.start(record(config={"lr": 1e-4, "out": Path("ckpt")}))
    (run,) = store.runs()
    assert (run["status"], run["pid"], run["metrics"], run["error"]) == ("running", os.getpid(), {}, None)
    assert datetime.fromisoformat(run["started_at"]).utcoffset() == timezone.utc.utcoffset(None)
    assert run["config"] == {"lr": 1e-4, "out": "ckpt"} and {"python", "sqlite-utils"} <= set(run["versions"])


def test_complete_stores_metrics_predictions_and_status(store):
    run_id = store.start(record())
    store.complete(run_id, {"hr@10": 0.5, "ndcg@10": 0.25}, [prediction(0), prediction(1, rank=None)])
    assert store.runs()[0]["metrics"] == {"hr@10": 0.5, "ndcg@10": 0.25}
    assert [(p["user_index"], p["rank"], p["scores"]) for p in store.predictions(run_id)] == [
        (0, 1, [-0.5, -1.5]), (1, None, [-0.5, -1.5])]
    assert store.runs()[0]["status"] == "complete" and store.runs()[0]["finished_at"]


def test_slim_keeps_ranks_and_targets_and_drops_the_lists(store, tmp_path, capsys):
    from igd.cli import main

    run_id = store.start(record())
    store.complete(run_id, {"hr@10": 0.5}, [prediction(0), prediction(1, rank=None)])
    before = store.predictions(run_id)
    assert main(["slim", "--db", str(store.path)]) == 0
    assert "top-k lists dropped from 2 predictions" in capsys.readouterr().out
    after = store.predictions(run_id)
    assert [(p["user_index"], p["target_title"], p["rank"]) for p in after] == [
        (p["user_index"], p["target_title"], p["rank"]) for p in before]
    assert all(p["items"] == [] and p["scores"] == [] for p in after)
    # the set each list held survives: order-free, so "Alien, Heat" names the same set
    assert [p["top_set"] for p in after] == [set_digest(["Alien (1979)", "Heat (1995)"])] * 2
    assert main(["slim", "--db", str(tmp_path / "nope.db")]) == 2


def test_a_schema_1_store_gets_top_set_from_the_lists_it_still_has(tmp_path):
    path = tmp_path / "v1.db"
    old = RunStore(path)
    kept, slimmed = old.start(record()), old.start(record(seed=1))
    old.complete(kept, {"hr@10": 1.0}, [prediction(0)])
    old.complete(slimmed, {"hr@10": 1.0}, [prediction(0)])
    old.db.execute("UPDATE predictions SET items = '[]', scores = '[]' WHERE run_id = ?", [slimmed])
    old.db.execute("ALTER TABLE predictions DROP COLUMN top_set")  # as schema 1 wrote it
    old.db.execute("PRAGMA user_version = 1")
    old.db.conn.commit()
    old.close()
    reader = RunStore(path, readonly=True)  # read-only: no column, nothing written
    assert "top_set" not in reader.predictions(kept)[0]
    reader.close()
    writer = RunStore(path)
    assert writer.predictions(kept)[0]["top_set"] == set_digest(["Heat (1995)", "Alien (1979)"])
    assert writer.predictions(slimmed)[0]["top_set"] is None  # its list is gone: unknown, not "different"
    assert writer.db.execute("PRAGMA user_version").fetchone()[0] == 2
    writer.close()


def test_complete_without_predictions(store):
    store.complete(run_id := store.start(record(kind="train", decoding=None, alpha=None)), {})
    assert store.runs()[0]["status"] == "complete" and store.predictions(run_id) == []


@pytest.mark.parametrize("bad", [
    {k: v for k, v in prediction(2).items() if k != "target_title"},  # missing key
    prediction(2, rank=0),  # a 0-based rank
    {**prediction(2), "scores": [1.0]},  # one score for two items
])
def test_a_bad_prediction_rolls_back_the_whole_result(store, bad):
    run_id = store.start(record())
    with pytest.raises(ValueError, match="prediction 2"):
        store.complete(run_id, {"hr@10": 0.5}, [prediction(0), prediction(1), bad])
    assert store.db["metrics"].count == 0 and store.db["predictions"].count == 0
    assert store.runs()[0]["status"] == "running"


def test_a_non_finite_metric_rolls_back(store):
    with pytest.raises(ValueError, match="finite"):
        store.complete(store.start(record()), {"hr@10": 0.5, "ndcg@10": math.nan})
    assert store.runs()[0]["status"] == "running" and store.runs()[0]["metrics"] == {}


def test_a_run_completes_once(store):
    store.complete(run_id := store.start(record()), {"hr@10": 0.5})
    with pytest.raises(ValueError, match="'complete'"):
        store.complete(run_id, {"hr@10": 0.9})
    assert store.runs()[0]["metrics"] == {"hr@10": 0.5}


def test_fail(store):
    store.fail(run_id := store.start(record()), "CUDA out of memory")
    run = store.runs(status="failed")[0]
    assert (run["id"], run["error"], run["metrics"]) == (run_id, "CUDA out of memory", {}) and run["finished_at"]


def test_a_complete_run_is_never_failed(store):
    store.complete(run_id := store.start(record()), {"hr@10": 0.5})
    with pytest.raises(ValueError, match="complete"):
        store.fail(run_id, "late error")
    assert store.runs()[0]["status"] == "complete"


def test_unknown_runs_are_errors(store):
    with pytest.raises(ValueError, match="run 7 is not in"):
        store.complete(7, {"hr@10": 0.5})
    with pytest.raises(ValueError, match="parent_run 7 is not in"):
        store.start(record(parent_run=7))


def test_parent_run(store):
    train = store.start(record(kind="train", decoding=None, alpha=None, split="train"))
    assert store.runs(kind="eval") == [] and store.start(record(parent_run=train)) == 2
    assert store.runs(kind="eval")[0]["parent_run"] == train


def test_log_train_upserts_and_keeps_nan_as_null(store):
    run_id = store.start(record(kind="train"))
    store.log_train(run_id, 10, 0.5, {"loss": 2.0, "loss_zero_ig": 0.5})
    store.log_train(run_id, 10, 0.5, {"loss": 1.5, "learning_rate": math.nan})
    assert [(r["step"], r["name"], r["value"]) for r in store.train_log(run_id)] == [
        (10, "learning_rate", None), (10, "loss", 1.5), (10, "loss_zero_ig", 0.5)]


def test_reap_fails_runs_whose_process_died_on_this_host_only(store):
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()  # exited and reaped: its pid is no longer a process
    dead, alive, elsewhere = (store.start(record(seed=s)) for s in range(3))
    store.db["runs"].update(dead, {"pid": exited.pid})
    store.db["runs"].update(elsewhere, {"pid": exited.pid, "host": "another-host"})
    assert store.reap() == 1 and store.reap() == 0
    assert [(r["status"], r["error"]) for r in store.runs()] == [
        ("failed", DIED), ("running", None), ("running", None)]


def test_filters(store):
    for seed, kind, method, beta in [(0, "eval", "igd", 0.2), (1, "eval", "igd", 0.2),
                                     (0, "eval", "sft", None), (0, "train", "igd", 0.1)]:
        store.start(record(seed=seed, kind=kind, train_method=method, beta=beta))
    store.complete(2, {"hr@10": 0.5})
    assert [r["id"] for r in store.runs(beta=0.2)] == [1, 2]
    assert [r["id"] for r in store.runs(train_method="igd", kind="eval", seed=0)] == [1]
    assert [r["id"] for r in store.runs(status="complete")] == [2] and store.runs(dataset="other") == []
    same = store.runs(model="qwen2.5-0.5b", decoding="igd", alpha=0.1, split="test")
    assert [r["id"] for r in same] == [1, 2, 3, 4]


def row(run_id: int, seed: int, hr: float | None, status: str = "complete", **changes) -> dict:
    return {"id": run_id, "seed": seed, "status": status, "dataset": "ml-100k", "model": "m",
            "train_method": "igd", "beta": 0.2, "decoding": "igd", "alpha": 0.1, "split": "test",
            "kind": "eval", "metrics": {} if hr is None else {"hr@10": hr}, **changes}


def test_summarize_mean_and_sample_std_over_seeds():
    rows = [row(1, 0, 0.1), row(2, 1, 0.2), row(3, 2, 0.4), row(4, 3, 0.9, status="failed"),
            row(5, 0, 0.3, train_method="sft", beta=None), row(6, 4, None)]
    igd, sft = summarize(rows, "hr@10")
    # mean (0.1 + 0.2 + 0.4) / 3; std sqrt((0.1333² + 0.0333² + 0.1667²) / 2)
    assert (igd["train_method"], igd["n"], igd["seeds"], igd["run_ids"]) == ("igd", 3, [0, 1, 2], [1, 2, 3])
    assert igd["mean"] == pytest.approx(0.233333, abs=1e-6) and igd["std"] == pytest.approx(0.152753, abs=1e-6)
    assert (sft["train_method"], sft["beta"], sft["n"], sft["mean"], sft["std"]) == ("sft", None, 1, 0.3, None)


def test_summarize_counts_a_rerun_seed_once_by_its_latest_run():
    (group,) = summarize([row(1, 0, 0.1), row(2, 1, 0.3), row(3, 0, 0.2)], "hr@10")
    assert (group["seeds"], group["run_ids"], group["mean"]) == ([0, 1], [3, 2], pytest.approx(0.25))


def test_format_runs_shows_the_values(store):
    store.complete(store.start(record(arm="igd")), {"hr@10": 0.5, "ndcg@10": 0.25})
    store.start(record(kind="baseline", model="most_popular", arm="most_popular", train_method=None,
                       beta=None, decoding=None, alpha=None))
    header, igd, popular = format_runs(store.runs()).splitlines()
    assert header.split() == ["id", "kind", "status", "dataset", "model", "arm", "method", "beta", "alpha",
                              "seed", "split", "hr@10", "ndcg@10"]
    assert igd.split() == ["1", "eval", "complete", "ml-100k", "qwen2.5-0.5b", "igd", "igd/igd", "0.2", "0.1",
                           "0", "test", "0.5000", "0.2500"]
    assert popular.split()[5:9] == ["most_popular", "-/-", "-", "-"] and popular.split()[-2:] == ["-", "-"]


def test_any_registered_method_is_accepted_and_unknown_ones_refused(store):
    from igd.config import ARMS, DECODINGS

    for name in DECODINGS:  # no schema edit per decoding: the registry decides
        store.start(record(decoding=name, arm=None))
    for name, arm in ARMS.items():
        store.start(record(arm=name, train_method=arm.train, decoding=arm.decoding))
    assert {r["arm"] for r in store.runs()} == {None, *ARMS}
    with pytest.raises(ValueError, match="arm='IGD'"):
        record(arm="IGD")


# The schema before arms (schema 0): no arm column; ISE in nats as 'ise', first-word FWR as 'fwr'.
_SCHEMA_0_RUNS = """CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('train', 'eval', 'baseline')),
    dataset TEXT NOT NULL, dataset_fingerprint TEXT NOT NULL, model TEXT NOT NULL,
    checkpoint TEXT, train_method TEXT, beta REAL, decoding TEXT, alpha REAL,
    seed INTEGER NOT NULL, split TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'failed')),
    error TEXT, started_at TEXT NOT NULL, finished_at TEXT, pid INTEGER, host TEXT,
    versions TEXT NOT NULL DEFAULT '{}', config TEXT NOT NULL DEFAULT '{}',
    parent_run INTEGER REFERENCES runs(id))"""


def _schema_0_store(path: Path) -> Path:
    """A store as igd wrote it before arms existed (the shipped models/runs.db was one)."""
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA_0_RUNS + """;
        CREATE TABLE metrics (run_id INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL,
            value REAL NOT NULL, PRIMARY KEY (run_id, name));
        CREATE TABLE predictions (run_id INTEGER NOT NULL REFERENCES runs(id), user_index INTEGER NOT NULL,
            user_id TEXT NOT NULL, target_title TEXT NOT NULL, rank INTEGER, items TEXT NOT NULL,
            scores TEXT NOT NULL, PRIMARY KEY (run_id, user_index));
        CREATE TABLE train_log (run_id INTEGER NOT NULL REFERENCES runs(id), step INTEGER NOT NULL,
            epoch REAL, name TEXT NOT NULL, value REAL, PRIMARY KEY (run_id, step, name));""")
    rows = [("baseline", "most_popular", None, "most_popular"), ("eval", "tiny", "sft", "bigrec"),
            ("eval", "tiny", "igd", "igd"), ("train", "tiny", "igd", None)]
    for i, (kind, model, method, decoding) in enumerate(rows, start=1):
        con.execute("INSERT INTO runs (kind, dataset, dataset_fingerprint, model, train_method, decoding, seed, "
                    "split, status, started_at) VALUES (?, 'ml-100k', 'fp', ?, ?, ?, 0, 'test', 'complete', 't')",
                    (kind, model, method, decoding))
        con.executemany("INSERT INTO metrics VALUES (?, ?, ?)", [(i, "ise", math.log(4)), (i, "fwr", 0.3)])
    con.commit()
    con.close()
    return path


def _arms_and_metrics(store: RunStore) -> list[tuple]:
    return [(r["arm"], r["decoding"], r["metrics"]) for r in store.runs()]


def test_a_schema_0_store_reads_the_same_read_only_and_after_migration(tmp_path):
    path = _schema_0_store(tmp_path / "old.db")
    before = path.read_bytes()
    metrics = {"ise": pytest.approx(2.0), "ise_nats": pytest.approx(math.log(4)), "fwr_word": 0.3}
    expected = [("most_popular", None, metrics), ("bigrec", "bigrec", metrics), ("igd", "igd", metrics),
                (None, None, metrics)]  # ln 4 nats = 2 bits
    reader = RunStore(path, readonly=True)
    assert _arms_and_metrics(reader) == expected
    assert [r["id"] for r in reader.runs(arm="bigrec")] == [2]
    reader.close()
    assert path.read_bytes() == before  # read-only: not a byte written
    writer = RunStore(path)  # writable: migrated in place, then a new run is accepted
    assert _arms_and_metrics(writer) == expected
    writer.start(record(arm="igd_t", decoding="d3"))
    writer.close()
    again = RunStore(path, readonly=True)
    assert [r["arm"] for r in again.runs()] == ["most_popular", "bigrec", "igd", None, "igd_t"]
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    again.close()


def test_the_shipped_store_opens_with_arms():
    reader = RunStore(REPO / "models" / "runs.db", readonly=True)
    arms = {r["arm"] for r in reader.runs(kind="eval")} | {r["arm"] for r in reader.runs(kind="baseline")}
    reader.close()
    assert {"bigrec", "d3", "igd", "most_popular"} <= arms


def test_reopening_keeps_the_runs(tmp_path):
    first = RunStore(tmp_path / "runs.db")
    first.complete(first.start(record()), {"hr@10": 0.5})
    first.close()
    again = RunStore(tmp_path / "runs.db")
    assert again.runs()[0]["metrics"] == {"hr@10": 0.5} and again.start(record()) == 2
    again.close()


def test_readonly_reads_without_writing(tmp_path):
    path = tmp_path / "runs.db"
    first = RunStore(path)
    first.complete(first.start(record()), {"hr@10": 0.5})
    first.db.execute("PRAGMA journal_mode = DELETE")  # as shipped: no -wal/-shm beside it
    first.close()
    before = path.read_bytes()
    ro = RunStore(path, readonly=True)
    assert ro.runs()[0]["metrics"] == {"hr@10": 0.5}
    with pytest.raises(StoreError, match="runs.db: is read-only .* Fix: make the file"):
        ro.start(record())
    ro.close()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_readonly_refuses_a_missing_or_empty_file(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        RunStore(tmp_path / "nope.db", readonly=True)
    sqlite3.connect(tmp_path / "empty.db").close()  # a 0-byte file: listing never makes it a store
    with pytest.raises(StoreError, match=r"empty.db: is empty \(0 bytes\)"):
        RunStore(tmp_path / "empty.db", readonly=True)
    assert (tmp_path / "empty.db").stat().st_size == 0


@pytest.mark.parametrize("content", [
    b"user_id,item_id\nu1,3\n" * 50,  # a CSV given by mistake
    b"SQLite format 3\x00" + b"\x00" * 200,  # a corrupt header
])
def test_a_non_sqlite_file_is_an_error_and_left_untouched(tmp_path, content):
    (path := tmp_path / "runs.db").write_bytes(content)
    with pytest.raises(StoreError, match=r"runs\.db: cannot be opened as a SQLite database .* Fix: pass another"):
        RunStore(path)
    assert path.read_bytes() == content and sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def sqlite_file(path: Path, sql: str) -> bytes:
    with sqlite3.connect(path) as conn:
        conn.execute(sql)
    conn.close()
    return path.read_bytes()


def test_another_applications_database_is_refused_and_left_untouched(tmp_path):
    before = sqlite_file(path := tmp_path / "app.db", "CREATE TABLE users (id INTEGER, name TEXT)")
    with pytest.raises(StoreError, match="without a 'runs' table"):
        RunStore(path)
    assert path.read_bytes() == before


def test_an_incompatible_schema_is_refused_and_left_untouched(tmp_path):
    before = sqlite_file(path := tmp_path / "runs.db", "CREATE TABLE runs (id INTEGER PRIMARY KEY, kind TEXT)")
    with pytest.raises(StoreError, match="table 'runs' lacks columns dataset, .* Fix: add them"):
        RunStore(path)
    assert path.read_bytes() == before


def test_an_unopenable_path_is_an_error(tmp_path):
    with pytest.raises(StoreError, match="its folder .*missing does not exist. Fix: create it first"):
        RunStore(tmp_path / "missing" / "runs.db")


@pytest.mark.parametrize("changes, name", [
    ({"kind": "test"}, "kind"), ({"split": "dev"}, "split"), ({"train_method": "IGD"}, "train_method"),
    ({"decoding": "beam"}, "decoding"), ({"beta": -0.1}, "beta"), ({"alpha": math.nan}, "alpha"),
    ({"alpha": math.inf}, "alpha"), ({"beta": "0.2"}, "beta"), ({"seed": "0"}, "seed"), ({"seed": True}, "seed"),
])
def test_run_record_validation_names_the_field(changes, name):
    with pytest.raises(ValueError, match=f"^{name}="):
        record(**changes)


def test_a_writer_waits_for_another_instead_of_failing(store):
    blocker = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock for 0.5 s
    threading.Timer(0.5, blocker.execute, ["COMMIT"]).start()
    assert store.start(record()) == 1
    blocker.close()


# Starts a run, then calls complete() with predictions that hang after the first row: the
# metrics are then written inside complete()'s open transaction, not yet committed.
VICTIM = """
import sys, time
from pathlib import Path
from igd.store import RunRecord, RunStore

class HangingPredictions(list):
    def __iter__(self):
        yield self[0]
        Path(sys.argv[2]).write_text(str(run_id))  # tell the test: inside the transaction
        time.sleep(60)
        yield self[1]

store = RunStore(sys.argv[1])
run_id = store.start(RunRecord(kind="eval", dataset="ml-100k", dataset_fingerprint="fp0",
                               model="m", seed=0, split="test"))
row = {"user_index": 0, "user_id": "u0", "target_title": "A", "rank": 1, "items": ["A"], "scores": [0.0]}
store.complete(run_id, {"hr@10": 0.5, "ndcg@10": 0.25}, HangingPredictions([row, {**row, "user_index": 1}]))
"""


def test_kill_9_inside_complete_leaves_a_running_run_without_metrics(tmp_path):
    path, marker = tmp_path / "runs.db", tmp_path / "inside"
    (script := tmp_path / "victim.py").write_text(textwrap.dedent(VICTIM))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    victim = subprocess.Popen([sys.executable, str(script), str(path), str(marker)], env=env,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and victim.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), f"the victim never reached complete(): {victim.poll()=}"
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # its transaction is open
            probe.execute("BEGIN IMMEDIATE")
        probe.close()
        os.kill(victim.pid, signal.SIGKILL)
    finally:
        victim.kill()
        stderr = victim.communicate()[1]
    assert victim.returncode == -signal.SIGKILL, stderr
    store = RunStore(path)
    (run,) = store.runs()
    assert (run["id"], run["status"], run["metrics"]) == (int(marker.read_text()), "running", {})
    assert store.db["metrics"].count == 0 and store.predictions(run["id"]) == []
    assert store.reap() == 1 and store.runs()[0]["status"] == "failed" and store.runs()[0]["error"] == DIED
    store.close()


def test_an_unreaped_killed_child_counts_as_dead():
    import subprocess
    import time

    from igd.store import _pid_alive

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    child.kill()
    time.sleep(0.3)  # killed, not yet waited for: a zombie
    try:
        assert not _pid_alive(child.pid)
    finally:
        child.wait()


# --- listing never writes; bad files are StoreErrors naming the file and the fix -----------

def _dead_pid() -> int:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()  # exited and reaped: its pid is no longer a process
    return exited.pid


def test_readonly_reads_a_wal_store_without_creating_sidecars(tmp_path):
    # A file: WAL mode and -wal/-shm sidecars are the subject.
    writer = RunStore(path := tmp_path / "runs.db")
    writer.complete(writer.start(record()), {"hr@10": 0.5})
    writer.close()  # the last connection: -wal checkpointed and removed
    before = path.read_bytes()
    reader = RunStore(path, readonly=True)
    assert reader.runs()[0]["metrics"] == {"hr@10": 0.5}
    reader.close()
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]


def test_readonly_shows_a_dead_process_and_a_writer_reaps_it(store):
    store.db["runs"].update(store.start(record()), {"pid": _dead_pid()})
    reader = RunStore(store.path, readonly=True)
    assert reader.runs()[0]["status"] == DEAD and store.runs()[0]["status"] == "running"
    assert store.reap() == 1 and reader.runs()[0]["status"] == "failed"
    reader.close()


def test_a_lock_held_past_the_timeout_is_a_store_error(store):
    store.db.execute("PRAGMA journal_mode = DELETE")  # rollback journal: an exclusive lock blocks readers
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"runs.db: is locked by another process for more than 0.2 s.* Fix: wait"):
        RunStore(store.path, readonly=True, timeout=0.2)
    assert time.monotonic() - started < 5
    holder.execute("ROLLBACK")
    holder.close()


def test_damaged_pages_are_a_store_error_and_left_untouched(tmp_path):
    first = RunStore(path := tmp_path / "runs.db")
    first.complete(first.start(record()), {"hr@10": 0.5})
    first.close()
    data = bytearray(path.read_bytes())
    data[100:] = bytes(len(data) - 100)  # the header stays, every page is zeros
    path.write_bytes(bytes(data))
    for readonly in (True, False):
        with pytest.raises(StoreError, match=r"runs.db: (is damaged|cannot be opened).* Fix: "):
            RunStore(path, readonly=readonly)
    assert path.read_bytes() == bytes(data)


@pytest.mark.parametrize("where, match", [("folder", "is a folder"), ("missing/runs.db", "folder .* does not exist")])
def test_a_store_path_that_cannot_be_a_store(tmp_path, where, match):
    (tmp_path / "folder").mkdir()
    with pytest.raises(StoreError, match=f"{match}.*Fix: "):
        RunStore(tmp_path / where)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
