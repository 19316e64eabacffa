"""`igd report` on a hand-built run store: mean ± std over seeds, the paired sign test and
bootstrap interval, the paper's numbers beside ours, and byte-identical regeneration."""

import math
from pathlib import Path

import pytest

from igd import report_data as rd
from igd import report_paper as rp
from igd.report import build_report, training_times
from igd.store import RunRecord, RunStore

USERS = 6


def ranks_row(ranks):
    def items(rank):  # the target at its rank among 11 titles
        titles = [f"x{k}" for k in range(11)]
        if rank is not None:
            titles[rank - 1] = "t"
        return titles

    return [{"user_index": i, "user_id": f"u{i}", "target_title": "t", "rank": r, "items": items(r),
             "scores": [0.0] * 11} for i, r in enumerate(ranks)]


def add_eval(store: RunStore, arm: str, seed: int, ranks, decoding: str, train: str, alpha=None, fwr=0.2, ise=3.0,
             measure: str | None = None, split: str = "test", checkpoint_hash: str | None = None):
    config = ({} if measure is None else {"decisiveness": measure}) | (
        {} if checkpoint_hash is None else {"checkpoint_hash": checkpoint_hash})
    run = store.start(RunRecord(kind="eval", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=seed,
                                split=split, train_method=train, decoding=decoding, alpha=alpha, arm=arm,
                                beta=None if train == "sft" else 0.2, config=config))
    hr10 = sum(r is not None and r <= 10 for r in ranks) / len(ranks)
    ndcg10 = sum(1 / math.log2(r + 1) for r in ranks if r is not None and r <= 10) / len(ranks)
    analyses = {"h_pred@1": 1.2, "h_pred@2": 0.6, "h_truth@1": 1.0, "h_truth@2": 0.8, "n_pred@1": 60,
                "n_pred@2": 60, "n_truth@1": 6, "n_truth@2": 6, "iglogp_n@0": 40, "iglogp_mean@0": -0.2,
                "iglogp_n@(0.1,1]": 20, "iglogp_mean@(0.1,1]": -2.5}
    store.complete(run, {"hr@5": hr10, "hr@10": hr10, "ndcg@5": ndcg10, "ndcg@10": ndcg10, "fwr": fwr, "ise": ise,
                         **analyses}, ranks_row(ranks))
    return run


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.db")
    # D3 hits users 0 and 1; D3+IGD hits users 0, 1, 2, 3 (seed 0) and 0, 1, 2 (seed 1)
    add_eval(s, "d3", 0, [1, 3, None, None, None, None], "d3", "sft")
    add_eval(s, "d3", 1, [1, 3, None, None, None, None], "d3", "sft")
    add_eval(s, "igd", 0, [1, 3, 2, 5, None, None], "igd", "igd", alpha=0.2, fwr=0.1, ise=3.1)
    add_eval(s, "igd", 1, [1, 3, 2, None, None, None], "igd", "igd", alpha=0.2, fwr=0.1, ise=3.1)
    return s


def test_mean_and_std_over_seeds_by_hand(store):
    runs = rd.test_runs(store.runs(), "toy")
    table = {r["arm"]: r for r in rd.arm_table(runs, ["d3", "igd"], ("hr@10",))}
    assert table["d3"]["cells"]["hr@10"] == rd.Cell(2 / 6, 0.0, 2)
    igd = table["igd"]["cells"]["hr@10"]  # 4/6 and 3/6: mean 7/12, sample std |4/6 - 3/6| / sqrt 2
    assert igd.mean == pytest.approx(7 / 12) and igd.std == pytest.approx((1 / 6) / math.sqrt(2)) and igd.n == 2


def test_paired_sign_test_and_bootstrap_by_hand(store):
    runs = rd.test_runs(store.runs(), "toy")
    preds = {arm: {s: store.predictions(r["id"]) for s, r in runs[arm].items()} for arm in ("d3", "igd")}
    t = rd.paired(preds["d3"], preds["igd"], "hr@10")
    # per-user mean over 2 seeds, IGD - D3: users 2 (+1), 3 (+0.5); nobody worse
    assert (t["wins"], t["losses"], t["users"]) == (2, 0, USERS)
    assert t["p_sign"] == pytest.approx(0.5)  # two-sided binomial, 2 of 2: 2 * 0.5**2
    assert t["base"] == pytest.approx(2 / 6) and t["arm"] == pytest.approx(3.5 / 6)
    assert t["relative"] == pytest.approx(0.75)
    assert 0 <= t["ci_low"] <= 1.5 / 6 <= t["ci_high"] <= 1.5 / 2  # the mean difference 0.25 inside


def test_ndcg_per_user_from_ranks():
    values = rd.row_values(ranks_row([1, 3, None, 11]), "ndcg@10")
    assert values == {0: 1.0, 1: 0.5, 2: 0.0, 3: 0.0}  # 1/log2(4) = 0.5; rank 11 is outside the top 10


def test_the_report_reads_the_papers_numbers(tmp_path):
    paper = rp.paper_numbers()
    assert len([r for r in paper if r["kind"] in ("value", "improvement")]) == 428  # every cell of the paper's tables
    # Table 2's range over its printed improvement cells: +4.34% (Toys BIGRec NDCG@5) ... +41.3% (Books BIGRec NDCG@5)
    assert rp.paper_range(paper, "Table 2", "relative_improvement") == (0.0434, 0.413)
    printed = [r["value"] for r in paper if r["table"] == "Table 2" and r["kind"] == "improvement"]
    assert (min(printed), max(printed)) == (0.0434, 0.413)
    assert rp.paper_value(paper, "CDs", "d3", "hr@10") == 0.1040  # Table 2, D3 on CDs
    assert rp.paper_value(paper, "Toys", "igd", "hr@10") == 0.1082  # lost in Table 2: Table 3's IGD row
    assert rp.paper_improvement(paper, "CDs", "d3", "igd", "hr@10") == (0.05, "printed")  # +5.00%
    assert rp.paper_dataset("CDs_and_Vinyl") == "CDs" and rp.paper_dataset("cds-small") is None
    with pytest.raises(ValueError, match="columns must be"):
        rp.paper_numbers("table,value\nTable 2,1\n")
    with pytest.raises(ValueError, match="row 2: value 'x'"):
        rp.paper_numbers(",".join(rp.PAPER_COLUMNS) + "\nT,d,b,m,a,hr@10,value,x,src\n")


def test_report_tables_and_byte_identical_regeneration(store, tmp_path):
    out = tmp_path / "docs" / "REPORT.md"
    out.parent.mkdir()
    files = build_report(store, out)
    text = out.read_text()
    assert "| D3 | 2 | .3333 ± .0000 |" in text  # HR@5 column, mean ± std over 2 seeds
    assert "+4.3% … +41.3%" in text  # the paper's range over its Table 2 cells, from igd/paper_numbers.csv
    # 6 test rows of 6 users; per seed (4 - 2) / 6 and (3 - 2) / 6; Holm over the HR and NDCG tests
    # (0.5 each: 0.5 x 2 -> 1); users 2 and 3 got other lists in seed 0, user 2 in seed 1: 9 of 12
    # (row, seed) pairs and 4 of 6 users keep one top-10 set
    assert ("| D3 + IGD (IGD-Tuning + IGD-Decoding) vs D3 | HR@10 | 2 | 6 | 6 | 0.3333 | 0.5833 | +75.0% | "
            "+0.3333 +0.1667 | 2/0 | 0.5 | 1 | [+0.0000, +0.5833] | 75% of rows (4/6 users) |") in text
    assert sorted(f.name for f in files[1:]) == ["toy-entropy-gap.svg", "toy-ig-logp.svg"]  # Fig. 3 and 4
    assert "![Fig. 3: prefix entropy per decoding step" in text
    first = {f: f.read_bytes() for f in files}
    again = build_report(store, out)
    assert again == files and {f: f.read_bytes() for f in again} == first


def test_igd_report_cli_writes_what_build_report_writes(store, tmp_path, capsys):
    from igd.cli import main

    db = tmp_path / "runs.db"
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "a" / "REPORT.md")]) == 0
    assert "wrote" in capsys.readouterr().out
    text = (tmp_path / "a" / "REPORT.md").read_text()
    assert f"`igd report --db {db} --out {tmp_path / 'a' / 'REPORT.md'}`" in text  # how to regenerate it
    assert main(["report", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "b.md")]) == 2
    assert "no run store there" in capsys.readouterr().err
    assert main(["report", "--db", str(db), "--out", str(tmp_path / "b.txt")]) == 2
    assert "not a Markdown file name" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["REPORT", "SID_REPORT"])
def test_the_committed_report_regenerates_byte_for_byte(tmp_path, monkeypatch, name):
    """docs/REPORT.md (issue 12's study) and docs/SID_REPORT.md (issue 13's) name the command
    that made them: run it again into a temporary folder."""
    import re
    import shlex

    from igd.cli import main

    repo = Path(__file__).resolve().parents[1]
    committed = repo / "docs" / f"{name}.md"
    command = re.search(r"Generated by `(igd report [^`]+)`", committed.read_text()).group(1)
    args = shlex.split(command)[1:]
    args[args.index("--out") + 1] = str(tmp_path / f"{name}.md")
    monkeypatch.chdir(repo)  # the store path is relative to the repository
    assert main(args) == 0
    fresh = (tmp_path / f"{name}.md").read_text().replace(str(tmp_path / f"{name}.md"), f"docs/{name}.md")
    assert fresh == committed.read_text()
    figures = sorted((repo / "docs" / f"{name}-figures").glob("*.svg"))
    assert [f.name for f in figures] == sorted(f.name for f in (tmp_path / f"{name}-figures").glob("*.svg"))
    assert figures or name == "SID_REPORT"  # the SID report has tables only
    for f in figures:
        assert (tmp_path / f"{name}-figures" / f.name).read_bytes() == f.read_bytes(), f.name


def test_another_decisiveness_measure_gets_its_own_rows(store, tmp_path):
    add_eval(store, "igd", 0, [None] * 6, "igd", "igd", alpha=0.2, measure="gini")  # later than the IG runs
    runs = rd.test_runs(store.runs(), "toy")
    assert rd.arm_table(runs, ["igd"], ("hr@10",))[0]["cells"]["hr@10"].mean == pytest.approx(7 / 12)  # IG only
    assert rd.measures(store.runs(), "toy") == ["ig", "gini"]
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "| gini | D3 + IGD (IGD-Tuning + IGD-Decoding) | 1 | .0000 | .0000 |" in text
    assert "| ig | D3 + IGD (IGD-Tuning + IGD-Decoding) | 2 |" in text


def test_a_store_without_per_user_predictions_compares_means_only(tmp_path):
    s = RunStore(tmp_path / "bare.db")
    for arm, train, decoding, hr in (("d3", "sft", "d3", 0.1), ("igd", "igd", "igd", 0.12)):
        run = s.start(RunRecord(kind="eval", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=0,
                                split="test", train_method=train, decoding=decoding, arm=arm,
                                alpha=0.2 if decoding == "igd" else None, beta=0.2 if train == "igd" else None))
        s.complete(run, {"hr@10": hr, "ndcg@10": hr / 2})  # no predictions, as the demo store
    rows = rd.improvement_rows(s.predictions, rd.test_runs(s.runs(), "toy"))
    assert [(r["metric"], r["users"], r["p_sign"]) for r in rows] == [("hr@10", 0, None), ("ndcg@10", 0, None)]
    assert rows[0]["relative"] == pytest.approx(0.2)
    build_report(s, tmp_path / "REPORT.md")
    assert ("| HR@10 | 1 | no per-user ranks stored | – | 0.1000 | 0.1200 | +20.0% | – | – | – | – | – | "
            "lists not kept |") in (tmp_path / "REPORT.md").read_text()


def test_table1_comes_from_the_stored_training_run(store, tmp_path):
    run = store.start(RunRecord(kind="train", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=0,
                                split="train", train_method="sft"))
    store.complete(run, {"t1_items": 1682, "t1_train_rows": 78668, "t1_target_tokens": 700000,
                         "t1_zero_ig_tokens": 585000, "t1_zero_ig_share": 585000 / 700000, "t1_root_entropy": 6.68})
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "| 1,682 | 78,668 | 700,000 | 585,000 | 83.6% | 6.680 |" in text
    assert "(the paper, Qwen2.5 tokenizer: CDs 56.0%, Games 60.7%, Toys 71.8%, Books 73.0%)" in text


def test_table7_and_fig3_use_the_alpha_selection_runs(store, tmp_path):
    for alpha, fwr, ise in ((0.1, 0.3, 3.0), (0.3, 0.2, 3.2)):  # what selecting alpha on valid stores
        add_eval(store, "igd", 0, [1, None, None, None, None, None], "igd", "igd", alpha=alpha, fwr=fwr, ise=ise,
                 split="valid")
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "Valid split (the runs that selected α)" in text
    assert "| D3 + IGD (IGD-Tuning + IGD-Decoding) | 0.1 | 1 | .3000 | 3.000 |" in text
    assert "| D3 + IGD (IGD-Tuning + IGD-Decoding) | 0.3 | 1 | .2000 | 3.200 |" in text
    assert "top-10 vs ground truth (validation, per α)" in text


def test_training_times_give_wall_clock_and_cpu_where_recorded(store):
    """Two trainings, one from code that recorded no CPU time: hours summed by hand."""
    old = store.start(RunRecord(kind="train", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=0,
                                split="train", train_method="sft"))
    store.complete(old, {"train_seconds": 1800.0})
    new = store.start(RunRecord(kind="train", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=1,
                                split="train", train_method="igd", beta=0.2))
    store.complete(new, {"train_seconds": 3600.0, "cpu_seconds": 5400.0})
    linear = store.start(RunRecord(kind="train", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=1,
                                   split="train", train_method="igd", beta=0.2, config={"igd_weighting": "linear"}))
    store.complete(linear, {"train_seconds": 600.0})
    lines = training_times(store.runs(), "toy")
    # wall: 1800 + 3600 + 600 s = 1.67 h of training; the fixture's four evaluations stored no seconds
    assert lines[2] == ("Wall-clock time recorded in the store for this dataset: 1.7 h of training and 0.0 h of "
                        "evaluation (both on the machines named below, often sharing them). CPU time (all threads) "
                        "recorded by 1 of those 7 runs: 1.5 h.")
    assert lines[6].startswith("| sft | – | 0 | 30.0 | – | ")
    assert lines[7].startswith("| igd (binary) | 0.2 | 1 | 60.0 | 90.0 | ")  # no weighting recorded: binary
    assert lines[8].startswith("| igd (linear) | 0.2 | 1 | 10.0 | – | ")


def test_the_entropy_gap_in_numbers_by_hand(store, tmp_path):
    """The fixture's runs: H truth 1.0, 0.8 and H top-10 1.2, 0.6 at steps 1, 2: gaps −0.2, +0.2."""
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "| decoding | step 1 | step 2 | step 3 | step 4 | step 5 | mean, steps 1–5 |" in text
    assert "| D3 (run 1) | -0.200 | +0.200 | – | – | – | +0.000 |" in text


def test_table7_trend_is_spearman_over_alpha_by_hand(store, tmp_path):
    """Three α of the IGD arm on validation: FWR .3, .2, .25 and ISE 3.0, 3.1, 3.2 at α .1, .2, .3.
    Ranks of FWR 3, 1, 2 against 1, 2, 3: ρ = 1 − 6·(4 + 1 + 1)/(3·8) = −0.5; ISE in order: ρ = 1."""
    for alpha, fwr, ise in ((0.1, 0.3, 3.0), (0.2, 0.2, 3.1), (0.3, 0.25, 3.2)):
        add_eval(store, "igd", 0, [1, None, None, None, None, None], "igd", "igd", alpha=alpha, fwr=fwr, ise=ise,
                 split="valid")
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "| D3 + IGD (IGD-Tuning + IGD-Decoding) | 0.1, 0.2, 0.3 | -0.50 | +1.00 |" in text
    assert "| D3 |" not in text.split("ρ(α, FWR)")[1].split("###")[0]  # one α (none): no trend row


def test_the_report_ends_with_the_studys_compute_by_hand(store, tmp_path):
    """The fixture's four evaluations (no seconds) and one training of 1,800 s wall, 3,600 s CPU."""
    run = store.start(RunRecord(kind="train", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=0,
                                split="train", train_method="sft"))
    store.complete(run, {"train_seconds": 1800.0, "cpu_seconds": 3600.0})
    build_report(store, tmp_path / "REPORT.md")
    assert ("5 complete training and evaluation runs in this report's stores: 0.5 h of wall-clock time; 1 of "
            "them recorded their CPU time, 1.0 h.") in (tmp_path / "REPORT.md").read_text()


def test_the_report_says_when_lists_are_the_same_evidence_or_checkpoints_differ(tmp_path):
    s = RunStore(tmp_path / "runs.db")
    ranks, better = [1, 3, None, None, None, None], [1, 3, 2, None, None, None]
    add_eval(s, "d3", 0, ranks, "d3", "sft", checkpoint_hash="a" * 64)
    add_eval(s, "bigrec", 0, ranks, "bigrec", "sft", checkpoint_hash="a" * 64)  # ranks_row: the same lists
    add_eval(s, "igd_d", 0, better, "igd", "sft", alpha=0.2, checkpoint_hash="b" * 64)  # a retrained SFT
    add_eval(s, "igd", 0, better, "igd", "igd", alpha=0.2)
    add_eval(s, "bigrec_igd", 0, better, "bigrec_igd", "igd", alpha=0.2)
    rows = rd.improvement_rows(s.predictions, rd.test_runs(s.runs(), "toy"))
    by = {(r["base_arm"], r["igd_arm"], r["metric"]): r for r in rows}
    assert by[("d3", "bigrec", "hr@10")]["identical"] == {"rows": 6, "same_rows": 6, "users": 6, "same_users": 6,
                                                         "seeds": [0]}
    again = by[("bigrec", "bigrec_igd", "hr@10")]
    assert rows[again["same_as"]] is by[("d3", "igd", "hr@10")]  # BIGRec's ranks are D3's: no new evidence
    assert by[("d3", "igd_d", "hr@10")]["same_checkpoint"] == {0: False}
    assert by[("d3", "bigrec", "hr@10")]["same_checkpoint"] == {0: True}
    assert by[("d3", "igd", "hr@10")]["same_checkpoint"] is None  # trained apart by design
    build_report(s, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "| BIGRec vs D3 | HR@10 | 1 | 6 | 6 |" in text and "| 100% of rows (6/6 users) |" in text
    assert ("- BIGRec + IGD vs BIGRec, HR@10: the same per-row differences as D3 + IGD (IGD-Tuning + "
            "IGD-Decoding) vs D3") in text
    assert "- IGD-Decoding only (SFT checkpoint) vs D3: seed(s) 0 decoded different checkpoints" in text


def test_on_the_papers_dataset_the_papers_cells_stand_beside_ours(store, tmp_path):
    store.db.execute("UPDATE runs SET dataset = 'CDs'")
    store.db.conn.commit()
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    # Table 2: D3 on CDs, HR@10 .1040 and NDCG@10 .0767 (the paper's Table 2)
    assert "| paper HR@10 | paper NDCG@10 |" in text and "| .2000 ± .0000 | 3.0000 ± .0000 | 0.1040 | 0.0767 |" in text
    # IGD over D3 on CDs as the paper prints it: HR@10 +5.0%, NDCG@10 +4.4%
    assert "| paper (CDs) |" in text and "[+0.0000, +0.5833] | 75% of rows (4/6 users) | +5.0% |" in text
    assert "For scale, not as a target" not in text  # that table is for data that is not the paper's


def test_on_other_data_the_papers_improvements_are_labelled_as_its_own(store, tmp_path):
    build_report(store, tmp_path / "REPORT.md")
    text = (tmp_path / "REPORT.md").read_text()
    assert "For scale, not as a target: the paper's improvements on its own data (Qwen2.5-1.5B" in text
    assert "| CDs | +5.0% | +4.4% | +9.0% | +7.8% |" in text  # printed cells of its Table 2
    assert "| Toys | +5.2%* | +4.0%* | +6.6% | +5.3% |" in text  # D3 + IGD on Toys: from its Table 3 rows (lost in Table 2)


def test_a_curriculum_with_another_pace_is_its_own_row_paired_with_ce_and_the_authors_pace(tmp_path):
    from igd.report_sid import sid_sections

    s = RunStore(tmp_path / "sid.db")
    ranks = {"sid_ce": [1, None, None, 2], "sid_mtl_curriculum": [1, 2, None, None]}
    for arm, method, pace_c, r in (("sid_ce", "sft", 2e-5, ranks["sid_ce"]),
                                   ("sid_mtl_curriculum", "mtl-curriculum", 2e-5, ranks["sid_mtl_curriculum"]),
                                   ("sid_mtl_curriculum", "mtl-curriculum", "auto", [1, 2, 3, 4])):
        run = s.start(RunRecord(kind="eval", dataset="ml-sid", dataset_fingerprint="fp", model="tiny", seed=0,
                                split="test", train_method=method, decoding="d3", arm=arm,
                                config={"items": "sid", "train_config": {"method": method, "pace_c": pace_c}}))
        s.complete(run, {"hr@10": 0.5, "ndcg@10": 0.3}, ranks_row(r))
    train = s.start(RunRecord(kind="train", dataset="ml-sid", dataset_fingerprint="fp", model="tiny", seed=0,
                              split="train", train_method="mtl-curriculum", config={"pace_c": "auto"}))
    s.complete(train, {"w_ce": 0.1, "w_front_greater": 0.1, "w_frequency": 0.8, "s_ce": 0.0, "s_front_greater": 0.0,
                       "s_frequency": 0.0, "steps": 8, "pace_c": math.log(20) / 8, "pace_frequency": 0.95})
    text = "\n".join(sid_sections(s, s.runs()))
    auto = "SID, multi-target + curriculum, pace c = ln 20 / the run's steps (IDs, ml-sid)"
    assert f"| {auto} | 0 |" in text  # its own row (seed 0), beside the authors' pace
    assert "| SID, multi-target + curriculum (IDs, ml-sid) | 0 |" in text
    assert f"| {auto} | SID, cross-entropy (IDs, ml-sid) | HR@10 |" in text
    assert f"| {auto} | SID, multi-target + curriculum (IDs, ml-sid) | HR@10 |" in text
    assert "| ml-sid | mtl-curriculum | 0 | 0.100 (s +0.000) | 0.100 (s +0.000) | 0.800 (s +0.000) | 0.374 | 0.950 |" in text


def test_the_protocol_table_reads_the_runs_records_and_names_the_departures(tmp_path):
    from igd.report_protocol import protocol_table

    s = RunStore(tmp_path / "p.db")
    tc = {"model": "tiny", "epochs": 1, "patience": 1, "batch_size": 32, "grad_accum": 2, "preamble": None,
          "style": "plain", "eval_loss": "ce", "tiny": {"layers": 2, "hidden_size": 128}}
    for seed, split in ((0, "valid"), (0, "test"), (1, "test")):
        run = s.start(RunRecord(kind="eval", dataset="toy", dataset_fingerprint="fp", model="tiny", seed=seed,
                                split=split, train_method="sft", decoding="d3", arm="d3",
                                config={"train_config": tc, "beam_stop": "fast", "unseen": "excluded", "num_beams": 10,
                                        "max_users": 1000 if split == "valid" else None}))
        s.complete(run, {"hr@10": 0.5}, [{**p, "user_id": "u0" if p["user_index"] < 4 else "u1"}
                                          for p in ranks_row([1, None, 2, None, 3, None])])
    text = "\n".join(protocol_table(s.runs(), "toy", s.predictions))
    for row in ("| model | tiny: 2 layers, hidden 128, trained from scratch |", "| epochs (early-stopping patience) | 1 (1) |",
                "| learning rate | 1e-3 | 1e-4 |", "| batch (× gradient accumulation) | 32 × 2 |",
                "| prompt | short, plain titles |", "| unseen items | excluded | excluded |",
                "| test rows / users | 6 rows of 2 users |", "| test seeds | 0, 1 |",
                "| β, α selection | on validation, seed 0, 1,000 rows; reused for the other seeds |"):
        assert row in text, row
    # the official prompt, training loss and beam stop are --protocol paper's; unseen matches it here
    assert "Departs from `--protocol paper` in: prompt, early-stopping loss, beam stop;" in text
