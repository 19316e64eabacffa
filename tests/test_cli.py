"""igd.cli: --help everywhere, `igd stats` on a hand-computed dataset, clean errors, and the
README documenting every command."""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from igd.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every command path of the argparse tree: (), ("data",), ("data", "movielens"), ..."""
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, prefix + (name,))


def subparser_actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action
            for sub in action.choices.values():
                yield from subparser_actions(sub)


PATHS = list(command_paths(build_parser()))
LEAVES = [p for p in PATHS if p and not any(q[:len(p)] == p and q != p for q in PATHS)]


def test_the_command_tree():
    assert LEAVES == [("data", "movielens"), ("data", "amazon"), ("stats",), ("train",),
                      ("evaluate",), ("recommend",), ("runs",), ("slim",), ("sid", "build"), ("report",), ("experiment",),
                      ("baseline",), ("demo-models",), ("app",)]


def test_cli_defaults_are_the_config_defaults():
    from igd.cli_config import train_config
    from igd.config import TrainConfig

    args = build_parser().parse_args(["train", "--data", "d", "--out", "o"])
    assert train_config(args) == TrainConfig(data="d", out="o")  # nothing restated differently


def test_protocol_paper_presets_unset_options_only():
    from igd.cli_config import resolve_option, train_config
    from igd.config import PAPER_ALPHAS, PAPER_BETAS

    args = build_parser().parse_args(["train", "--data", "d", "--out", "o", "--protocol", "paper"])
    cfg = train_config(args)
    assert (cfg.unseen, cfg.preamble, cfg.eval_loss) == ("excluded", "official", "train")
    args = build_parser().parse_args(["train", "--data", "d", "--out", "o", "--protocol", "paper",
                                      "--unseen", "generable"])
    assert train_config(args).unseen == "generable"  # an explicit option wins
    args = build_parser().parse_args(["experiment", "--data", "d", "--protocol", "paper"])
    assert resolve_option(args, "beta", None) == ",".join(f"{b:g}" for b in PAPER_BETAS) == "0.08,0.1,0.2,0.3,0.4,0.5,0.6"
    assert resolve_option(args, "alpha", None) == ",".join(f"{a:g}" for a in PAPER_ALPHAS) == "0.1,0.2"
    assert (resolve_option(args, "beam_stop", "fast"), resolve_option(args, "select_metric", None)) == ("official", "hr@10")


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(("igd",) + p))
def test_every_command_has_help(path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {' '.join(('igd',) + path)}")


def test_every_subcommand_is_described():
    for action in subparser_actions(build_parser()):
        for choice in action._choices_actions:
            assert choice.help, f"{choice.dest} has no help text"


def test_python_dash_m_igd_help():
    proc = subprocess.run([sys.executable, "-m", "igd", "--help"], capture_output=True,
                          text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: igd")
    assert "stats" in proc.stdout and "data" in proc.stdout


def test_missing_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main([])
    assert exit_.value.code == 2
    assert "usage: igd" in capsys.readouterr().err


# --- igd stats ---------------------------------------------------------------------------

HEADER = "user_id,history_item_id,item_id\n"
TITLES = ["ab", "ac", "b", "d"]  # item 3 ("d") is never a training target


def write_dataset(root: Path, with_train: bool = True) -> Path:
    root.mkdir()
    (root / "info.txt").write_text("".join(f"{t}\t{i}\n" for i, t in enumerate(TITLES)))
    if with_train:  # targets ab, ab, ac, b
        (root / "train.csv").write_text(HEADER + 'u1,[],0\nu1,"[0]",0\nu2,[],1\nu3,"[1]",2\n')
    (root / "valid.csv").write_text(HEADER + 'u1,"[0, 0]",0\nu2,"[1]",2\n')  # targets ab, b
    (root / "test.csv").write_text(HEADER + 'u3,"[1, 2]",3\n')
    return root


def run_stats(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["stats", "--tokenizer", "char", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_json_by_hand(tmp_path, capsys):
    # Char tokenizer, plain targets `title\n` + EOS. Training targets ab, ab, ac, b: N = 4,
    # p(ab) = 1/2, p(ac) = 1/4, p(b) = 1/4, p(d) = 0 (generable, IG 0 into its branch).
    # Trie: root -> a -> {b, c} -> \n -> EOS;  root -> b -> \n -> EOS;  root -> d -> ...
    #   ab: a (sibling b, d: IG > 0), b (sibling c has mass: IG > 0), \n 0, EOS 0 -> 2 of 4 zero
    #   ac: same                                                               -> 2 of 4 zero
    #   b:  b (sibling a: IG > 0), \n 0, EOS 0                                 -> 2 of 3 zero
    # Over training rows: tokens 2*4 + 4 + 3 = 15, zero-IG 2*2 + 2 + 2 = 8.
    code, out, _ = run_stats(capsys, "--data", str(write_dataset(tmp_path / "d")), "--json")
    assert code == 0
    s = json.loads(out)
    assert (s["items"], s["train_rows"], s["training_split"]) == (4, 4, "train")
    assert (s["target_tokens"], s["zero_ig_tokens"]) == (15, 8)
    assert s["zero_ig_share"] == pytest.approx(8 / 15)
    assert s["items_never_trained"] == 1


def test_stats_train_on_valid_by_hand(tmp_path, capsys):
    # Priors from valid targets ab, b: N = 2, and "ac" now has no mass, so after "a" the
    # token "b" has no sibling with mass:
    #   ab: a (IG > 0), b 0, \n 0, EOS 0 -> 3 of 4 zero;  b: b (IG > 0), \n 0, EOS 0 -> 2 of 3
    # Tokens 4 + 3 = 7, zero-IG 3 + 2 = 5.
    root = write_dataset(tmp_path / "d", with_train=False)
    code, out, _ = run_stats(capsys, "--data", str(root), "--train-on-valid", "--json")
    assert code == 0
    s = json.loads(out)
    assert (s["items"], s["train_rows"], s["training_split"]) == (4, 2, "valid")
    assert (s["target_tokens"], s["zero_ig_tokens"]) == (7, 5)
    assert s["zero_ig_share"] == pytest.approx(5 / 7)


def test_stats_text_report(tmp_path, capsys):
    code, out, _ = run_stats(capsys, "--data", str(write_dataset(tmp_path / "d")))
    assert code == 0
    assert "zero-IG tokens     8  (53.3%)" in out


def test_stats_without_train_split_is_a_one_line_error(tmp_path, capsys):
    root = write_dataset(tmp_path / "d", with_train=False)
    code, out, err = run_stats(capsys, "--data", str(root))
    assert code == 2 and out == ""
    assert err.startswith("igd stats: error: ") and err.count("\n") == 1, err
    assert "--train-on-valid" in err and "Traceback" not in err


def test_stats_on_a_missing_directory(tmp_path, capsys):
    code, _, err = run_stats(capsys, "--data", str(tmp_path / "nope"))
    assert code == 2
    assert "nope: dataset directory does not exist" in err and "Fix:" in err


# --- config errors under the option's name; listing versus writing stores -----------------

@pytest.mark.parametrize("owner, field, option", [
    ("TrainConfig", "learning_rate", "--lr"), ("DecodeConfig", "num_beams", "--beams"),
    ("TinyConfig", "tiny.hidden_size", "--tiny-hidden"), ("LoraSettings", "lora.alpha", "--lora-alpha"),
    ("DecodeConfig", "alpha", "--alpha"), ("ExperimentConfig", "batch_size", "--decode-batch-size"),
    ("TrainConfig", "batch_size", "--batch-size"), ("ExperimentConfig", "betas", "--beta"),
    ("EvalConfig", "max_users", "--max-users"),
])
def test_a_config_field_maps_to_its_option(owner, field, option):
    from igd.cli_parser import option_for

    assert option_for(owner, field) == option


def test_a_config_error_is_one_line_naming_the_option_and_the_fix(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "o"), "--beta", "1.5", "--db", ""])
    err = capsys.readouterr().err
    assert code == 2 and err == "igd train: error: --beta 1.5: out of range. Fix: pass a number in (0, 1]\n"


def test_writers_reap_dead_runs_and_listing_does_not(tmp_path, capsys):
    from igd.store import RunRecord, RunStore

    store = RunStore(db := tmp_path / "runs.db")
    record = RunRecord(kind="train", dataset="d", dataset_fingerprint="f", model="tiny", seed=0, split="train")
    store.db["runs"].update(store.start(record), {"pid": 2**22 + 1})  # above pid_max: never a live process
    assert main(["runs", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["status"] == "running (dead pid)"
    assert store.runs()[0]["status"] == "running"
    store.start(record)  # the next run of any writer (train, evaluate, experiment, baseline)
    assert [r["status"] for r in store.runs()] == ["failed", "running"]


# --- igd app -------------------------------------------------------------------------------

def _serving(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_app_stops_streamlit_when_terminated(tmp_path):
    """`igd app` runs streamlit as a child: SIGTERM to igd (`docker stop`, test harnesses) must
    stop the server too. It used to keep serving after igd had exited."""
    from fruits import write_dataset

    data = write_dataset(tmp_path / "fruits")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    igd = subprocess.Popen([sys.executable, "-m", "igd", "app", "--port", str(port), "--data", str(data),
                            "--models", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not _serving(port) and igd.poll() is None and time.time() < deadline:
            time.sleep(0.3)
        assert _serving(port), f"igd app never served port {port} (exit code {igd.poll()})"
        igd.terminate()
        assert igd.wait(timeout=30) == 0  # streamlit's own clean exit, passed through
        assert not _serving(port), "streamlit still serves after igd app was terminated"
    finally:
        igd.kill()


# --- documentation -----------------------------------------------------------------------

@pytest.mark.parametrize("path", LEAVES, ids=lambda p: " ".join(("igd",) + p))
def test_every_command_is_in_the_readme(path):
    readme = REPO / "README.md"
    assert f"igd {' '.join(path)}" in readme.read_text(encoding="utf-8")
