"""More bad inputs of issue 26: a command that edits a store refuses a file that is not one;
seeds out of range are refused by the option itself, before any work."""

from __future__ import annotations

import pytest

from igd.cli import main
from igd.config import SEED_MAX


def run(capsys, *argv) -> tuple[int, str]:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    return code, capsys.readouterr().err


def test_slim_refuses_an_empty_file(tmp_path, capsys):
    zero = tmp_path / "zero.db"
    zero.write_bytes(b"")
    code, err = run(capsys, "slim", "--db", zero)
    assert code == 2 and "is empty (0 bytes), so it holds no runs" in err and "Fix:" in err
    assert zero.read_bytes() == b""  # not turned into a store


def test_slim_refuses_a_file_that_is_not_a_store(tmp_path, capsys):
    text = tmp_path / "notes.db"
    text.write_bytes(b"just some text, not SQLite\n" * 10)
    code, err = run(capsys, "slim", "--db", text)
    assert code == 2 and str(text) in err and "Fix:" in err and "Traceback" not in err
    assert text.read_bytes() == b"just some text, not SQLite\n" * 10


@pytest.mark.parametrize("argv", [["baseline", "--model", "sasrec", "--data", "d"],
                                  ["sid", "build", "--data", "d", "--out", "o"]])
@pytest.mark.parametrize("seed", ["-1", str(2 ** 40), str(2 ** 70)])
def test_out_of_range_seeds_name_the_range(capsys, argv, seed):
    code, err = run(capsys, *argv, "--seed", seed)
    assert code == 2 and f"argument --seed: {int(seed)} is not a seed. Fix: pass an integer in [0, {SEED_MAX}]" in err


def test_an_unknown_tokenizer_name_fails_without_asking_the_hub(tmp_path, capsys):
    """Not built in, not a folder: the local Hugging Face cache only (the Hub took ~56 s to fail)."""
    from igd.tokenization import load_tokenizer

    with pytest.raises(ValueError, match=r"cannot load tokenizer 'no-such-tokenizer': not built in, not a local "
                                         r"folder, and not in the local Hugging Face cache\. Fix: use one of"):
        load_tokenizer("no-such-tokenizer")
