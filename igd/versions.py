"""Package versions recorded with every run (reproducibility)."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("igd", "torch", "transformers", "tokenizers", "peft", "accelerate", "numpy", "sqlite-utils")


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
