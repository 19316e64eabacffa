"""The protocol table of `igd report`: what a dataset's runs used, beside `--protocol paper` and
the paper's appendix B, so no number is read as the paper's protocol when it is not (pure: rows
in, Markdown lines out).

Each setting is read from what the test evaluations recorded (their `train_config`, and their
own decoding settings); a setting older records lack counts as its default of the time
(igd.config). Several values in one store are all listed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from igd.config import ARMS, PAPER_ALPHAS, PAPER_BETAS, PROTOCOLS, VALIDATION_SPLITS

PAPER = PROTOCOLS["paper"]


def _train(r: Mapping) -> Mapping:
    return (r.get("config") or {}).get("train_config") or {}


def _model(tc: Mapping) -> str:
    if tc.get("model", "tiny") == "tiny":
        t = tc.get("tiny") or {}
        return f"tiny: {t.get('layers', 2)} layers, hidden {t.get('hidden_size', 128)}, trained from scratch"
    return f"{tc['model']} ({tc.get('finetune', 'lora')})"


def _lr(tc: Mapping) -> str:
    lr = tc.get("learning_rate")
    return f"{lr:g}" if lr is not None else ("1e-3" if tc.get("model", "tiny") == "tiny" else "1e-4")


def _prompt(tc: Mapping) -> str:
    preamble = tc.get("preamble") or ("short" if tc.get("model", "tiny") == "tiny" else "alpaca")
    return f"{preamble}, {tc.get('style', 'plain')} titles"


# (setting, value of one test evaluation, the paper's value or None, the --protocol paper value
# it departs from when different, or None when the preset does not set it)
SETTINGS: tuple[tuple[str, Callable[[Mapping], str], str, str | None], ...] = (
    ("model", lambda r: _model(_train(r)), "Qwen2.5-1.5B (LoRA); LLaMA3-8B (QLoRA)", None),
    ("epochs (early-stopping patience)", lambda r: f"{_train(r).get('epochs', 3)} ({_train(r).get('patience', 1)})",
     "up to 3 (1)", None),
    ("learning rate", lambda r: _lr(_train(r)), "1e-4", None),
    ("batch (× gradient accumulation)",
     lambda r: f"{_train(r).get('batch_size', 8)} × {_train(r).get('grad_accum', 1)}", "64-128", None),
    ("prompt", lambda r: _prompt(_train(r)), "official, plain titles", "official"),
    ("early-stopping loss", lambda r: _train(r).get("eval_loss", "ce"), "train", PAPER["eval_loss"]),
    ("beam stop", lambda r: r["config"].get("beam_stop", "fast"), "official", PAPER["beam_stop"]),
    ("unseen items", lambda r: r["config"].get("unseen", "generable"), "excluded", PAPER["unseen"]),
    ("beams", lambda r: str(r["config"].get("num_beams", 10)), "10", None),
)


def protocol_table(rows: Sequence[Mapping], dataset: str, predictions: Callable[[int], Sequence[Mapping]]) -> list[str]:
    tests = [r for r in rows if r["dataset"] == dataset and r["kind"] == "eval" and r["split"] == "test"
             and r["status"] == "complete"]
    if not tests:
        return []
    body, departs = [], []
    for name, value, paper, preset in SETTINGS:
        mine = sorted({value(r) for r in tests})
        body.append([name, ", ".join(mine), paper])
        if preset is not None and any(preset not in v for v in mine):
            departs.append(name)
    body.append(["test rows / users", _rows_and_users(tests, predictions), "all"])
    body.append(["test seeds", ", ".join(map(str, sorted({r["seed"] for r in tests}))), "1 (not stated)"])
    body.append(["β, α selection", _selection(rows, dataset), "β then α on validation HR@10; β in "
                 + ", ".join(f"{b:g}" for b in PAPER_BETAS) + ", α in " + ", ".join(f"{a:g}" for a in PAPER_ALPHAS)])
    lines = ["### Protocol of these runs", "",
             "What the test evaluations of this dataset used (from their records), beside the paper's appendix B "
             "and `igd experiment --protocol paper` (the official code's choices).", "",
             "| setting | these runs | the paper |", "|---|---|---|",
             *(f"| {a} | {b} | {c} |" for a, b, c in body), ""]
    if departs:
        lines += [f"Departs from `--protocol paper` in: {', '.join(departs)}; and, as every CPU run here, in the "
                  "model and its training budget.", ""]
    return lines


def _rows_and_users(tests: Sequence[Mapping], predictions: Callable[[int], Sequence[Mapping]]) -> str:
    newest = max(tests, key=lambda r: r["id"])
    preds = predictions(newest["id"])
    if not preds:
        cap = newest["config"].get("max_users")
        return f"{cap:,} rows (users not stored)" if cap else "all rows (users not stored)"
    return f"{len(preds):,} rows of {len({p['user_id'] for p in preds}):,} users"


def _selection(rows: Sequence[Mapping], dataset: str) -> str:
    valid = [r for r in rows if r["dataset"] == dataset and r["kind"] == "eval" and r["split"] in VALIDATION_SPLITS
             and r["status"] == "complete"]
    if not valid:
        tests = [r for r in rows if r["dataset"] == dataset and r["kind"] == "eval" and r["split"] == "test"]
        betas = sorted({r["beta"] for r in tests if r["beta"] is not None and r.get("arm") in ARMS
                        and ARMS[r["arm"]].uses_beta})
        alphas = sorted({r["alpha"] for r in tests if r["alpha"] is not None})
        fixed = "; ".join(f"{name} " + ", ".join(f"{v:g}" for v in values)
                          for name, values in (("β", betas), ("α", alphas)) if values)
        return f"none (fixed: {fixed})" if fixed else "none"
    seeds = sorted({r["seed"] for r in valid})
    users = sorted({r["config"].get("max_users") or 0 for r in valid})
    return (f"on validation, seed {', '.join(map(str, seeds))}, "
            + ", ".join("all" if u == 0 else f"{u:,}" for u in users) + " rows; reused for the other seeds"
            * (len(seeds) == 1))
