"""The semantic-ID part of `igd report`: a store with SID arms (igd.config.ARMS, items "sid")
gets one table over all its datasets (SID methods, the random-code control, title references),
the paired tests of each method against SID cross-entropy, the zero-IG share of code tokens
(Table 1's analogue) and the task weights multi-target learning ended with.

Datasets play the role of item vocabularies here: `ml-100k-sid` holds the RQ-KMeans IDs,
`ml-100k-sid-random` the random-code control (its folder name ends in `-random`), and a dataset
evaluated with title arms is the title reference; users are the same evenly spread test rows in
all of them, so the paired tests compare the same users across datasets (checked by user index).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from igd import report_data as rd
from igd.config import ARMS, PACE_AUTO, PACE_C
from igd.report_protocol import protocol_table
from igd.sid_weights import TASKS, pace

METRICS = ("hr@5", "hr@10", "ndcg@5", "ndcg@10", "hr@10_head", "hr@10_tail", "invalid")
NAMES = {"hr@5": "HR@5", "hr@10": "HR@10", "ndcg@5": "NDCG@5", "ndcg@10": "NDCG@10",
         "hr@10_head": "head HR@10", "hr@10_tail": "tail HR@10", "invalid": "invalid"}
ORDER = ("d3", "igd", "sid_ce", "sid_front_greater", "sid_frequency", "sid_mtl", "sid_mtl_curriculum",
         "sid_igd_t", "sid_igd")
# Each method against SID cross-entropy on the same IDs; IGD-Decoding against IGD-Tuning alone.
VERSUS = (*((a, "sid_ce") for a in ORDER[3:]), ("sid_igd", "sid_igd_t"))
TITLED = "+titles"
PACED = "+pace-"  # a curriculum run with another pace than the authors' c: '+pace-auto', '+pace-0.001'


def has_sid(rows: Sequence[Mapping]) -> bool:
    return any(str(r.get("arm") or "").startswith("sid_") for r in rows)


def _key(dataset: str, arm: str) -> str:
    return f"{dataset}/{arm}"


def _base(dataset: str) -> str:
    """The dataset a row key's variant ('+titles', '+pace-…') was run on."""
    return dataset.split(PACED)[0].removesuffix(TITLED)


def _label(dataset: str, arm: str) -> str:
    if PACED in dataset:
        dataset, pace = dataset.split(PACED)
        c = "ln 20 / the run's steps" if pace == PACE_AUTO else pace
        return f"{ARMS[arm].label}, pace c = {c} (IDs, {dataset})"
    what = "random codes" if dataset.endswith("-random") else "titles" if not arm.startswith("sid_") else "IDs"
    if dataset.endswith(TITLED):
        dataset, what = dataset.removesuffix(TITLED), "IDs, history with titles"
    return f"{ARMS[arm].label} ({what}, {dataset})"


def _variant(row: Mapping) -> Mapping:
    """A run trained with titles beside the history IDs (`--history-titles`) is its own row:
    its dataset is shown as 'dataset+titles' (the same users, so it pairs with the others); a
    curriculum with another pace than the authors' likewise, as 'dataset+pace-C'."""
    train = (row.get("config") or {}).get("train_config") or {}
    if train.get("history_titles"):
        return {**row, "dataset": row["dataset"] + TITLED}
    pace = train.get("pace_c", PACE_C)
    if train.get("method") == "mtl-curriculum" and pace != PACE_C:
        return {**row, "dataset": row["dataset"] + PACED + (pace if pace == PACE_AUTO else f"{pace:g}")}
    return row


def sid_runs(rows: Sequence[Mapping]) -> dict[str, dict[int, Mapping]]:
    """'dataset/arm' -> seed -> latest complete test evaluation, in table order."""
    rows = [_variant(r) for r in rows]
    datasets = sorted({r["dataset"] for r in rows if r["split"] == "test" and r["status"] == "complete"},
                      key=lambda d: (d.endswith("-random"), d))
    out: dict[str, dict[int, Mapping]] = {}
    for dataset in datasets:
        runs = rd.test_runs(rows, dataset)
        out |= {_key(dataset, arm): runs[arm] for arm in ORDER if arm in runs}
    return out


def table(runs: Mapping[str, Mapping[int, Mapping]]) -> list[str]:
    lines = ["### Semantic IDs: every method, with the random-code control and the title reference", "",
             "Test split; mean ± sample std over seeds (no ± for one seed). Head: the most frequent training "
             "targets covering 80% of the training interactions; tail: the rest (HR@10 of the users whose "
             "target is head / tail). Invalid: generated sequences that are no catalogue item.", "",
             "| method | seeds | " + " | ".join(NAMES[m] for m in METRICS) + " |",
             "|" + "---|" * (len(METRICS) + 2)]
    for key, by_seed in runs.items():
        dataset, arm = key.split("/")
        cells = [_text(m, [r["metrics"][m] for r in by_seed.values()])
                 if all(m in r["metrics"] for r in by_seed.values()) else "–" for m in METRICS]
        lines.append(f"| {_label(dataset, arm)} | {','.join(map(str, sorted(by_seed)))} | " + " | ".join(cells) + " |")
    return lines + [""]


def _text(metric: str, values: Sequence[float]) -> str:
    c = rd.cell(values)
    if metric != "invalid":
        return c.text(4)
    return f"{c.mean:g}" if c.std is None else f"{c.mean:g} ± {c.std:.1f}"  # a count of sequences


def _pairs(runs: Mapping[str, Mapping[int, Mapping]]) -> list[tuple[str, str]]:
    """(base, arm) keys to test: VERSUS inside each dataset, SID CE against the random-code
    control and against title D3, and SID CE with titles in the history against IDs alone."""
    keys = list(runs)
    ids = [k for k in keys if k.endswith("/sid_ce") and not k.split("/")[0].endswith("-random")]
    out = [(_key(k.split("/")[0], base), _key(k.split("/")[0], arm)) for k in ids for arm, base in VERSUS]
    out += [(k.removesuffix(f"{TITLED}/sid_ce") + "/sid_ce", k) for k in ids if TITLED in k]  # titles help?
    out += [(r, k) for k in ids for r in keys if r.endswith("/sid_ce") and r.split("/")[0].endswith("-random")]
    out += [(d, k) for k in ids for d in keys if d.endswith("/d3")]
    for k in keys:  # another pace: against SID CE and against the authors' pace, on the same IDs
        if PACED in k:
            out += [(_key(_base(k.split("/")[0]), a), k) for a in ("sid_ce", "sid_mtl_curriculum")]
    return [(a, b) for a, b in out if a in runs and b in runs]


def comparisons(predictions, runs: Mapping[str, Mapping[int, Mapping]]) -> list[str]:
    lines = ["### Paired over users: each method against its reference", "",
             "The unit is the user (several test rows can be one user's). Base and method: seed-means over the "
             "test rows; per-seed Δ: method minus reference per shared seed; p (sign): two-sided sign test over the "
             "users whose value differs (each user's metric averaged over their rows and the shared seeds); "
             "p (Holm): adjusted over every test of this table; 95% CI: of the mean row difference, by a cluster "
             f"bootstrap resampling users ({rd.BOOTSTRAP_RESAMPLES} resamples, seed {rd.BOOTSTRAP_SEED}).", "",
             "| method | reference | metric | seeds | test rows | users | reference | method | relative | per-seed Δ | "
             "users up/down | p (sign) | p (Holm) | 95% CI (users resampled) |", "|" + "---|" * 14]
    found = []
    for base, arm in _pairs(runs):
        preds = {k: {s: predictions(r["id"]) for s, r in runs[k].items()} for k in (base, arm)}
        if not _same_users(preds[base], preds[arm]):  # across datasets: the same test rows, or no test
            continue
        for m in ("hr@10", "ndcg@10"):
            try:
                found.append((base, arm, rd.paired(preds[base], preds[arm], m)))
            except ValueError:
                continue
    for (base, arm, t), holm in zip(found, rd.holm([t["p_sign"] for _, _, t in found])):
        lines.append(f"| {_label(*arm.split('/'))} | {_label(*base.split('/'))} | {NAMES[t['metric']]} | "
                     f"{len(t['seeds'])} | {t['rows']:,} | {t['users']:,} | {t['base']:.4f} | {t['arm']:.4f} | "
                     f"{100 * t['relative']:+.1f}% | {' '.join(f'{d:+.4f}' for d in t['per_seed'])} | "
                     f"{t['wins']}/{t['losses']} | {t['p_sign']:.3g} | {holm:.3g} | "
                     f"[{t['ci_low']:+.4f}, {t['ci_high']:+.4f}] |")
    return lines + [""]


def _same_users(a: Mapping[int, Sequence[Mapping]], b: Mapping[int, Sequence[Mapping]]) -> bool:
    """Per seed both arms have, user_index names the same user_id (paired tests pair users)."""
    for seed in set(a) & set(b):
        ids = {p["user_index"]: p["user_id"] for p in a[seed]}
        if any(ids.get(p["user_index"], p["user_id"]) != p["user_id"] for p in b[seed]):
            return False
    return True


def token_table(rows: Sequence[Mapping]) -> list[str]:
    """Table 1's analogue per dataset, from its first complete training run of each item kind."""
    seen, out = set(), []
    for r in rows:
        items = (r["config"] or {}).get("items", "title")
        if r["kind"] != "train" or r["status"] != "complete" or (r["dataset"], items) in seen:
            continue
        m = r["metrics"]
        if "t1_zero_ig_share" not in m:
            continue
        seen.add((r["dataset"], items))
        out.append(f"| {r['dataset']} | {items} | {m['t1_items']:,.0f} | {m['t1_target_tokens'] / m['t1_train_rows']:.2f} | "
                   f"{100 * m['t1_zero_ig_share']:.1f}% | {m['t1_root_entropy']:.3f} |")
    if not out:
        return []
    return ["### Zero-IG tokens: semantic IDs against titles (Table 1 analogue)", "",
            "Target tokens per training row (EOS included) and the share with zero information gain.", "",
            "| dataset | items are | items | tokens per target | zero-IG share | H(root) (nats) |",
            "|---|---|---|---|---|---|", *out, ""]


def task_weights(rows: Sequence[Mapping]) -> list[str]:
    """The learned w_k (and s_k) at the end of each multi-target training run, with the pace c the
    curriculum used and Frequency's pace 1 - exp(-c step) at the last step."""
    out = []
    for r in rows:
        m = r["metrics"]
        if r["kind"] == "train" and r["status"] == "complete" and "w_ce" in m:
            pace = _pace_at_end(r)
            out.append(f"| {r['dataset']} | {r['train_method']} | {r['seed']} | "
                       + " | ".join(f"{m[f'w_{t}']:.3f} (s {m[f's_{t}']:+.3f})" for t in TASKS)
                       + (" | – | – |" if pace is None else f" | {pace[0]:.3g} | {pace[1]:.3f} |"))
    if not out:
        return []
    return ["### Multi-target learning: task weights at the end of training", "",
            "w_k = p_k exp(-s_k) / Σ_j p_j exp(-s_j), with the pace p_k = 1 without the curriculum; with it, "
            "Frequency's pace is 1 - exp(-c step) and CE's and Front-Greater's exp(-c step). A curriculum whose "
            "Frequency pace ends near 0 never reached Frequency.", "",
            "| dataset | method | seed | CE | Front-Greater | Frequency | pace c | Frequency's pace at the end |",
            "|---|---|---|---|---|---|---|---|", *out, ""]


def _pace_at_end(run: Mapping) -> tuple[float, float] | None:
    """(c, Frequency's pace at the last step) of a curriculum run (stored since --pace-c auto;
    recomputed from the config and step count for runs before), None without the curriculum."""
    if run["train_method"] != "mtl-curriculum":
        return None
    m, c = run["metrics"], run["config"].get("pace_c", PACE_C)
    if "pace_c" in m:
        return m["pace_c"], m["pace_frequency"]
    return (c, pace(int(m["steps"]), c)[2]) if c != PACE_AUTO and "steps" in m else None


def sid_sections(store, rows: Sequence[Mapping]) -> list[str]:
    runs = sid_runs(rows)
    datasets = sorted({_base(k.split("/")[0]) for k in runs})
    protocols = [line for d in datasets for line in
                 _retitled(protocol_table(rows, d, store.predictions), f"Protocol of the {d} runs")]
    return (["## Semantic IDs: " + ", ".join(sorted({k.split("/")[0] for k in runs})), ""] + protocols
            + table(runs) + comparisons(store.predictions, runs) + token_table(rows) + task_weights(rows))


def _retitled(lines: list[str], heading: str) -> list[str]:
    return [f"### {heading}"] + lines[1:] if lines else []
