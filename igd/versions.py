"""Package versions recorded with every run (reproducibility)."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("igd", "torch", "transformers", "tokenizers", "peft", "accelerate", "numpy", "sqlite-utils")


def cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else what `platform` knows."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        return cpu


def machine() -> str:
    """The CPU (and GPU, when torch is imported and sees one) a run used: reports say where
    their times come from."""
    import os
    import sys

    text = f"{os.cpu_count()} CPUs ({cpu_model()})"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "machine": machine()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
