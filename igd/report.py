"""`igd report --db RUNS.db --out docs/REPORT.md`: the paper's tables and figures recomputed from
a run store, beside the paper's published numbers (igd/paper_numbers.csv).

Everything comes from the store (metrics, per-user ranks, training logs, the versions and
machine each run recorded), sorted, with no clock or machine of the reader in it: the same
store gives the same bytes (figures are SVG text, igd.report_figures). Tables and tests:
igd.report_data.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Mapping, Sequence

from igd import report_data as rd
from igd import report_paper as rp
from igd import report_figures as figs
from igd.analysis import IG_BINS
from igd import report_sid
from igd.report_paired import improvements, md_table as _table, pct as _pct
from igd.config import ARMS, VALIDATION_SPLITS
from igd.report_output import check_output, figures_dir, linked_figures
from igd.report_protocol import protocol_table
from igd.store import decisiveness_of

TABLE2_METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10", "fwr", "ise")
NAMES = {"hr@5": "HR@5", "hr@10": "HR@10", "ndcg@5": "NDCG@5", "ndcg@10": "NDCG@10", "fwr": "FWR",
         "ise": "ISE (bits)"}


def _paper_range(paper: Sequence[Mapping], table: str, metric: str, pct: bool = False) -> str:
    found = rp.paper_range(paper, table, metric)
    if found is None:
        return "–"
    return f"{_pct(found[0])} … {_pct(found[1])}" if pct else f"{found[0]:g} … {found[1]:g}"


def _arm_rows(table: list[dict], metrics: Sequence[str]) -> list[list[str]]:
    return [[r["label"], str(len(r["seeds"])), *(r["cells"][m].text() if m in r["cells"] else "–" for m in metrics)]
            for r in table]


def table1(rows: Sequence[Mapping], dataset: str, paper) -> list[str]:
    """The training set's Table 1 figures, as `igd train` stored them with its run (`t1_*`)."""
    trains = [r for r in rows if r["kind"] == "train" and r["status"] == "complete" and r["dataset"] == dataset
              and "t1_zero_ig_share" in r["metrics"]]
    if not trains:
        return []
    m = trains[-1]["metrics"]
    return ["### Table 1 analogue: the training set", "",
            f"Target tokens over the training rows and the share with zero IG (the paper, Qwen2.5 tokenizer: "
            f"{_paper_shares(paper)}); the "
            f"`{trains[-1]['model']}` model's tokenizer.", ""] + _table(
        ["items", "training rows", "target tokens", "zero-IG tokens", "zero-IG share", "H(root) (nats)"],
        [[f"{m['t1_items']:,.0f}", f"{m['t1_train_rows']:,.0f}", f"{m['t1_target_tokens']:,.0f}",
          f"{m['t1_zero_ig_tokens']:,.0f}", f"{100 * m['t1_zero_ig_share']:.1f}%", f"{m['t1_root_entropy']:.3f}"]])


def _paper_shares(paper) -> str:
    """The paper's Table 1 zero-IG share per dataset."""
    return ", ".join(f"{d} {100 * v:.1f}%" for d in rp.PAPER_DATASETS
                     if (v := rp.paper_value(paper, d, "", "zero_ig_share", ("Table 1",))) is not None)


def table2(runs, paper, dataset: str) -> list[str]:
    table = rd.arm_table(runs, list(ARMS), TABLE2_METRICS)
    lines = ["### Table 2 analogue: every method", "",
             "Test split; mean ± sample std over seeds (no ± for one seed). FWR: share of the most "
             "frequent first token in a top-10 list (lower = more diverse); ISE: entropy of the "
             "softmax of the top-10 scores, bits.", ""]
    rows, header = _arm_rows(table, TABLE2_METRICS), ["method", "seeds", *(NAMES[m] for m in TABLE2_METRICS)]
    if (theirs := rp.paper_dataset(dataset)) is not None:  # the paper's data: its cell beside ours
        lines[-2] += f" The paper's columns: its Table 2 (Table 3 where Table 2 lost the cell) on {theirs}, Qwen2.5-1.5B."
        header += ["paper HR@10", "paper NDCG@10"]
        for row, r in zip(rows, table):
            row += [_num(rp.paper_value(paper, theirs, r["arm"], m)) for m in ("hr@10", "ndcg@10")]
    return lines + _table(header, rows)


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def table3(runs) -> list[str]:
    table = rd.arm_table(runs, rd.ABLATION, ("hr@10", "ndcg@10"))
    if not table:
        return []
    base = next((r for r in table if r["arm"] == "d3"), None)
    rows = []
    for r in table:
        rel = [(_pct(r["cells"][m].mean / base["cells"][m].mean - 1) if base and m in base["cells"] else "–")
               for m in ("hr@10", "ndcg@10")]
        rows.append(_arm_rows([r], ("hr@10", "ndcg@10"))[0] + rel)
    return ["### Table 3 analogue: ablation", ""] + _table(
        ["arm", "seeds", "HR@10", "NDCG@10", "HR@10 vs D3", "NDCG@10 vs D3"], rows)


def alpha_sweep(rows: Sequence[Mapping], dataset: str) -> tuple[str, list[Mapping]]:
    """The evaluations that vary alpha: the validation runs that selected it (seed 0's, with the
    paper's measure) when they cover several alphas, else the test runs. Returns (split, runs)."""
    def pick(*splits: str) -> list[Mapping]:
        return [r for r in rows if r["status"] == "complete" and r["split"] in splits and r["dataset"] == dataset
                and r["kind"] == "eval" and "fwr" in r["metrics"] and (decisiveness_of(r) or "ig") == "ig"]

    valid = pick(*VALIDATION_SPLITS)  # the holdout of valid.csv with --train-on-valid
    if len({(r.get("arm"), r["alpha"]) for r in valid if r["alpha"] is not None}) > 1:
        return "valid", valid
    return "test", pick("test")


def table7(rows: Sequence[Mapping], dataset: str, paper) -> list[str]:
    """FWR and ISE by arm and alpha (alpha 0 or none: the decoding without step weights)."""
    split, runs = alpha_sweep(rows, dataset)
    latest: dict[tuple, Mapping] = {}  # per arm, alpha and seed its latest run (a re-run replaces)
    for r in sorted(runs, key=lambda r: r["id"]):
        latest[(r.get("arm") or "?", r["alpha"] or 0.0, r["seed"])] = r
    groups: dict[tuple, list[Mapping]] = defaultdict(list)
    for (arm, alpha, _), r in latest.items():
        groups[(arm, alpha)].append(r)
    out = [[ARMS[a].label if a in ARMS else a, f"{alpha:g}", str(len(g)),
            rd.cell([r["metrics"]["fwr"] for r in g]).text(), rd.cell([r["metrics"]["ise"] for r in g]).text(3)]
           for (a, alpha), g in sorted(groups.items())]
    if not out:
        return []
    return ["### Table 7 analogue: diversity against α", "",
            f"{split.capitalize()} split ({'the runs that selected α' if split == 'valid' else 'each arm at its α'}). "
            f"The paper: FWR falls and ISE rises as α grows; its ISE values span "
            f"{_paper_range(paper, 'Table 7', 'ise')} bits.", ""] + _table(
        ["arm", "α", "runs", "FWR", "ISE (bits)"], out) + alpha_trend(groups)


def alpha_trend(groups: Mapping[tuple, Sequence[Mapping]]) -> list[str]:
    """Table 7's trend in one number per arm and measure: Spearman's ρ between α and the seed-mean
    FWR or ISE over the arm's α values (at least 3). The paper's trend is ρ < 0 for FWR, > 0 for ISE."""
    from scipy.stats import spearmanr

    by_arm: dict[str, dict[float, list[Mapping]]] = defaultdict(dict)
    for (arm, alpha), g in groups.items():
        by_arm[arm][alpha] = g
    rows = []
    for arm, points in sorted(by_arm.items()):
        if len(points) < 3:
            continue
        alphas = sorted(points)
        means = [[sum(r["metrics"][m] for r in points[a]) / len(points[a]) for a in alphas] for m in ("fwr", "ise")]
        rows.append([ARMS[arm].label if arm in ARMS else arm, ", ".join(f"{a:g}" for a in alphas)]
                    + ["–" if len(set(v)) == 1 else f"{spearmanr(alphas, v)[0]:+.2f}"  # constant: no order
                       for v in means])
    if not rows:
        return []
    return ["", "The trend: Spearman's ρ between α and the mean FWR / ISE at each α (paper: FWR falls, "
            "ρ < 0; ISE rises, ρ > 0).", ""] + _table(["arm", "α values", "ρ(α, FWR)", "ρ(α, ISE)"], rows)


def decisiveness_table(rows: Sequence[Mapping], dataset: str) -> list[str]:
    """Beyond the paper: IGD with Gini impurity or gain ratio in place of IG (--decisiveness)."""
    found = rd.measures(rows, dataset)
    if found == ["ig"]:
        return []
    out = []
    for measure in found:
        for r in rd.arm_table(rd.test_runs(rows, dataset, measure), ("igd", "igd_t", "igd_d", "igd_linear"),
                              ("hr@10", "ndcg@10")):
            out.append([measure, *_arm_rows([r], ("hr@10", "ndcg@10"))[0]])
    return ["### Beyond the paper: other decisiveness measures", "",
            "The same arms with the token decisiveness measured by IG (the paper's), the Gini mass of the "
            "sibling branches, or the gain ratio (README: Token information gain). Binary IGD-Tuning weights "
            "are the same under all three (their zero sets are equal); gain ratio's IG~ equals IG's.", ""] + _table(
        ["measure", "arm", "seeds", "HR@10", "NDCG@10"], out)


def table8(runs, paper, dataset: str) -> list[str]:
    """The paper's Table 8 compares the weightings by tuning alone (alpha = 0, D3 decoding)."""
    table = rd.arm_table(runs, ("d3", "igd_t_linear", "igd_t"), ("hr@10", "ndcg@10"))
    if not any(r["arm"] == "igd_t_linear" for r in table):
        return (["### Table 8 analogue: binary vs linear IGD-Tuning weights", "",
                 "(Not evaluated here at α = 0: add the `igd_t_linear` arm to `igd experiment --methods`; the "
                 "linear arm with IGD-Decoding is in Table 2.)", ""] if "igd_linear" in runs else [])
    theirs = rp.paper_dataset(dataset)
    datasets = [theirs] if theirs else ["CDs", "Games", "Toys", "Books"]
    paper_cols = [f"paper {d} HR@10" for d in datasets]
    rows = [row + [_num(rp.paper_value(paper, d, r["arm"], "hr@10", ("Table 8",))) for d in datasets]
            for row, r in zip(_arm_rows(table, ("hr@10", "ndcg@10")), table)]
    return ["### Table 8 analogue: binary vs linear IGD-Tuning weights, tuning only (α = 0)", "",
            "As the paper's Table 8: both weightings decoded with D3, no IGD-Decoding. The paper's columns: its "
            "Table 8 (Qwen2.5-1.5B" + ("" if theirs else ", its data, for scale") + ").", ""] + _table(
        ["arm", "seeds", "HR@10", "NDCG@10", *paper_cols], rows)


def beta_sweep(rows: Sequence[Mapping], dataset: str) -> tuple[list[str], list[dict]]:
    """Validation HR@10 (D3 decoding) of each training family against beta: appendix H."""
    cells: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        if (r["status"] == "complete" and r["split"] in VALIDATION_SPLITS and r["dataset"] == dataset
                and r["kind"] == "eval"
                and r["decoding"] == "d3" and r["beta"] is not None and "hr@10" in r["metrics"]):
            family = _training_family(r)
            cells[(family, r["beta"])].append(r["metrics"]["hr@10"])
    if not cells:
        return [], []
    points = [{"series": f, "beta": b, "validation HR@10": sum(v) / len(v)} for (f, b), v in sorted(cells.items())]
    table = _table(["training", "β", "validation HR@10", "runs"],
                   [[f, f"{b:g}", f"{sum(v) / len(v):.4f}", str(len(v))] for (f, b), v in sorted(cells.items())])
    return ["### β sensitivity (appendix H), validation split, D3 decoding", ""] + table, points


def _training_family(r: Mapping) -> str | None:
    """The training method, IGD-Tuning's weighting named (binary and linear train apart)."""
    if r["train_method"] != "igd":
        return r["train_method"]
    return f"igd ({r['config'].get('igd_weighting', 'binary')})"


def training_times(rows: Sequence[Mapping], dataset: str) -> list[str]:
    """Wall-clock and, where the run recorded it, CPU time (process time over all threads: what a
    shared machine's wall clock overstates) of each training, and the dataset's totals."""
    done = [r for r in rows if r["status"] == "complete" and r["dataset"] == dataset]
    trains = [r for r in done if r["kind"] in ("train", "baseline") and "train_seconds" in r["metrics"]]
    if not trains:
        return []
    out = []
    for r in trains:
        what = r.get("arm") or _training_family(r) or r["model"]  # baselines: no method
        beta = "–" if r["beta"] is None else f"{r['beta']:g}"
        cpu = r["metrics"].get("cpu_seconds")
        out.append([str(what), beta, str(r["seed"]), f"{r['metrics']['train_seconds'] / 60:.1f}",
                    "–" if cpu is None else f"{cpu / 60:.1f}", r["versions"].get("machine", "not recorded")])
    evals = [r for r in done if r["kind"] == "eval"]
    train_s = sum(r["metrics"]["train_seconds"] for r in trains)
    eval_s = sum(r["metrics"].get("seconds", 0.0) for r in evals)
    timed, cpu_h = _cpu_hours(trains + evals)
    cpu = (f" CPU time (all threads) recorded by {timed} of those {len(trains) + len(evals)} runs: "
           f"{cpu_h:.1f} h." if timed else " No run of it recorded its CPU time (older code).")
    return ["### Training time of each run", "",
            f"Wall-clock time recorded in the store for this dataset: {train_s / 3600:.1f} h of training and "
            f"{eval_s / 3600:.1f} h of evaluation (both on the machines named below, often sharing them)." + cpu,
            ""] + _table(["training", "β", "seed", "minutes", "CPU minutes", "machine"], out)


def _cpu_hours(runs: Sequence[Mapping]) -> tuple[int, float]:
    """How many of `runs` recorded their CPU time (newer code does), and its sum in hours."""
    seconds = [r["metrics"]["cpu_seconds"] for r in runs if "cpu_seconds" in r["metrics"]]
    return len(seconds), sum(seconds) / 3600


def study_time(rows: Sequence[Mapping]) -> list[str]:
    """The whole report's compute: complete training and evaluation runs of every store, wall
    clock and (where recorded) CPU time, so a reader can budget a rerun."""
    done = [r for r in rows if r["status"] == "complete" and r["kind"] in ("train", "baseline", "eval")]
    wall = sum(r["metrics"].get("train_seconds", r["metrics"].get("seconds", 0.0)) for r in done)
    if not wall:
        return []
    timed, cpu_h = _cpu_hours(done)
    cpu = f"; {timed} of them recorded their CPU time, {cpu_h:.1f} h" if timed else ""
    return ["## Compute", "", f"{len(done)} complete training and evaluation runs in this report's stores: "
            f"{wall / 3600:.1f} h of wall-clock time{cpu}. Runs often shared the machine: the wall clock "
            "overstates their compute, the CPU time does not.", ""]


def _figure(chart, out_dir: Path, name: str, alt_text: str) -> list[str]:
    if chart is None:
        return [f"({alt_text}: nothing of it is stored in this store.)", ""]
    figs.write_svg(chart, out_dir / name)
    return [f"![{alt_text}]({out_dir.name}/{name})", ""]


GAP_STEPS = 5  # the first decoding steps, where the paper's Fig. 3 gap opens


def entropy_gap_table(evals: Mapping[str, Mapping[str, float]]) -> list[str]:
    """Fig. 3 in numbers: H(ground truth's prefix) − H(top-10 prefixes) per decoding step, in
    nats, and its mean over the first GAP_STEPS steps. Below 0: the top-10 are less decided than
    the truth at that step (igd.analysis: the paper's reading; IGD-Decoding should bring it up)."""
    out = []
    for label, m in evals.items():
        gaps = [m[f"h_truth@{d}"] - m[f"h_pred@{d}"] if f"h_truth@{d}" in m and f"h_pred@{d}" in m else None
                for d in range(1, GAP_STEPS + 1)]
        known = [g for g in gaps if g is not None]
        if known:
            out.append([label] + ["–" if g is None else f"{g:+.3f}" for g in gaps]
                       + [f"{sum(known) / len(known):+.3f}"])
    if not out:
        return []
    return [f"Fig. 3 in numbers: H(ground truth) − H(top-10) at decoding steps 1–{GAP_STEPS}, nats. Below 0: the "
            "top-10's prefixes are less decided than the ground truth's (the paper: decoding favours zero-IG "
            "tokens; IGD-Decoding narrows the gap).", ""] + _table(
        ["decoding"] + [f"step {d}" for d in range(1, GAP_STEPS + 1)] + [f"mean, steps 1–{GAP_STEPS}"], out)


def _eval_label(r: Mapping) -> str:
    arm = ARMS[r["arm"]].label if r.get("arm") in ARMS else str(r.get("arm"))
    alpha = "" if r["alpha"] is None else f", α={r['alpha']:g}"
    measure = "" if decisiveness_of(r) in (None, "ig") else f", {decisiveness_of(r)}"
    return f"{arm}{alpha}{measure} (run {r['id']})"


def _seed0_tests(rows: Sequence[Mapping], dataset: str) -> list[Mapping]:
    return [r for r in rows if r["kind"] == "eval" and r["status"] == "complete" and r["split"] == "test"
            and r["dataset"] == dataset and r["seed"] == 0]


def entropy_gap_evals(rows: Sequence[Mapping], dataset: str) -> tuple[dict[str, Mapping], bool]:
    """The evaluations Fig. 3 shows, by label: the IGD arm's alpha sweep (seed 0, validation) when
    there is one, else every seed-0 test run; and whether it is the sweep."""
    split, swept = alpha_sweep(rows, dataset)
    gap = ({_eval_label(r): r["metrics"] for r in swept if r.get("arm") == "igd" and r["seed"] == 0}
           if split == "valid" else {})
    return (gap, True) if gap else ({_eval_label(r): r["metrics"] for r in _seed0_tests(rows, dataset)}, False)


def figures(store, rows: Sequence[Mapping], dataset: str, out_dir: Path, slug: str) -> list[str]:
    logs = {}
    for r in rows:
        if r["kind"] == "train" and r["status"] == "complete" and r["dataset"] == dataset and r["seed"] == 0:
            label = "SFT" if r["train_method"] == "sft" else f"{r['train_method']} β={r['beta']:g}"
            if r["train_method"] in ("sft", "igd"):
                logs[f"{label} (run {r['id']})"] = store.train_log(r["id"])
    gap, per_alpha = entropy_gap_evals(rows, dataset)
    tested = _seed0_tests(rows, dataset)
    # Fig. 4's bins are nats of IG: another measure's values do not belong on that axis
    ig_only = {_eval_label(r): r["metrics"] for r in tested if (decisiveness_of(r) or "ig") == "ig"}
    return (["### Figures", ""]
            + _figure(figs.loss_curves(logs), out_dir, f"{slug}-loss.svg", "Fig. 2: zero-IG vs IG>0 token loss")
            + _figure(figs.entropy_gap(gap), out_dir, f"{slug}-entropy-gap.svg",
                      "Fig. 3: prefix entropy per decoding step, top-10 vs ground truth"
                      + (" (validation, per α)" if per_alpha else ""))
            + entropy_gap_table(gap) + [""]
            + _figure(figs.ig_logp(ig_only, [b[0] for b in IG_BINS]), out_dir, f"{slug}-ig-logp.svg",
                      "Fig. 4: log p of decoded tokens by IG"))


def build_report(stores, out: Path, title: str = "igd report", command: str | None = None) -> list[Path]:
    """Write the Markdown report and its figures (a folder beside it); returns the files.
    `stores`: one run store or several (a section per dataset of each, in order); `command`:
    the command line that made it, quoted in the report for whoever regenerates it."""
    stores = stores if isinstance(stores, (list, tuple)) else [stores]
    out = Path(out)
    drawn_before = check_output(out)  # replaces only a report igd wrote (igd.report_output)
    fig_dir = figures_dir(out)
    fig_dir.mkdir(parents=True, exist_ok=True)
    for old in drawn_before:  # a figure the old report drew and this one may not: not left behind
        old.unlink()
    paper = rp.paper_numbers()
    made = f"`{command}`" if command else "`igd report`"
    lines = [f"# {title}", "", f"Generated by {made} from the run store; the same command regenerates it "
             "byte for byte. Numbers are this code's, on this store's runs; the paper's published figures "
             "(igd/paper_numbers.csv) stand beside them where the paper gives one.", ""]
    for store in stores:
        lines += _store_sections(store, paper, fig_dir)
    lines += study_time([r for store in stores for r in store.runs()])
    text = "\n".join(lines).rstrip() + "\n"
    out.write_text(text, encoding="utf-8")
    return [out, *sorted(set(linked_figures(text, fig_dir)))]


def _store_sections(store, paper: Sequence[Mapping], fig_dir: Path) -> list[str]:
    rows = store.runs()
    if report_sid.has_sid(rows):  # the semantic-ID study: its own tables (igd.report_sid)
        return report_sid.sid_sections(store, rows)
    lines: list[str] = []
    for dataset in sorted({r["dataset"] for r in rows if r["split"] == "test" and r["status"] == "complete"}):
        runs = rd.test_runs(rows, dataset)
        slug = "".join(c if c.isalnum() else "-" for c in dataset.lower())
        sweep_lines, points = beta_sweep(rows, dataset)
        lines += [f"## {dataset}", ""] + protocol_table(rows, dataset, store.predictions)
        lines += table1(rows, dataset, paper) + table2(runs, paper, dataset) + improvements(store, runs, paper, dataset)
        lines += table3(runs) + table7(rows, dataset, paper)
        lines += table8(runs, paper, dataset) + decisiveness_table(rows, dataset) + sweep_lines
        if points:
            lines += _figure(figs.sweep(points, "beta", "validation HR@10", "Validation HR@10 against β"),
                             fig_dir, f"{slug}-beta.svg", "β sensitivity")
        lines += figures(store, rows, dataset, fig_dir, slug) + training_times(rows, dataset)
    return lines
