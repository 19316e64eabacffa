"""End-to-end on semantic IDs (fruit catalogue, random codes, char tokenizer, a few steps):
`igd train --items sid` with the multi-target loss logs s and w per logging step, `igd evaluate`
decodes IDs on the trie and stores head/tail metrics, `igd experiment` runs SID and title arms
side by side, and `igd stats --items sid` gives the zero-IG share of code tokens."""

import json
import math

import pytest

from fruits import TINY, write_dataset
from igd.checkpoint import load_checkpoint
from igd.cli import main
from igd.data import load_dataset
from igd.sid_build import SidConfig, build_sids
from igd.store import RunStore


@pytest.fixture
def sid_data(tmp_path):
    data = write_dataset(tmp_path / "fruits")
    build_sids(SidConfig(str(data), str(tmp_path / "sid"), levels=2, codes=256, method="random"))
    return tmp_path, data, tmp_path / "sid"


def test_mtl_curriculum_logs_task_weights_and_evaluation_stores_head_and_tail(sid_data, capsys):
    root, _, sid = sid_data
    db, ck = str(root / "runs.db"), str(root / "ck")
    assert main(["train", "--data", str(sid), "--out", ck, "--items", "sid", "--method", "mtl-curriculum",
                 "--pace-c", "0.05", "--epochs", "1", "--db", db, *TINY]) == 0
    store = RunStore(db)
    [run] = store.runs(kind="train")
    by_step: dict[int, dict] = {}
    for row in store.train_log(run["id"]):  # long format: one row per (step, name)
        by_step.setdefault(row["step"], {})[row["name"]] = row["value"]
    logged = [v for _, v in sorted(by_step.items()) if "w_frequency" in v]
    assert len(logged) >= 3  # every logging step (2) of the ~17 steps
    w = [v["w_frequency"] for v in logged]
    assert w == sorted(w) and 0 < w[0] < w[-1]  # the pace moves weight to Frequency
    assert all(abs(sum(v[f"w_{t}"] for t in ("ce", "front_greater", "frequency")) - 1) < 1e-3 for v in logged)
    assert all(f"s_{t}" in v for v in logged for t in ("ce", "front_greater", "frequency"))
    assert run["metrics"]["w_frequency"] == pytest.approx(w[-1], abs=0.05)
    assert "pace_c" in run["metrics"] and run["metrics"]["pace_c"] == 0.05
    assert main(["evaluate", "--checkpoint", ck, "--data", str(sid), "--decoding", "d3", "--db", db]) == 0
    [ev] = store.runs(kind="eval")
    assert ev["arm"] == "sid_mtl_curriculum" and ev["config"]["items"] == "sid"
    m = ev["metrics"]
    assert m["users_head"] + m["users_tail"] == m["users"] and "hr@10_head" in m
    ids = set(load_dataset(sid, items="sid").catalogue.titles)
    assert all(item in ids for p in store.predictions(ev["id"]) for item in p["items"])  # IDs, on the trie
    capsys.readouterr()  # the CLI takes titles and shows "title · ID", the token path by code
    assert main(["recommend", "--checkpoint", ck, "--data", str(sid), "--history", "apple", "banana",
                 "--beams", "4", "--explain"]) == 0
    out = capsys.readouterr().out
    listed = [line for line in out.splitlines() if " · <a_" in line]
    assert len(listed) == 4 and "'<a_" in out and "'<b_" in out


def test_sid_items_need_semantic_ids_and_sid_methods_need_sid_items(sid_data, capsys):
    root, data, sid = sid_data
    assert main(["train", "--data", str(data), "--out", str(root / "o"), "--items", "sid", "--db", "", *TINY]) == 2
    assert "has no semantic IDs" in capsys.readouterr().err
    assert main(["train", "--data", str(sid), "--out", str(root / "o"), "--method", "frequency", "--db", "", *TINY]) == 2
    assert "--items sid" in capsys.readouterr().err


def test_experiment_runs_sid_and_title_arms_and_stats_count_code_tokens(sid_data, capsys):
    root, _, sid = sid_data
    db = str(root / "x.db")
    assert main(["experiment", "--data", str(sid), "--methods", "d3,sid_ce,sid_frequency", "--seeds", "0",
                 "--out-dir", str(root / "ckpts"), "--max-steps", "4", "--db", db, *TINY]) == 0
    store = RunStore(db)
    assert sorted(r["arm"] for r in store.runs(kind="eval")) == ["d3", "sid_ce", "sid_frequency"]
    assert all(r["beta"] is None for r in store.runs())  # no arm here takes beta
    folders = sorted(p.name for p in (root / "ckpts" / "sid" / "tiny").iterdir())
    assert folders == ["sft-seed0", "sid-frequency-seed0", "sid-sft-seed0"]
    control = root / "sid-random"  # the random-code control: another folder, same rows and users
    build_sids(SidConfig(str(root / "fruits"), str(control), levels=2, codes=256, method="random", seed=1))
    assert main(["experiment", "--data", str(control), "--methods", "sid_ce", "--seeds", "0",
                 "--out-dir", str(root / "ckpts"), "--max-steps", "4", "--db", db, *TINY]) == 0
    # titles beside the history IDs: their own checkpoint folder, report row and paired test
    assert main(["experiment", "--data", str(sid), "--methods", "sid_ce", "--seeds", "0", "--history-titles",
                 "--out-dir", str(root / "ckpts"), "--max-steps", "4", "--db", db, *TINY]) == 0
    titled = root / "ckpts" / "sid" / "tiny" / "sid-titled-sft-seed0"
    ck = load_checkpoint(titled)
    names = load_dataset(sid, items="sid").catalogue
    assert ck.template.names == dict(zip(names.titles, names.names))  # saved with the checkpoint
    assert f'{names.titles[0]} "{names.names[0]}"' in ck.template.prompt([names.titles[0]])
    assert main(["report", "--db", db, "--out", str(root / "R.md")]) == 0
    report = (root / "R.md").read_text()
    assert "| SID, cross-entropy (IDs, history with titles, sid) | 0 |" in report
    assert "| SID, cross-entropy (IDs, history with titles, sid) | SID, cross-entropy (IDs, sid) | HR@10 |" in report
    assert "| SID, cross-entropy (IDs, sid) | 0 |" in report and "| D3 (titles, sid) | 0 |" in report
    assert "| SID, cross-entropy (random codes, sid-random) | 0 |" in report
    # paired rows: Frequency against SID CE, SID CE against the control and against title D3
    assert "| SID, Frequency (IDs, sid) | SID, cross-entropy (IDs, sid) | HR@10 | 1 |" in report
    assert "| SID, cross-entropy (IDs, sid) | SID, cross-entropy (random codes, sid-random) | HR@10 |" in report
    assert "| SID, cross-entropy (IDs, sid) | D3 (titles, sid) | NDCG@10 |" in report
    assert "| sid | sid | 13 | 4.00 |" in report  # Table 1 analogue: 2 levels + unique level + EOS
    capsys.readouterr()
    assert main(["stats", "--data", str(sid), "--items", "sid", "--tokenizer", "char", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["target_tokens"] == 4 * stats["train_rows"]  # codes + EOS per target


def test_pace_auto_ends_the_curriculum_at_the_last_step(sid_data):
    root, _, sid = sid_data
    db = str(root / "auto.db")
    assert main(["train", "--data", str(sid), "--out", str(root / "auto"), "--items", "sid", "--method",
                 "mtl-curriculum", "--pace-c", "auto", "--max-steps", "8", "--db", db, *TINY]) == 0
    [run] = RunStore(db).runs(kind="train")
    m = run["metrics"]
    assert run["config"]["pace_c"] == "auto" and m["steps"] == 8
    assert m["pace_c"] == pytest.approx(math.log(20) / 8) and m["pace_frequency"] == pytest.approx(0.95)
