"""Validation helpers of the configs in igd.config (torch-free): one error class that names
the field, its value, the problem and the fix, so the CLI can name the option instead."""

from __future__ import annotations

import math

SEED_MAX = 2**32 - 1  # numpy's seed range (the Trainer seeds numpy)


class ConfigError(ValueError):
    """A config value that makes no sense. `field` (dotted for nested configs: 'tiny.layers')
    and `owner` (the config class) let the CLI name its option (igd.cli_parser.option_for)."""

    def __init__(self, field: str, value, problem: str, fix: str, owner: str = ""):
        super().__init__(f"{field}={value!r}: {problem}. Fix: {fix}")
        self.field, self.value, self.problem, self.fix, self.owner = field, value, problem, fix, owner


def is_number(value) -> bool:
    """An int or float, not a bool (True is no beta)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_choice(config, name: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(name, value, "unknown", f"choose one of {', '.join(map(str, allowed))}",
                          type(config).__name__)


def check_at_least(config, name: str, low: int, prefix: str = "") -> None:
    """An int field >= low; `prefix` names a nested config ('tiny' -> 'tiny.layers')."""
    value = getattr(config, name)
    if not (is_int(value) and value >= low):
        raise ConfigError(f"{prefix}.{name}" if prefix else name, value, f"must be an integer >= {low}",
                          f"pass {low} or more", type(config).__name__)


def check_range(config, name: str, low: float, high: float, low_open: bool = False) -> None:
    """A finite number in [low, high] ((low, high] when low_open); NaN and inf are refused."""
    value = getattr(config, name)
    if not (is_number(value) and math.isfinite(value) and (low < value if low_open else low <= value)
            and value <= high):
        fix = (f"pass a finite number >= {low:g}" if high == math.inf
               else f"pass a number in {'(' if low_open else '['}{low:g}, {high:g}]")
        raise ConfigError(name, value, "out of range", fix, type(config).__name__)


def check_seed(config, name: str, value) -> None:
    if not (is_int(value) and 0 <= value <= SEED_MAX):
        raise ConfigError(name, value, "not a seed", f"pass an integer in [0, {SEED_MAX}]", type(config).__name__)
