"""Bad inputs to checkpoints, run stores and command-line options (issue 10): each one ends
`igd` with exit 2 and a message naming the input and the fix, never a traceback, and leaves
every stored byte (checkpoint files, run stores) as it was.

One tiny checkpoint is trained per module (a 1-layer model over a small byte-level BPE
tokenizer folder, so the checkpoint holds a real tokenizer.json); every case corrupts a copy.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest

from fruits import TINY, TITLES, write_dataset
from igd.cli import main

REPO = Path(__file__).resolve().parents[2]
CK_FIX = "igd train"  # every checkpoint error says to retrain or pick a folder `igd train` wrote
TINY_BPE = [a for a in TINY if a not in ("--tokenizer", "char")]


# --- helpers ------------------------------------------------------------------------------

def run(capsys, *argv) -> tuple[int, str, str]:
    """`igd ARGV` in-process: (exit code, stdout, stderr); argparse's usage errors included."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def snapshot(*roots: Path) -> dict[str, object]:
    """Every entry under `roots` (symlinks not followed): file bytes, link targets, folders."""
    seen: dict[str, object] = {}
    for root in roots:
        if root.is_symlink() or root.is_file():
            seen[str(root)] = os.readlink(root) if root.is_symlink() else root.read_bytes()
            continue
        for folder, dirs, files in os.walk(root):
            seen[folder] = "<dir>"
            for name in dirs + files:
                p = Path(folder) / name
                if p.is_symlink():
                    seen[str(p)] = ("link", os.readlink(p))
                elif p.is_file():
                    seen[str(p)] = p.read_bytes()
    return seen


def assert_clear_error(code, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "Error:" not in err.replace("error:", ""), err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"


def tokenizer_folder(folder: Path) -> Path:
    """A byte-level BPE tokenizer trained on the fruit titles (any text still encodes)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<eos>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(TITLES * 20 + ["fruits", "The user has eaten"], trainer)
    PreTrainedTokenizerFast(tokenizer_object=backend, eos_token="<eos>", pad_token="<pad>").save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(root, dataset, checkpoint): trained once for the module, never modified by a case."""
    root = tmp_path_factory.mktemp("bad-inputs")
    data = write_dataset(root / "fruits")
    tok = tokenizer_folder(root / "tok")
    ckpt = root / "ckpt"
    assert main(["train", "--data", str(data), "--out", str(ckpt), "--max-steps", "2", "--db", "",
                 "--tokenizer", str(tok), *TINY_BPE]) == 0
    assert (ckpt / "tokenizer" / "tokenizer.json").is_file() and (ckpt / "vocab.json").is_file()
    return root, data, ckpt


@pytest.fixture
def ck(built, tmp_path) -> Path:
    """A copy of the module's checkpoint, for one case to corrupt."""
    copy = tmp_path / "ck"
    shutil.copytree(built[2], copy, symlinks=True)
    return copy


# --- checkpoints --------------------------------------------------------------------------

def _truncate(name: str, keep: float = 0.5) -> Callable[[Path], None]:
    def corrupt(ck: Path) -> None:
        p = ck / name
        p.write_bytes(p.read_bytes()[: int(p.stat().st_size * keep)])
    return corrupt


def _write(name: str, data: bytes | None) -> Callable[[Path], None]:
    def corrupt(ck: Path) -> None:
        if data is None:
            (ck / name).unlink()
        else:
            (ck / name).write_bytes(data)
    return corrupt


def _random_same_size(name: str) -> Callable[[Path], None]:
    def corrupt(ck: Path) -> None:
        p = ck / name
        p.write_bytes(os.urandom(p.stat().st_size))
    return corrupt


def _flip_byte(name: str) -> Callable[[Path], None]:
    def corrupt(ck: Path) -> None:
        p = ck / name
        data = bytearray(p.read_bytes())
        data[-1] ^= 0xFF
        p.write_bytes(bytes(data))
    return corrupt


def _meta(change: Callable[[dict], object]) -> Callable[[Path], None]:
    """Edit igd_checkpoint.json in place (`change` mutates the dict; its result is ignored)."""
    def corrupt(ck: Path) -> None:
        p = ck / "igd_checkpoint.json"
        meta = json.loads(p.read_text())
        change(meta)
        p.write_text(json.dumps(meta))
    return corrupt


def _loop(name: str) -> Callable[[Path], None]:
    def corrupt(ck: Path) -> None:
        p = ck / name
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
        p.symlink_to(p.name)  # points at itself: ELOOP on open
    return corrupt


def _folder_for(name: str) -> Callable[[Path], None]:
    def corrupt(ck: Path) -> None:
        (ck / name).unlink()
        (ck / name).mkdir()
    return corrupt


def _drop_manifest(corrupt: Callable[[Path], None]) -> Callable[[Path], None]:
    """The same damage to a checkpoint written before manifests (no 'files' list)."""
    def both(ck: Path) -> None:
        _meta(lambda m: m.pop("files", None))(ck)
        corrupt(ck)
    return both


SAFETENSORS, TOKENIZER_JSON = "model/model.safetensors", "tokenizer/tokenizer.json"
CHECKPOINT_CASES = {
    "safetensors-truncated": (_truncate(SAFETENSORS), "model.safetensors"),
    "safetensors-1000-bytes": (_truncate(SAFETENSORS, 0.005), "model.safetensors"),
    "safetensors-empty": (_write(SAFETENSORS, b""), "model.safetensors"),
    "safetensors-random-same-size": (_random_same_size(SAFETENSORS), "model.safetensors"),
    "safetensors-random-other-size": (_write(SAFETENSORS, os.urandom(5000)), "model.safetensors"),
    "safetensors-one-byte-flipped": (_flip_byte(SAFETENSORS), "model.safetensors"),
    "safetensors-missing": (_write(SAFETENSORS, None), "model.safetensors"),
    "safetensors-is-a-folder": (_folder_for(SAFETENSORS), "model.safetensors"),
    "safetensors-symlink-loop": (_loop(SAFETENSORS), "model.safetensors"),
    "model-config-not-json": (_write("model/config.json", b"{not json"), "config.json"),
    "model-config-missing": (_write("model/config.json", None), "config.json"),
    "model-folder-symlink-loop": (_loop("model"), "model"),
    "tokenizer-json-truncated": (_truncate(TOKENIZER_JSON), "tokenizer.json"),
    "tokenizer-json-missing": (_write(TOKENIZER_JSON, None), "tokenizer.json"),
    "tokenizer-roles-not-json": (_write("tokenizer/igd_special_tokens.json", b"\x00\xff"), "igd_special_tokens.json"),
    "tokenizer-folder-symlink-loop": (_loop("tokenizer"), "tokenizer"),
    "vocab-not-json": (_write("vocab.json", b"[1, 2,"), "vocab.json"),
    "vocab-missing": (_write("vocab.json", None), "vocab.json"),
    "meta-without-template": (_meta(lambda m: m.pop("template")), "template"),
    "meta-template-unknown-field": (_meta(lambda m: m["template"].update(colour="red")), "template"),
    "meta-template-not-a-dict": (_meta(lambda m: m.update(template="plain")), "template"),
    "meta-not-json": (_write("igd_checkpoint.json", b"checkpoint, trained yesterday"), "igd_checkpoint.json"),
    "meta-truncated": (_truncate("igd_checkpoint.json"), "igd_checkpoint.json"),
    "meta-empty": (_write("igd_checkpoint.json", b""), "igd_checkpoint.json"),
    "meta-a-json-list": (_write("igd_checkpoint.json", b"[1, 2, 3]"), "igd_checkpoint.json"),
    "meta-manifest-not-a-dict": (_meta(lambda m: m.update(files=["model/model.safetensors"])), "files"),
    "meta-missing": (_write("igd_checkpoint.json", None), "igd_checkpoint.json"),
    "meta-symlink-loop": (_loop("igd_checkpoint.json"), "igd_checkpoint.json"),
    "meta-is-a-folder": (_folder_for("igd_checkpoint.json"), "igd_checkpoint.json"),
    "legacy-safetensors-truncated": (_drop_manifest(_truncate(SAFETENSORS)), "model"),
    "legacy-safetensors-random": (_drop_manifest(_write(SAFETENSORS, os.urandom(5000))), "model"),
    "legacy-safetensors-missing": (_drop_manifest(_write(SAFETENSORS, None)), "model"),
    "legacy-tokenizer-json-truncated": (_drop_manifest(_truncate(TOKENIZER_JSON)), "tokenizer"),
    "legacy-vocab-not-json": (_drop_manifest(_write("vocab.json", b"[1,")), "vocab.json"),
}


@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_a_damaged_checkpoint_is_named_with_the_fix_and_left_as_it_was(case, ck, built, capsys):
    corrupt, what = CHECKPOINT_CASES[case]
    corrupt(ck)
    before = snapshot(ck)
    code, _, err = run(capsys, "evaluate", "--checkpoint", ck, "--data", built[1], "--db", "")
    assert_clear_error(code, err, str(ck), what, CK_FIX)
    assert snapshot(ck) == before


@pytest.mark.parametrize("case", ["safetensors-truncated", "tokenizer-json-truncated", "meta-without-template"])
def test_recommend_reports_a_damaged_checkpoint_too(case, ck, built, capsys):
    CHECKPOINT_CASES[case][0](ck)
    code, _, err = run(capsys, "recommend", "--checkpoint", ck, "--data", built[1], "--history", "kiwi")
    assert_clear_error(code, err, str(ck), CK_FIX)


@pytest.mark.parametrize("make, problem", [
    (lambda p: None, "does not exist"),
    (lambda p: p.write_text("weights"), "not a folder"),
    (lambda p: p.mkdir(), "igd_checkpoint.json"),
    (lambda p: p.symlink_to(p.name), "symbolic links"),
], ids=["missing", "a-file", "an-empty-folder", "a-symlink-loop"])
def test_checkpoint_path_that_is_no_checkpoint(make, problem, tmp_path, built, capsys):
    make(path := tmp_path / "ckpt")
    code, _, err = run(capsys, "evaluate", "--checkpoint", path, "--data", built[1], "--db", "")
    assert_clear_error(code, err, str(path), problem, CK_FIX)


def test_the_undamaged_copy_loads(ck, built, capsys):
    """The control: the copies the cases corrupt do load (so the cases test the damage)."""
    code, _, err = run(capsys, "recommend", "--checkpoint", ck, "--data", built[1], "--history", "kiwi",
                       "--beams", "3")
    assert code == 0, err
    meta = json.loads((ck / "igd_checkpoint.json").read_text())
    assert {"model/model.safetensors", "tokenizer/tokenizer.json", "vocab.json"} <= set(meta["files"])


# --- igd train --out: overwrite only what igd wrote ----------------------------------------

def _stray_meta(out: Path) -> None:
    out.mkdir()
    (out / "igd_checkpoint.json").write_text("{}")
    (out / "thesis.tex").write_text("three years of work")
    (out / "figures").mkdir()
    (out / "figures" / "fig1.pdf").write_bytes(b"%PDF")


def _checkpoint_plus(name: str, data: bytes = b"mine") -> Callable[[Path, Path], None]:
    def make(out: Path, ckpt: Path) -> None:
        shutil.copytree(ckpt, out)
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    return make


OUT_CASES = {
    # (make the --out folder from (out, good checkpoint), extra args, expected words)
    "stray-meta-and-other-files": (lambda out, ck: _stray_meta(out), ["--overwrite"], ["thesis.tex"]),
    "checkpoint-plus-a-user-file": (_checkpoint_plus("results.csv"), ["--overwrite"], ["results.csv"]),
    "checkpoint-plus-a-file-in-model": (_checkpoint_plus("model/notes.txt"), ["--overwrite"], ["notes.txt"]),
    "checkpoint-plus-a-symlink": (lambda out, ck: (shutil.copytree(ck, out), (out / "data").symlink_to("/")),
                                  ["--overwrite"], ["data"]),
    "meta-unreadable": (lambda out, ck: (shutil.copytree(ck, out), (out / "igd_checkpoint.json").write_text("{")),
                        ["--overwrite"], ["igd_checkpoint.json"]),
    "meta-without-manifest-and-other-files": (
        lambda out, ck: (shutil.copytree(ck, out), _meta(lambda m: m.pop("files"))(out),
                         (out / "keep.txt").write_text("x")), ["--overwrite"], ["keep.txt"]),
    "checkpoint-without-overwrite": (lambda out, ck: shutil.copytree(ck, out), [], ["--overwrite"]),
    "folder-of-other-files": (lambda out, ck: (out.mkdir(), (out / "a.txt").write_text("a")), ["--overwrite"],
                              ["not an igd checkpoint"]),
    "out-is-a-file": (lambda out, ck: out.write_text("x"), ["--overwrite"], ["is a file"]),
    "out-is-a-symlink": (lambda out, ck: (out.with_name("real").mkdir(), out.symlink_to("real")), ["--overwrite"],
                         ["symbolic link"]),
}


@pytest.mark.parametrize("case", list(OUT_CASES))
def test_train_out_refuses_and_deletes_nothing(case, built, tmp_path, capsys):
    make, extra, words = OUT_CASES[case]
    out = tmp_path / "out"
    make(out, built[2])
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "train", "--data", built[1], "--out", out, "--max-steps", "1", "--db", "", *extra,
                       *TINY)
    assert_clear_error(code, err, str(out), *words)
    assert snapshot(tmp_path) == before


def test_train_out_under_a_file(built, tmp_path, capsys):
    (blocker := tmp_path / "results").write_text("x")
    out = blocker / "ckpt"
    code, _, err = run(capsys, "train", "--data", built[1], "--out", out, "--db", "", *TINY)
    assert_clear_error(code, err, str(out), str(blocker), "not a folder")
    assert blocker.read_text() == "x"


def test_overwrite_replaces_only_what_igd_wrote(built, tmp_path, capsys):
    """An igd checkpoint (manifest) with --overwrite is replaced; a new folder beside it and the
    files of its siblings are untouched, and no temporary folder is left behind."""
    out = tmp_path / "ckpt"
    shutil.copytree(built[2], out)
    (tmp_path / "notes.txt").write_text("sibling")
    old_meta = json.loads((out / "igd_checkpoint.json").read_text())
    code, _, err = run(capsys, "train", "--data", built[1], "--out", out, "--max-steps", "1", "--db", "",
                       "--overwrite", "--seed", "1", *TINY)
    assert code == 0, err
    meta = json.loads((out / "igd_checkpoint.json").read_text())
    assert meta["seed"] == 1 and old_meta["seed"] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "notes.txt"]
    written = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert written == set(meta["files"]) | {"igd_checkpoint.json"}


# --- run stores: `igd runs` never writes --------------------------------------------------

def _store(path: Path, *, wal: bool = False, running_pid: int | None = None) -> Path:
    from igd.store import RunRecord, RunStore

    store = RunStore(path)
    run_id = store.start(RunRecord(kind="eval", dataset="fruits", dataset_fingerprint="fp", model="tiny",
                                   seed=0, split="test", train_method="sft", decoding="d3"))
    store.complete(run_id, {"hr@10": 0.5, "ndcg@10": 0.25})
    if running_pid is not None:
        store.db.execute("UPDATE runs SET status = 'running', pid = ? WHERE id = ?", [running_pid, run_id])
        store.db.conn.commit()
    if not wal:
        store.db.execute("PRAGMA journal_mode = DELETE")  # as shipped: no sidecar files
    store.close()
    return path


def _garbage_pages(path: Path) -> None:
    _store(path)
    data = bytearray(path.read_bytes())
    data[100:] = bytes((7 * i) % 251 for i in range(len(data) - 100))  # header kept, pages garbage
    path.write_bytes(bytes(data))


STORE_CASES = {
    # (make the file at path, expected words)
    "garbage-pages": (_garbage_pages, ["malformed"]),
    "not-sqlite": (lambda p: p.write_text("user_id,item_id\n" * 40), ["not a database"]),
    "empty-file": (lambda p: p.write_bytes(b""), ["empty"]),
    "a-folder": (lambda p: p.mkdir(), ["folder"]),
    "another-apps-db": (lambda p: sqlite3.connect(p).execute("CREATE TABLE users (id)").connection.close(),
                        ["not an igd run store"]),
    "missing": (lambda p: None, ["does not exist"]),
    "a-symlink-loop": (lambda p: p.symlink_to(p.name), ["symbolic links"]),
}


@pytest.mark.parametrize("case", list(STORE_CASES))
def test_runs_on_a_bad_store_is_named_and_left_as_it_was(case, tmp_path, capsys):
    make, words = STORE_CASES[case]
    make(path := tmp_path / "runs.db")
    before = snapshot(tmp_path)
    code, _, err = run(capsys, "runs", "--db", path)
    assert_clear_error(code, err, str(path), *words, "Fix:")
    assert snapshot(tmp_path) == before


def test_runs_in_a_missing_folder(tmp_path, capsys):
    code, _, err = run(capsys, "runs", "--db", tmp_path / "nope" / "runs.db")
    assert_clear_error(code, err, str(tmp_path / "nope"), "Fix:")
    assert not (tmp_path / "nope").exists()


@pytest.mark.parametrize("wal", [False, True], ids=["rollback-journal", "wal"])
def test_runs_lists_a_read_only_store_in_a_read_only_folder(tmp_path, capsys, wal):
    folder = tmp_path / "shared"
    folder.mkdir()
    path = _store(folder / "runs.db", wal=wal)
    before = snapshot(folder)
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        code, out, err = run(capsys, "runs", "--db", path)
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
    assert code == 0, err
    assert "complete" in out and "0.5000" in out
    assert snapshot(folder) == before  # not a byte, no -wal/-shm beside it


def test_runs_shows_a_dead_process_without_writing(tmp_path, capsys):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # a pid that is surely gone
    path = _store(tmp_path / "runs.db", running_pid=child.pid)
    before = snapshot(tmp_path)
    code, out, err = run(capsys, "runs", "--db", path)
    assert code == 0, err
    assert "running (dead pid)" in out
    assert snapshot(tmp_path) == before


def test_runs_on_a_copy_of_the_shipped_store_changes_nothing(tmp_path, capsys):
    shutil.copy(REPO / "models" / "runs.db", copy := tmp_path / "runs.db")
    before = snapshot(tmp_path)
    code, out, err = run(capsys, "runs", "--db", copy)
    assert code == 0 and "complete" in out, err
    assert snapshot(tmp_path) == before


def test_runs_on_the_shipped_store_itself_changes_nothing(capsys):
    shipped = REPO / "models" / "runs.db"
    before, names = shipped.read_bytes(), sorted(p.name for p in shipped.parent.iterdir())
    try:
        code, _, err = run(capsys, "runs", "--db", shipped)
        assert code == 0, err
        assert shipped.read_bytes() == before
        assert sorted(p.name for p in shipped.parent.iterdir()) == names  # no -wal/-shm left
    finally:  # a regression must not leave the committed file changed for everyone else
        if shipped.read_bytes() != before:
            shipped.write_bytes(before)
        for sidecar in ("-wal", "-shm"):
            if f"runs.db{sidecar}" not in names:
                shipped.with_name(f"runs.db{sidecar}").unlink(missing_ok=True)


@pytest.fixture
def locked_store(tmp_path, monkeypatch):
    """A rollback-journal store another connection holds with BEGIN EXCLUSIVE (as another
    process would), and a 0.3 s busy timeout instead of 30 s."""
    import igd.store

    monkeypatch.setattr(igd.store, "BUSY_TIMEOUT_S", 0.3)
    path = _store(tmp_path / "runs.db")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


@pytest.mark.parametrize("argv", [
    ["runs"],
    ["train", "--data", "{data}", "--out", "{tmp}/ckpt", *TINY],
    ["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}"],
    ["baseline", "--model", "sasrec", "--data", "{data}"],
], ids=["runs", "train", "evaluate", "baseline"])
def test_a_store_locked_by_another_process(argv, locked_store, built, tmp_path, capsys):
    fill = {"data": str(built[1]), "ckpt": str(built[2]), "tmp": str(tmp_path)}
    started = time.monotonic()
    code, _, err = run(capsys, *[a.format(**fill) for a in argv], "--db", locked_store)
    assert time.monotonic() - started < 20
    assert_clear_error(code, err, str(locked_store), "another", "locked", "Fix:")
    assert not (tmp_path / "ckpt").exists()


def test_a_lock_released_within_the_busy_timeout_is_waited_for(tmp_path, monkeypatch, capsys):
    import igd.store

    monkeypatch.setattr(igd.store, "BUSY_TIMEOUT_S", 5.0)
    path = _store(tmp_path / "runs.db")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    threading.Timer(0.5, holder.execute, ["ROLLBACK"]).start()
    code, out, err = run(capsys, "runs", "--db", path)
    holder.close()
    assert code == 0 and "0.5000" in out, err


WRITER_STORE_CASES = {
    "garbage-pages": (_garbage_pages, "malformed"),
    "not-sqlite": (lambda p: p.write_bytes(b"\x89PNG" * 100), "not a database"),
    "a-folder": (lambda p: p.mkdir(), "folder"),
    "another-apps-db": (lambda p: sqlite3.connect(p).execute("CREATE TABLE users (id)").connection.close(),
                        "not an igd run store"),
}


@pytest.mark.parametrize("case", list(WRITER_STORE_CASES))
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_writers_refuse_a_bad_store_before_working(case, command, built, tmp_path, capsys):
    make, word = WRITER_STORE_CASES[case]
    make(db := tmp_path / "runs.db")
    before = snapshot(db)
    argv = (["train", "--data", built[1], "--out", tmp_path / "ckpt", *TINY] if command == "train"
            else ["evaluate", "--checkpoint", built[2], "--data", built[1]])
    code, _, err = run(capsys, *argv, "--db", db)
    assert_clear_error(code, err, str(db), word, "Fix:")
    assert snapshot(db) == before and not (tmp_path / "ckpt").exists()


def test_writers_refuse_a_store_in_a_missing_folder(built, tmp_path, capsys):
    db = tmp_path / "nope" / "runs.db"
    code, _, err = run(capsys, "evaluate", "--checkpoint", built[2], "--data", built[1], "--db", db)
    assert_clear_error(code, err, str(tmp_path / "nope"), "mkdir")
    assert not (tmp_path / "nope").exists()


# --- other command-line arguments ---------------------------------------------------------

ARG_CASES = {
    # id: (argv with {data} {ckpt} {tmp}, words the message must hold)
    "evaluate-beams-0": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--beams", "0"], ["--beams"]),
    "evaluate-beams-negative": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--beams", "-3"],
                                ["--beams"]),
    "evaluate-beams-1": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--beams", "1"], ["--beams"]),
    "evaluate-alpha-above-1": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--alpha", "1.5"],
                               ["--alpha"]),
    "evaluate-alpha-negative": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--alpha", "-0.1"],
                                ["--alpha"]),
    "evaluate-alpha-nan": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--alpha", "nan"], ["--alpha"]),
    "evaluate-max-users-0": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--max-users", "0"],
                             ["--max-users"]),
    "evaluate-batch-size-0": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--batch-size", "0"],
                              ["--batch-size"]),
    "evaluate-seed-negative": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--seed", "-1"],
                               ["--seed"]),
    "evaluate-db-a-folder": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--db", "{tmp}"],
                             ["{tmp}", "folder"]),
    "recommend-beams-0": (["recommend", "--checkpoint", "{ckpt}", "--data", "{data}", "--history", "kiwi",
                           "--beams", "0"], ["--beams"]),
    "recommend-alpha-2": (["recommend", "--checkpoint", "{ckpt}", "--data", "{data}", "--history", "kiwi",
                           "--alpha", "2"], ["--alpha"]),
    "recommend-user-index-negative": (["recommend", "--checkpoint", "{ckpt}", "--data", "{data}", "--user-index",
                                       "-1"], ["--user-index"]),
    "recommend-checkpoint-missing": (["recommend", "--checkpoint", "{tmp}/none", "--data", "{data}", "--history",
                                      "kiwi"], ["{tmp}/none", "igd train"]),
    "train-beta-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--beta", "0"], ["--beta"]),
    "train-beta-negative": (["train", "--data", "{data}", "--out", "{tmp}/o", "--beta", "-1"], ["--beta"]),
    "train-beta-above-1": (["train", "--data", "{data}", "--out", "{tmp}/o", "--beta", "1.5"], ["--beta"]),
    "train-epochs-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--epochs", "0"], ["--epochs"]),
    "train-batch-size-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--batch-size", "0"], ["--batch-size"]),
    "train-lr-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--lr", "0"], ["--lr"]),
    "train-lr-nan": (["train", "--data", "{data}", "--out", "{tmp}/o", "--lr", "nan"], ["--lr"]),
    "train-max-steps-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--max-steps", "0"], ["--max-steps"]),
    "train-max-train-rows-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--max-train-rows", "0"],
                               ["--max-train-rows"]),
    "train-max-eval-rows-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--max-eval-rows", "0"],
                              ["--max-eval-rows"]),
    "train-seed-negative": (["train", "--data", "{data}", "--out", "{tmp}/o", "--seed", "-1"], ["--seed"]),
    "train-lora-r-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--lora-r", "0"], ["--lora-r"]),
    "train-tiny-hidden-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--tiny-hidden", "0"],
                            ["--tiny-hidden"]),
    "train-tiny-hidden-not-divisible": (["train", "--data", "{data}", "--out", "{tmp}/o", "--tiny-hidden", "30"],
                                        ["--tiny-hidden"]),
    "train-cft-alpha-negative": (["train", "--data", "{data}", "--out", "{tmp}/o", "--cft-alpha", "-1"],
                                 ["--cft-alpha"]),
    "train-grad-accum-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--grad-accum", "0"], ["--grad-accum"]),
    "train-model-dot-slash-missing": (["train", "--data", "{data}", "--out", "{tmp}/o", "--model", "./nope"],
                                      ["./nope", "tiny"]),
    "train-model-absolute-missing": (["train", "--data", "{data}", "--out", "{tmp}/o", "--model", "/x/y"],
                                     ["/x/y", "tiny"]),
    "train-tokenizer-missing": (["train", "--data", "{data}", "--out", "{tmp}/o", "--tokenizer", "./nope"],
                                ["./nope", "qwen2.5"]),
    "train-tokenizer-missing-under-existing-folder": (
        ["train", "--data", "{data}", "--out", "{tmp}/o", "--tokenizer", "{tmp}/tok"], ["{tmp}/tok", "qwen2.5"]),
    "train-db-missing-folder": (["train", "--data", "{data}", "--out", "{tmp}/o", "--db", "{tmp}/no/runs.db"],
                                ["{tmp}/no", "mkdir"]),
    "stats-tokenizer-missing": (["stats", "--data", "{data}", "--tokenizer", "/x/y"], ["/x/y", "qwen2.5"]),
    "experiment-methods-empty": (["experiment", "--data", "{data}", "--methods", ""], ["--methods"]),
    "experiment-methods-unknown": (["experiment", "--data", "{data}", "--methods", "bigrec,BIGRec"],
                                   ["--methods", "BIGRec"]),
    "experiment-seeds-empty": (["experiment", "--data", "{data}", "--seeds", ""], ["--seeds"]),
    "experiment-seeds-not-ints": (["experiment", "--data", "{data}", "--seeds", "0,one"], ["--seeds"]),
    "experiment-beams-0": (["experiment", "--data", "{data}", "--beams", "0"], ["--beams"]),
    "experiment-max-users-0": (["experiment", "--data", "{data}", "--max-users", "0"], ["--max-users"]),
    "experiment-beta-list-out-of-range": (["experiment", "--data", "{data}", "--beta", "0.1,2"], ["--beta"]),
    "experiment-k-above-beams": (["experiment", "--data", "{data}", "--beams", "5", "--beta", "0.1,0.2"],
                                 ["--beams", "hr@10"]),
    "experiment-select-users-0": (["experiment", "--data", "{data}", "--select-users", "0"], ["--select-users"]),
    "experiment-db-a-folder": (["experiment", "--data", "{data}", "--methods", "most_popular", "--db", "{tmp}"],
                               ["{tmp}", "folder"]),
    "runs-metrics-empty": (["runs", "--db", "{tmp}/runs.db", "--metrics", ""], ["--metrics"]),
    "runs-decoding-unknown": (["runs", "--db", "{tmp}/runs.db", "--decoding", "beam"], ["--decoding"]),
    "runs-train-method-unknown": (["runs", "--db", "{tmp}/runs.db", "--train-method", "IGD"], ["--train-method"]),
    "baseline-max-users-0": (["baseline", "--model", "sasrec", "--data", "{data}", "--max-users", "0"],
                             ["--max-users"]),
    "baseline-k-0": (["baseline", "--model", "sasrec", "--data", "{data}", "--k", "0"], ["--k"]),
    "demo-models-sweep-users-0": (["demo-models", "--data", "{data}", "--sweep-users", "0"], ["--sweep-users"]),
    "demo-models-seeds-not-ints": (["demo-models", "--data", "{data}", "--seeds", "zero"], ["--seeds"]),
    "evaluate-decoding-unknown": (["evaluate", "--checkpoint", "{ckpt}", "--data", "{data}", "--decoding", "beam"],
                                  ["--decoding"]),
    "recommend-history-unknown": (["recommend", "--checkpoint", "{ckpt}", "--data", "{data}", "--history", "durian"],
                                  ["--history", "durian", "info.txt"]),
    "experiment-alpha-list-not-numbers": (["experiment", "--data", "{data}", "--alpha", "0.1,high"], ["--alpha"]),
    "experiment-decode-batch-size-0": (["experiment", "--data", "{data}", "--decode-batch-size", "0"],
                                       ["--decode-batch-size"]),
    "experiment-seed-negative": (["experiment", "--data", "{data}", "--seeds", "0,-1"], ["--seeds"]),
    "train-patience-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--patience", "0"], ["--patience"]),
    "train-lora-alpha-0": (["train", "--data", "{data}", "--out", "{tmp}/o", "--lora-alpha", "0"], ["--lora-alpha"]),
    "train-out-under-a-file": (["train", "--data", "{data}", "--out", "{data}/info.txt/ckpt"],
                               ["{data}/info.txt", "not a folder"]),
}


@pytest.mark.parametrize("case", list(ARG_CASES))
def test_a_nonsensical_option_names_itself_and_the_fix(case, built, tmp_path, capsys, monkeypatch):
    import transformers

    def local_only(original):
        def load(cls, name, *args, **kwargs):  # a missing local path must never reach the Hub
            if not Path(name).exists():
                raise AssertionError(f"a Hugging Face Hub lookup of {name!r} was attempted")
            return original.__func__(cls, name, *args, **kwargs)
        return classmethod(load)

    for cls in (transformers.AutoTokenizer, transformers.AutoModelForCausalLM):
        monkeypatch.setattr(cls, "from_pretrained", local_only(cls.__dict__["from_pretrained"]))
    (cwd := tmp_path / "cwd").mkdir()
    monkeypatch.chdir(cwd)  # a writer's default --db runs.db lands here, never in the checkout
    _store(tmp_path / "runs.db")
    argv, words = ARG_CASES[case]
    fill = {"data": str(built[1]), "ckpt": str(built[2]), "tmp": str(tmp_path)}
    before = snapshot(tmp_path / "runs.db", built[1], built[2])
    started = time.monotonic()
    code, _, err = run(capsys, *[a.format(**fill) for a in argv])
    assert time.monotonic() - started < 15  # refused before any training or decoding
    assert_clear_error(code, err, *[w.format(**fill) for w in words])
    assert any(fix in err for fix in ("Fix:", "choose from")), err
    assert snapshot(tmp_path / "runs.db", built[1], built[2]) == before
    assert not (tmp_path / "o").exists()


def test_a_file_added_to_out_during_training_is_kept_with_the_new_checkpoint(built, tmp_path):
    """--overwrite was allowed when training started; a file that appears in --out meanwhile
    makes the final swap refuse: --out as it was, the new checkpoint complete beside it."""
    from igd.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

    shutil.copytree(built[2], out := tmp_path / "ckpt")
    ck = load_checkpoint(out)
    (out / "notes.txt").write_text("written while training ran")
    before = snapshot(out)
    with pytest.raises(CheckpointError, match=r"notes.txt.*complete at .*\.ckpt\.tmp\d+.* Fix: move it"):
        save_checkpoint(out, ck.model, ck.tokenizer, ck.template, ck.meta, overwrite=True)
    assert snapshot(out) == before
    [kept] = [p for p in tmp_path.iterdir() if p.name.startswith(".ckpt.tmp")]
    weights = "model/model.safetensors"
    assert load_checkpoint(kept).meta["files"][weights] == ck.meta["files"][weights]  # the same model


def test_a_failed_write_leaves_no_half_checkpoint(built, tmp_path):
    from igd.checkpoint import load_checkpoint, save_checkpoint

    ck = load_checkpoint(built[2])

    class DiskFull:
        def save_pretrained(self, folder):
            Path(folder).mkdir()
            (Path(folder) / "model.safetensors").write_bytes(b"half")
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        save_checkpoint(tmp_path / "ckpt", DiskFull(), ck.tokenizer, ck.template, ck.meta)
    assert list(tmp_path.iterdir()) == []
