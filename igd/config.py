"""The method vocabulary and every config default, in one torch-free module.

The CLI (choices and defaults), the run store (what a run may be called), `igd experiment`
(its arms) and the app (filters and labels) all read this module; nothing else lists method
names. Adding a decoding is one `Decoding(...)` line in `DECODINGS` (plus its own module when
it brings a new step-weight rule); adding an experiment arm is one `Arm(...)` line.

Equation numbers are the IGD paper's (Lin et al., 2025).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Callable, Mapping

import numpy as np

from igd.config_checks import (SEED_MAX, ConfigError, check_at_least, check_choice,  # noqa: F401  (re-exported)
                               check_range, check_seed, is_int, is_number)

# ---------------------------------------------------------------------------------------------
# The vocabulary


@dataclass(frozen=True)
class TrainMethod:
    name: str
    label: str
    uses_beta: bool  # beta is the zero-IG weight (igd) or the last position's weight (pos, cft)
    sid_only: bool = False  # weights per semantic-ID code level or code token (igd.sid_weights)
    tasks: int = 1  # loss terms combined by learnable weights (multi-target learning)


TRAIN_METHODS: dict[str, TrainMethod] = {m.name: m for m in (
    TrainMethod("sft", "SFT (cross-entropy, Eq. 1)", False),
    TrainMethod("igd", "IGD-Tuning (Eq. 6-7)", True),
    TrainMethod("pos", "Pos (position-decayed weights)", True),
    TrainMethod("cft", "CFT (Pos + counterfactual term)", True),
    # Chiu, Wang, Cheng 2026 (arXiv 2601.17787): semantic-ID targets only
    TrainMethod("front-greater", "Front-Greater (per-level weights from the embedding spread)", False, True),
    TrainMethod("frequency", "Frequency (w = (1 - b) / (1 - b^f) per code token)", False, True),
    TrainMethod("mtl", "Multi-target: CE + Front-Greater + Frequency, learnable weights", False, True, 3),
    TrainMethod("mtl-curriculum", "Multi-target with the curriculum pace", False, True, 3),
)}
# What an item is to the model: its title's tokens, or its semantic ID (one token per code level)
ITEMS = ("title", "sid")
ITEM_LABELS = {"title": "titles (the IGD paper)", "sid": "semantic IDs (one token per code level)"}
PACE_C = 2e-5  # the curriculum's rate c (the authors' scripts)
PACE_AUTO = "auto"  # pace_c: c from the run's optimiser steps (igd.sid_weights.auto_pace_c)
WEIGHTINGS = ("binary", "linear")  # IGD-Tuning: beta / 1 (Eq. 6) or linear in IG (appendix G)


def igd_step_weights(ig: np.ndarray, ig_norm: np.ndarray, alpha: float) -> np.ndarray:
    """Eq. 8-9: w_d = 1 - alpha * IG~ for every trie edge (IG~ precomputed per edge)."""
    return 1.0 - alpha * ig_norm


@dataclass(frozen=True)
class Decoding:
    """A constrained beam search: score = sum_d w_d log p_d / len ** length_penalty (Eq. 3, 8).
    `step_weights(edge_ig, edge_ig_norm, alpha)` gives w_d per trie edge; None: all 1 (alpha
    unused)."""

    name: str
    label: str
    length_penalty: float
    step_weights: Callable[[np.ndarray, np.ndarray, float], np.ndarray] | None = None

    @property
    def uses_alpha(self) -> bool:
        return self.step_weights is not None


DECODINGS: dict[str, Decoding] = {d.name: d for d in (
    Decoding("bigrec", "BIGRec decoding (length penalty 1)", 1.0),
    Decoding("d3", "D3 decoding (length penalty 0)", 0.0),
    Decoding("igd", "IGD-Decoding (D3 + w_d = 1 - alpha IG~)", 0.0, igd_step_weights),
    Decoding("bigrec_igd", "IGD-Decoding with BIGRec's length penalty 1", 1.0, igd_step_weights),
)}

# Recommenders that are not a fine-tuned LLM: stored as kind 'baseline' under their own name.
BASELINES: dict[str, str] = {
    "most_popular": "Most popular",
    "gru4rec": "GRU4Rec",
    "sasrec": "SASRec",
    "lrurec": "LRURec",
}


@dataclass(frozen=True)
class Arm:
    """One row of the paper's tables: a training method (+ weighting) and a decoding, or a
    baseline. `igd experiment --methods` takes arm names."""

    name: str
    label: str  # in words a reader of the paper recognises
    train: str | None = None
    decoding: str | None = None
    weighting: str = "binary"
    baseline: str | None = None
    items: str = "title"  # ITEMS

    def __post_init__(self) -> None:
        if self.items not in ITEMS or (self.train in TRAIN_METHODS and TRAIN_METHODS[self.train].sid_only
                                       and self.items != "sid"):
            raise ValueError(f"arm {self.name!r}: items {self.items!r} do not fit training {self.train!r}")
        if (self.baseline is None) == (self.train is None):
            raise ValueError(f"arm {self.name!r}: give a training method and decoding, or a baseline")
        if self.train is not None and (self.train not in TRAIN_METHODS or self.decoding not in DECODINGS):
            raise ValueError(f"arm {self.name!r}: unknown training method or decoding")
        if self.baseline is not None and self.baseline not in BASELINES:
            raise ValueError(f"arm {self.name!r}: unknown baseline {self.baseline!r}")

    @property
    def uses_alpha(self) -> bool:
        return self.decoding is not None and DECODINGS[self.decoding].uses_alpha

    @property
    def uses_beta(self) -> bool:
        return self.train is not None and TRAIN_METHODS[self.train].uses_beta


ARMS: dict[str, Arm] = {a.name: a for a in (
    *(Arm(name, label, baseline=name) for name, label in BASELINES.items()),
    Arm("bigrec", "BIGRec", "sft", "bigrec"),
    Arm("bigrec_igd", "BIGRec + IGD", "igd", "bigrec_igd"),
    Arm("d3", "D3", "sft", "d3"),
    Arm("igd", "D3 + IGD (IGD-Tuning + IGD-Decoding)", "igd", "igd"),
    Arm("igd_t", "IGD-Tuning only (D3 decoding)", "igd", "d3"),
    Arm("igd_d", "IGD-Decoding only (SFT checkpoint)", "sft", "igd"),
    Arm("pos", "Pos (D3 decoding)", "pos", "d3"),
    Arm("cft", "CFT (D3 decoding)", "cft", "d3"),
    Arm("igd_linear", "D3 + IGD, linear IGD-Tuning weights", "igd", "igd", weighting="linear"),
    # Table 8 compares the two weightings by tuning alone (alpha = 0): the linear checkpoint decoded as D3
    Arm("igd_t_linear", "IGD-Tuning only, linear weights (D3 decoding)", "igd", "d3", weighting="linear"),
    # Semantic IDs (all IDs have one length, so BIGRec's length penalty ranks like D3's)
    Arm("sid_ce", "SID, cross-entropy", "sft", "d3", items="sid"),
    Arm("sid_front_greater", "SID, Front-Greater", "front-greater", "d3", items="sid"),
    Arm("sid_frequency", "SID, Frequency", "frequency", "d3", items="sid"),
    Arm("sid_mtl", "SID, multi-target", "mtl", "d3", items="sid"),
    Arm("sid_mtl_curriculum", "SID, multi-target + curriculum", "mtl-curriculum", "d3", items="sid"),
    Arm("sid_igd_t", "SID, IGD-Tuning (D3 decoding)", "igd", "d3", items="sid"),
    Arm("sid_igd", "SID, IGD-Tuning + IGD-Decoding", "igd", "igd", items="sid"),
)}


def arm_of(train_method: str | None, decoding: str | None, weighting: str | None = "binary",
           baseline: str | None = None, items: str | None = "title") -> str | None:
    """The arm a run belongs to (None when no registered arm matches, e.g. pos + bigrec)."""
    for arm in ARMS.values():
        if baseline is not None and arm.baseline == baseline:
            return arm.name
        if baseline is None and (arm.train, arm.decoding, arm.items) == (train_method, decoding, items or "title") and (
                arm.train != "igd" or arm.weighting == (weighting or "binary")):
            return arm.name
    return None


# The app's columns: the arms of the paper's ablation (Tables 2-3) under the names its columns
# carry (label -> arm); the arm's training method picks the checkpoint (SFT or IGD-tuned).
VIEW_PRESETS: dict[str, str] = {
    ARMS["bigrec"].label: "bigrec", ARMS["d3"].label: "d3", "D3 + IGD-Decoding": "igd_d",
    "IGD-Tuning (D3 decoding)": "igd_t", "IGD-Tuning + IGD-Decoding": "igd", ARMS["bigrec_igd"].label: "bigrec_igd"}
DEFAULT_VIEW = ("BIGRec", "D3", "D3 + IGD-Decoding", "IGD-Tuning + IGD-Decoding")  # Table 3's ablation
VIEW_ARMS_MIN, VIEW_ARMS_MAX = 2, 5


UNSEEN_POLICIES = ("generable", "excluded")  # items never a training target (README)
# Token decisiveness on the trie (igd.info_gain): IG (Eq. 5), or an alternative the paper names
DECISIVENESS = ("ig", "gini", "gain-ratio")
DECISIVENESS_LABELS = {"ig": "information gain (Eq. 5, nats)", "gini": "Gini impurity of the sibling branches",
                       "gain-ratio": "gain ratio (IG / split information of the parent)"}
STYLES = ("plain", "quoted")  # target text: `title\n` (IGD) or `"title"\n` (D3/BIGRec)
PREAMBLES = ("alpaca", "short", "official")  # prompt text (templates.py)
BEAM_STOPS = ("fast", "official")  # HF early_stopping: True for length penalty 0, or always False
EVAL_LOSSES = ("ce", "train")  # early-stopping loss: plain CE, or the method's own training loss
SELECT_METRICS = ("hr@10", "ndcg@10")
PAPER_BETAS = (0.08, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)  # IGD paper's beta grid (appendix H)
PAPER_ALPHAS = (0.1, 0.2)
HOLDOUT = "holdout"  # evaluation split: the last 10% of valid.csv, which early-stops --train-on-valid
VALIDATION_SPLITS = ("valid", HOLDOUT)  # where beta and alpha are selected
THREADS_AUTO = "auto"  # --threads auto: the cores not already busy (igd.precision.auto_threads)
DTYPES = ("auto", "fp32", "bf16")  # --dtype: auto = bf16 on CUDA and on CPUs with native bf16 (igd.precision)
# The paper's recipe for a pretrained LLM (appendix B; `--protocol paper` applies it to options
# not given): AdamW, lr 1e-4, batch 64 (by gradient accumulation), LoRA dropout 0.05 with its
# QLoRA rank and alpha, early stopping on validation loss, at most 3 epochs, patience 1.
PAPER_PRETRAINED = {"learning_rate": 1e-4, "effective_batch": 64, "lora_r": 32, "lora_alpha": 64,
                    "lora_dropout": 0.05, "epochs": 3, "patience": 1}


# ---------------------------------------------------------------------------------------------
# Configs


@dataclass(frozen=True)
class TinyConfig:
    """A small Qwen2-architecture decoder trained from scratch (vocab compacted)."""

    # Sized for 2 CPU cores: ~15k training tokens/s, one MovieLens-100K epoch in ~10 min.
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    intermediate_size: int = 384
    max_positions: int = 1024

    def __post_init__(self) -> None:
        for name in ("hidden_size", "layers", "heads", "intermediate_size", "max_positions"):
            check_at_least(self, name, 1, prefix="tiny")
        if self.hidden_size % self.heads:
            raise ConfigError("tiny.hidden_size", self.hidden_size, f"not divisible by the {self.heads} heads",
                              f"pass a multiple of {self.heads}, e.g. {self.heads * 32}", "TinyConfig")


@dataclass(frozen=True)
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __post_init__(self) -> None:
        check_at_least(self, "r", 1, prefix="lora")
        check_at_least(self, "alpha", 1, prefix="lora")
        if not (is_number(self.dropout) and 0 <= self.dropout < 1):  # False for NaN too
            raise ConfigError("lora.dropout", self.dropout, "out of range", "pass a value in [0, 1)", "LoraSettings")


@dataclass(frozen=True)
class TrainConfig:
    data: str
    out: str
    model: str = "tiny"  # tiny | smollm2-135m | a local HF model directory or Hub name
    method: str = "sft"  # TRAIN_METHODS
    beta: float = 0.2  # weight of zero-IG tokens (igd) / last-token weight (pos, cft)
    igd_weighting: str = "binary"  # WEIGHTINGS
    cft_alpha: float = 0.1  # weight of CFT's counterfactual term
    tokenizer: str = "qwen2.5"  # tiny only; pretrained models bring their own
    finetune: str = "lora"  # pretrained only: lora | qlora | full
    lora: LoraSettings = field(default_factory=LoraSettings)
    tiny: TinyConfig = field(default_factory=TinyConfig)
    style: str = "plain"
    preamble: str | None = None  # default: short for tiny, alpaca otherwise
    category: str = "items"
    items: str = "title"  # ITEMS: "sid" reads the dataset's semantic IDs (tiny only)
    pace_c: float | str = PACE_C  # mtl-curriculum's c, or PACE_AUTO
    history_titles: bool = False  # items "sid": each history ID followed by its title in the prompt
    unseen: str = "generable"
    decisiveness: str = "ig"  # DECISIVENESS: the measure in place of IG in weights, IG~ and the trie
    eval_loss: str = "ce"  # EVAL_LOSSES
    dtype: str = "auto"  # DTYPES: compute dtype (bf16 keeps LoRA weights and optimizer state in fp32)
    save_steps: int | None = None  # resumable Trainer checkpoint every n steps (None: once per epoch)
    epochs: int = 3
    patience: int = 1
    learning_rate: float | None = None  # default 1e-3 for tiny, 1e-4 otherwise (paper)
    batch_size: int = 16
    grad_accum: int = 1
    max_length: int = 512
    max_steps: int = -1
    max_train_rows: int | None = None  # evenly spread rows: for demos and smoke tests
    max_eval_rows: int | None = 2000
    logging_steps: int = 50
    seed: int = 0
    train_on_valid: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        check_choice(self, "method", self.method, TRAIN_METHODS)
        check_choice(self, "items", self.items, ITEMS)
        self._check_items()
        check_choice(self, "igd_weighting", self.igd_weighting, WEIGHTINGS)
        check_choice(self, "unseen", self.unseen, UNSEEN_POLICIES)
        check_choice(self, "decisiveness", self.decisiveness, DECISIVENESS)
        check_choice(self, "style", self.style, STYLES)
        check_choice(self, "eval_loss", self.eval_loss, EVAL_LOSSES)
        check_choice(self, "dtype", self.dtype, DTYPES)
        if self.save_steps is not None:
            check_at_least(self, "save_steps", 1)
        if self.preamble is not None:
            check_choice(self, "preamble", self.preamble, PREAMBLES)
        # beta 0 would give every zero-IG token weight 0: a target of zero-IG tokens only then
        # has sum(w) = 0 and Eq. 7 divides by it.
        check_range(self, "beta", 0.0, 1.0, low_open=True)
        check_range(self, "cft_alpha", 0.0, math.inf)
        for name in ("epochs", "patience", "batch_size", "grad_accum", "logging_steps", "max_length"):
            check_at_least(self, name, 1)
        for name in ("max_train_rows", "max_eval_rows"):
            if getattr(self, name) is not None:
                check_at_least(self, name, 1)
        # -1 is "no limit"; the Trainer reads 0 as no limit too, which nobody means.
        if not (is_int(self.max_steps) and (self.max_steps == -1 or self.max_steps >= 1)):
            raise ConfigError("max_steps", self.max_steps, "must be -1 (no limit) or >= 1",
                              "pass a number of steps >= 1, or leave it out", "TrainConfig")
        if self.learning_rate is not None and not (is_number(self.learning_rate)
                                                   and 0 < self.learning_rate < math.inf):
            raise ConfigError("learning_rate", self.learning_rate, "must be a finite number > 0",
                              "pass e.g. 1e-4, or leave it out for the default", "TrainConfig")
        check_seed(self, "seed", self.seed)

    def _check_items(self) -> None:
        if TRAIN_METHODS[self.method].sid_only and self.items != "sid":
            raise ConfigError("method", self.method, "weights semantic-ID code levels",
                              "pass --items sid with a dataset that has semantic IDs (igd sid build)", "TrainConfig")
        if self.items == "sid" and not self.is_tiny:
            raise ConfigError("items", self.items, f"needs --model tiny (a pretrained {self.model!r} has no "
                              "embeddings for the code tokens)", "pass --model tiny, or --items title", "TrainConfig")
        if self.items == "sid" and (self.style != "plain" or self.preamble == "official"):
            raise ConfigError("items", self.items, "semantic-ID targets are the codes + EOS",
                              "leave --style and the official preamble out with --items sid", "TrainConfig")
        if self.history_titles and self.items != "sid":
            raise ConfigError("history_titles", self.history_titles, "titles are already the items' names here",
                              "pass --items sid with --history-titles, or leave it out", "TrainConfig")
        if self.pace_c != PACE_AUTO:
            check_range(self, "pace_c", 0.0, math.inf, low_open=True)

    @property
    def is_tiny(self) -> bool:
        return self.model == "tiny"

    def template(self, names: Mapping[str, str] | None = None):
        """The prompt; `names` (ID -> title) puts titles beside the IDs (only with history_titles)."""
        from igd.templates import Template

        preamble = self.preamble or ("short" if self.is_tiny else "alpaca")
        style = "codes" if self.items == "sid" else self.style
        return Template(style=style, category=self.category, preamble=preamble,
                        names=dict(names) if self.history_titles and names is not None else None)


@dataclass(frozen=True)
class DecodeConfig:
    method: str = "igd"  # DECODINGS
    alpha: float = 0.2  # decodings with step weights only
    num_beams: int = 10
    batch_size: int = 16  # prompts per generate() call
    beam_stop: str = "fast"  # BEAM_STOPS
    dtype: str = "auto"  # DTYPES (the model's weights while decoding)

    def __post_init__(self) -> None:
        check_choice(self, "decoding", self.method, DECODINGS)  # the CLI option is --decoding
        check_choice(self, "beam_stop", self.beam_stop, BEAM_STOPS)
        check_choice(self, "dtype", self.dtype, DTYPES)
        if not (is_number(self.alpha) and 0.0 <= self.alpha <= 1.0):  # w_d = 1 - alpha * IG~ >= 0
            raise ConfigError("alpha", self.alpha, "out of range (IGD-Decoding weights 1 - alpha * IG~ must "
                              "stay >= 0)", "pass a number in [0, 1]", "DecodeConfig")
        check_at_least(self, "num_beams", 2)  # with 1 beam HF runs greedy search: no sequence scores
        check_at_least(self, "batch_size", 1)

    @property
    def spec(self) -> Decoding:
        return DECODINGS[self.method]

    @property
    def effective_alpha(self) -> float:
        return self.alpha if self.spec.uses_alpha else 0.0

    @property
    def early_stopping(self) -> bool:
        """HF's early_stopping. 'official' is HF's default False (the official code): stop when
        no running beam can still beat the worst finished one. 'fast' stops as soon as
        num_beams titles are finished when the length penalty is 0; a running beam could then in
        principle still have beaten one (README: measured on MovieLens)."""
        return self.beam_stop == "fast" and self.spec.length_penalty == 0.0


@dataclass(frozen=True)
class EvalConfig:
    split: str = "test"
    max_users: int | None = None  # evenly spread subsample, for demos
    decode: DecodeConfig = DecodeConfig()
    unseen: str | None = None  # the trie's policy at decoding; None: the checkpoint's own
    decisiveness: str | None = None  # DECISIVENESS at decoding (IG~); None: the checkpoint's own

    def __post_init__(self) -> None:
        if self.max_users is not None:
            check_at_least(self, "max_users", 1)
        if self.unseen is not None:
            check_choice(self, "unseen", self.unseen, UNSEEN_POLICIES)
        if self.decisiveness is not None:
            check_choice(self, "decisiveness", self.decisiveness, DECISIVENESS)


# The paper's protocol as one named preset (README: which default differs and why). The CLI
# applies it to options the user did not set; explicit options still win.
PROTOCOLS: dict[str, dict[str, object]] = {
    "igd": {},  # this project's defaults
    "paper": {"unseen": "excluded", "preamble": "official", "beam_stop": "official",
              "eval_loss": "train", "select_metric": "hr@10",
              "beta": ",".join(f"{b:g}" for b in PAPER_BETAS),
              "alpha": ",".join(f"{a:g}" for a in PAPER_ALPHAS)},
}


def default(cls, name: str):
    """A dataclass field's default (for the CLI: `default=default(TrainConfig, "epochs")`)."""
    for f in fields(cls):
        if f.name == name:
            return f.default
    raise KeyError(f"{cls.__name__} has no field {name!r}")
