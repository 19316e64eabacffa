"""`igd report --out` on paths it must not write (issue 26): a user's own file, a symbolic
link, a path under a file, a figures folder name taken by a file, a folder without write
permission. Each ends with exit 2 and a message naming the input and the fix, before any
work, and the user's files are byte-identical afterwards; a regenerated report removes only
the figures its predecessor drew."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/ (test_report's store helpers)
from igd.cli import main  # noqa: E402
from test_report import add_eval  # noqa: E402
from igd.store import RunStore  # noqa: E402


@pytest.fixture
def db(tmp_path) -> Path:
    store = RunStore(tmp_path / "runs.db")
    add_eval(store, "d3", 0, [1, 3, None, None, None, None], "d3", "sft")
    add_eval(store, "igd", 0, [1, 3, 2, 5, None, None], "igd", "igd", alpha=0.2, fwr=0.1, ise=3.1)
    store.close()
    return tmp_path / "runs.db"


def report(capsys, db: Path, out: Path) -> tuple[int, str]:
    code = main(["report", "--db", str(db), "--out", str(out)])
    return code, capsys.readouterr().err


def test_a_file_igd_did_not_write_is_never_replaced(db, tmp_path, capsys):
    notes = tmp_path / "NOTES.md"
    notes.write_bytes(b"# my notes\n\nnot a report\n")
    code, err = report(capsys, db, notes)
    assert code == 2 and err == (f"igd report: error: --out {notes}: exists and was not written by `igd report`. "
                                 "Fix: choose a new file for --out, or move this one away (nothing was changed)\n")
    assert notes.read_bytes() == b"# my notes\n\nnot a report\n"
    assert not (tmp_path / "NOTES-figures").exists()


def test_a_symbolic_link_is_not_followed(db, tmp_path, capsys):
    target = tmp_path / "elsewhere.md"
    target.write_bytes(b"someone's file\n")
    (tmp_path / "r.md").symlink_to(target)
    code, err = report(capsys, db, tmp_path / "r.md")
    assert code == 2 and "is a symbolic link. Fix: pass a path that is not a link" in err
    assert target.read_bytes() == b"someone's file\n"


def test_paths_that_cannot_be_written(db, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    code, err = report(capsys, db, tmp_path / "afile" / "r.md")
    assert code == 2 and f"{tmp_path / 'afile'} is a file, not a folder. Fix: choose an --out under a folder" in err
    (tmp_path / "r-figures").write_text("a file named like the figures folder")
    code, err = report(capsys, db, tmp_path / "r.md")
    assert code == 2 and f"its figures folder {tmp_path / 'r-figures'} is a file. Fix: move that file" in err
    assert (tmp_path / "r-figures").read_text() == "a file named like the figures folder"
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        code, err = report(capsys, db, locked / "r.md")
        assert code == 2 and "is not writable. Fix: choose an --out in a folder you can write" in err


def test_a_regenerated_report_keeps_the_users_own_figures(db, tmp_path, capsys):
    out = tmp_path / "REPORT.md"
    assert report(capsys, db, out)[0] == 0
    figs = tmp_path / "REPORT-figures"
    drawn = sorted(p.name for p in figs.glob("*.svg"))
    assert drawn  # the report links what it drew
    (figs / "my-diagram.svg").write_bytes(b"<svg>mine</svg>")
    stale = figs / drawn[0]
    text = out.read_text()
    out.write_text(text + f"\n![old]({figs.name}/old-figure.svg)\n")  # a figure an older report drew
    (figs / "old-figure.svg").write_bytes(b"<svg>old</svg>")
    assert report(capsys, db, out)[0] == 0
    assert (figs / "my-diagram.svg").read_bytes() == b"<svg>mine</svg>"  # never linked by igd: kept
    assert not (figs / "old-figure.svg").exists()  # igd's own, no longer drawn: removed
    assert stale.exists()  # drawn again


def test_a_metric_holding_text_names_the_run_and_the_metric(db, tmp_path, capsys):
    import sqlite3

    con = sqlite3.connect(db)
    con.execute("UPDATE metrics SET value = 'n/a' WHERE name = 'hr@10' AND run_id = 1")
    con.commit()
    con.close()
    code, err = report(capsys, db, tmp_path / "r.md")
    assert code == 2 and "run 1's metric 'hr@10' holds 'n/a', not a number" in err and "Fix:" in err
    assert not (tmp_path / "r.md").exists()


def test_a_store_without_a_finished_test_run_writes_nothing(tmp_path, capsys):
    from igd.store import RunRecord

    store = RunStore(tmp_path / "empty.db")
    store.start(RunRecord(kind="eval", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=0, split="test"))
    store.close()
    code, err = report(capsys, tmp_path / "empty.db", tmp_path / "r.md")
    assert code == 2 and "no complete run on the test split, so there is nothing to report" in err
    assert not (tmp_path / "r.md").exists()
