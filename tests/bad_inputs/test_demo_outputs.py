"""`igd demo-models --out/--work` on folders holding the user's files (issue 26): it replaces
only what its own record says it wrote (checkpoints by their manifest, its README by its title,
run stores), refuses otherwise before any work (no dataset is built, nothing trained), names
the file and the fix, and leaves the user's files byte-identical."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from igd.cli import main

REPO = Path(__file__).resolve().parents[2]


def demo(capsys, tmp_path: Path, out: Path, work: Path | None = None) -> tuple[int, str, float]:
    started = time.perf_counter()
    code = main(["demo-models", "--data", str(tmp_path / "ml-100k"), "--out", str(out),
                 "--work", str(work or tmp_path / "work")])
    return code, capsys.readouterr().err, time.perf_counter() - started


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def user_folder(tmp_path) -> Path:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    return out


def test_a_readme_igd_did_not_write_is_refused(capsys, tmp_path, user_folder):
    (user_folder / "README.md").write_text("# My project\n")
    before = snapshot(user_folder)
    code, err, seconds = demo(capsys, tmp_path, user_folder)
    assert code == 2 and err == (f"igd demo-models: error: --out {user_folder}: {user_folder / 'README.md'} was not "
                                 "written by `igd demo-models`. Fix: move it away, or choose another --out "
                                 "(nothing was changed)\n")
    assert snapshot(user_folder) == before and not (tmp_path / "ml-100k").exists() and seconds < 10


def test_a_file_that_is_not_a_run_store_is_refused(capsys, tmp_path, user_folder):
    (user_folder / "runs.db").write_bytes(b"my database, not igd's")
    before = snapshot(user_folder)
    code, err, _ = demo(capsys, tmp_path, user_folder)
    assert code == 2 and str(user_folder / "runs.db") in err and "Fix:" in err and "Traceback" not in err
    assert snapshot(user_folder) == before


def test_a_user_file_inside_a_checkpoint_folder_is_refused(capsys, tmp_path, user_folder):
    shutil.copytree(REPO / "models" / "demo-sft", user_folder / "demo-sft")
    (user_folder / "demo-sft" / "my-notes.txt").write_text("mine")
    before = snapshot(user_folder)
    code, err, _ = demo(capsys, tmp_path, user_folder)
    assert code == 2 and "holds files igd did not write (my-notes.txt)" in err
    assert snapshot(user_folder) == before


@pytest.mark.parametrize("option", ["--out", "--work"])
def test_an_existing_file_or_a_link_is_refused(capsys, tmp_path, option):
    afile = tmp_path / "afile"
    afile.write_text("x")
    paths = {"--out": tmp_path / "out", "--work": tmp_path / "work"}
    paths[option] = afile
    code, err, _ = demo(capsys, tmp_path, paths["--out"], paths["--work"])
    assert code == 2 and f"{option} {afile}: {afile} is a file, not a folder. Fix:" in err
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    paths[option] = link
    code, err, _ = demo(capsys, tmp_path, paths["--out"], paths["--work"])
    assert code == 2 and f"{option} {link}: is a symbolic link. Fix:" in err
    assert afile.read_text() == "x" and not (tmp_path / "elsewhere").exists()
