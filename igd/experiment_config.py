"""`igd experiment`'s config: the arms, seeds and grids of a comparison, on top of one
TrainConfig (igd.config holds the vocabulary it names)."""

from __future__ import annotations

from dataclasses import dataclass

from igd.config import (ARMS, BEAM_STOPS, SELECT_METRICS, Arm, ConfigError, TrainConfig, check_at_least,
                        check_choice, check_seed, is_number)


@dataclass(frozen=True)
class ExperimentConfig:
    base: TrainConfig  # data, model and training settings shared by all arms
    methods: tuple[str, ...] = ("most_popular", "bigrec", "d3", "igd")  # ARMS
    seeds: tuple[int, ...] = (0, 1, 2)
    betas: tuple[float, ...] = (0.2,)  # IGD-Tuning's beta (a grid is selected on validation)
    alphas: tuple[float, ...] = (0.2,)  # IGD-Decoding's alpha (idem, after beta)
    pos_betas: tuple[float, ...] | None = None  # Pos / CFT / linear: None = the IGD grid
    cft_betas: tuple[float, ...] | None = None
    linear_betas: tuple[float, ...] | None = None
    select_metric: str = "hr@10"  # the paper selects on validation HR@10
    select_users: int | None = None  # validation users for selection (None: all)
    select_seed: int | None = None  # make the choices on this seed only, reuse them for the others
    out_dir: str = "checkpoints"
    split: str = "test"
    max_users: int | None = None
    num_beams: int = 10
    batch_size: int = 16
    beam_stop: str = "fast"
    history_titles: bool = False  # SID arms: titles beside the IDs in the history (TrainConfig)

    def __post_init__(self) -> None:
        owner = "ExperimentConfig"
        arms = ", ".join(ARMS)
        if not self.methods:
            raise ConfigError("methods", list(self.methods), "empty", f"pass a comma list of arms from {arms}", owner)
        if unknown := [m for m in self.methods if m not in ARMS]:
            raise ConfigError("methods", list(self.methods), f"unknown arm {unknown[0]!r}",
                              f"choose from {arms} (names are lower case)", owner)
        for name in ("seeds", "betas", "alphas"):
            if not getattr(self, name):
                raise ConfigError(name, list(getattr(self, name)), "empty", "pass at least one value", owner)
        for s in self.seeds:
            check_seed(self, "seeds", s)
        if self.history_titles and not any(ARMS[m].items == "sid" for m in self.methods):
            raise ConfigError("history_titles", True, "no semantic-ID arm to put titles beside",
                              "add a sid_* arm to --methods, or leave --history-titles out", owner)
        check_choice(self, "select_metric", self.select_metric, SELECT_METRICS)
        check_choice(self, "beam_stop", self.beam_stop, BEAM_STOPS)
        for name in ("betas", "alphas", "pos_betas", "cft_betas", "linear_betas"):
            values, alphas = getattr(self, name) or (), name == "alphas"  # beta 0: see TrainConfig
            if any(not (is_number(v) and (0.0 <= v if alphas else 0.0 < v) and v <= 1.0) for v in values):
                interval = "[0, 1]" if alphas else "(0, 1]"
                raise ConfigError(name, list(values), "out of range", f"give every value in {interval}", owner)
        check_at_least(self, "num_beams", 2)
        check_at_least(self, "batch_size", 1)
        for name in ("max_users", "select_users"):
            if getattr(self, name) is not None:
                check_at_least(self, name, 1)
        if self.select_seed is not None:
            check_seed(self, "select_seed", self.select_seed)
        # Selection reads the metric at K; a list shorter than K has no such metric.
        selects = any(len(getattr(self, g) or ()) > 1 for g in ("betas", "alphas", "pos_betas", "cft_betas",
                                                                  "linear_betas"))
        if selects and int(self.select_metric.split("@")[1]) > self.num_beams:
            k = self.select_metric.split("@")[1]
            raise ConfigError("num_beams", self.num_beams, f"fewer beams than the K of select_metric "
                              f"{self.select_metric}, which selects beta/alpha", f"pass {k} beams or more", owner)

    def beta_grid(self, arm: Arm) -> tuple[float, ...]:
        """The beta values an arm's training family is selected from."""
        if arm.train == "pos":
            return self.pos_betas or self.betas
        if arm.train == "cft":
            return self.cft_betas or self.betas
        if arm.weighting == "linear":
            return self.linear_betas or self.betas
        return self.betas
