"""`igd report`'s paired comparisons: IGD over its bases and the ablation, with the user as the
unit (igd.report_stats), repeated evidence and arms of different checkpoints said under the
table, and the paper's improvements beside ours (igd.report_paper). The app's Runs page shows
the same rows and notes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from igd import report_data as rd
from igd import report_paper as rp
from igd.config import ARMS

NAMES = {"hr@10": "HR@10", "ndcg@10": "NDCG@10"}


def pct(x: float) -> str:
    return f"{x * 100:+.1f}%"


def p_text(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else "< 1e-4"


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(r) + " |" for r in rows), ""]


def improvements(store, runs, paper, dataset: str) -> list[str]:
    lines = ["### IGD over its base and the ablation, paired over users", "",
             "The unit is the user: a test split of sliding windows holds several rows per user, and rows of "
             "one user are not independent. Base and arm: seed-means over the test rows. Per-seed Δ: the arm "
             "minus the base on each shared seed. Users up/down and p (sign): two-sided sign test over the users "
             "whose value differs (each user's metric averaged over their rows and the shared seeds); p (Holm): "
             "adjusted over every test of this table. 95% CI: of the mean row difference, by a cluster "
             f"bootstrap that resamples users with all their rows ({rd.BOOTSTRAP_RESAMPLES} resamples, seed "
             f"{rd.BOOTSTRAP_SEED}). Identical sets: the test rows (and the users, all of whose rows) where both "
             "arms return the same top-10 set, in any order.", ""]
    found = rd.improvement_rows(store.predictions, runs)
    if not found:
        return lines + ["(No base and IGD arm both evaluated on the test split.)", ""]
    rows = [_improvement_cells(t) for t in found]
    header = ["comparison", "metric", "seeds", "test rows", "users", "base", "arm", "relative", "per-seed Δ",
              "users up/down", "p (sign)", "p (Holm)", "95% CI (users resampled)", "identical top-10 sets"]
    theirs = rp.paper_dataset(dataset)
    if theirs is not None:  # the paper's data: its improvement for the same pair beside ours
        header.append(f"paper ({theirs})")
        for row, t in zip(rows, found):
            got = rp.paper_improvement(paper, theirs, t["base_arm"], t["igd_arm"], t["metric"])
            row.append("–" if got is None else pct(got[0]) + ("*" if got[1] != "printed" else ""))
    return lines + md_table(header, rows) + improvement_notes(found) + ([] if theirs else _paper_improvements(paper))


def _paper_improvements(paper) -> list[str]:
    """The paper's own per-dataset improvements, for scale: its model and data, not this run's."""
    pairs = tuple(rp.PAIR_METHODS)
    rows = rp.improvements_table(paper, pairs)
    header = ["the paper's dataset"] + [f"{ARMS[a].label} vs {ARMS[b].label}, {NAMES[m]}" for b, a in pairs
                                        for m in ("hr@10", "ndcg@10")]
    low, high = rp.paper_range(paper, "Table 2", "relative_improvement")
    return [f"For scale, not as a target: the paper's improvements on its own data (Qwen2.5-1.5B with LoRA on "
            f"Amazon CDs, Games, Toys, Books; Steam: Table 6, backbone not stated). Its Table 2 prints "
            f"{pct(low)} … {pct(high)} over all its cells. *: derived from its rows (the printed cell is lost "
            "or disagrees with them, igd/paper_numbers.csv).", ""] + md_table(header, rows)


def _label_pair(t: Mapping) -> str:
    return f"{ARMS[t['igd_arm']].label} vs {ARMS[t['base_arm']].label}"


def _improvement_cells(t: Mapping) -> list[str]:
    same = t["identical"]
    identical = ("lists not kept" if same is None else
                 f"{same['same_rows'] / same['rows']:.0%} of rows ({same['same_users']}/{same['users']} users)")
    head = [_label_pair(t), NAMES[t["metric"]], str(len(t["seeds"]))]
    if t["p_sign"] is None:
        return head + ["no per-user ranks stored", "–", f"{t['base']:.4f}", f"{t['arm']:.4f}", pct(t["relative"]),
                       *(["–"] * 5), identical]
    return head + [f"{t['rows']:,}", f"{t['users']:,}", f"{t['base']:.4f}", f"{t['arm']:.4f}", pct(t["relative"]),
                   " ".join(f"{d:+.4f}" for d in t["per_seed"]), f"{t['wins']}/{t['losses']}", p_text(t["p_sign"]),
                   p_text(t["p_holm"]), f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}]", identical]


def improvement_notes(found: Sequence[Mapping]) -> list[str]:
    """Sentences under the table: evidence shown twice, arms that decoded different checkpoints."""
    notes = []
    for t in found:
        if t.get("same_as") is not None:
            first = found[t["same_as"]]
            notes.append(f"- {_label_pair(t)}, {NAMES[t['metric']]}: the same per-row differences as "
                         f"{_label_pair(first)} (their lists differ only in order, or not at all): one piece "
                         "of evidence, not a second confirmation.")
    for t in {(t["base_arm"], t["igd_arm"]): t for t in found}.values():  # once per pair of arms
        apart = [s for s, same in (t["same_checkpoint"] or {}).items() if not same]
        if apart:
            notes.append(f"- {_label_pair(t)}: seed(s) {', '.join(map(str, apart))} decoded different "
                         "checkpoints of the same training settings (retraining is not bit-reproducible on CPU): "
                         "the difference mixes the decoding with retraining noise. Re-run `igd experiment` to "
                         "decode both from one checkpoint.")
    return notes + [""] if notes else []
