"""Which dtype and how many threads: chosen from the hardware and the load, by measurement.

Measured (README "Speed on a CPU", benchmarks/cpu_speed.py): on CPUs with native bf16 units
(AVX512-BF16 or AMX) SmolLM2-135M ran 3.4x faster forward in bf16 and 1.6x faster in a
forward+backward with autocast; on CPUs without them bf16 ran 7-27x SLOWER than fp32. So
`auto` is bf16 only where the CPU says it has the units (or on CUDA), fp32 otherwise. With
another process busy on one of 2 cores, torch's default of 2 threads ran 7x slower than 1
thread: `auto` threads are the cores not already busy (measured over 0.25 s), at least 1.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

from igd.config import DTYPES, THREADS_AUTO
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16 arithmetic


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo is not readable."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def native_bf16(flags: set[str] | None = None) -> bool:
    """True when the CPU computes bf16 natively (AVX512-BF16 or AMX)."""
    return bool(set(BF16_FLAGS) & (cpu_flags() if flags is None else flags))


def resolve_dtype(choice: str, device: str | None = None, flags: set[str] | None = None) -> str:
    """'fp32' or 'bf16' for a --dtype choice on `device` ('cpu' or 'cuda'; None: CUDA when
    present). auto: bf16 on a CUDA device that supports it and on a CPU with native bf16, fp32
    elsewhere."""
    if choice not in DTYPES:
        raise ValueError(f"--dtype {choice!r}: choose one of {', '.join(DTYPES)}")
    if choice != "auto":
        return choice
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if native_bf16(flags) else "fp32"


def torch_dtype(name: str):
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16}[name]


def auto_threads(cores: int | None = None, load: float | None = None, seconds: float = 0.25) -> int:
    """Threads for one process: the cores this process may use minus those already busy
    (`busy_cores` over `seconds`, measured now, unless `load` is given)."""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    load = busy_cores(seconds) if load is None else load
    return max(1, min(cores, cores - math.floor(load + 0.5)))


def busy_cores(seconds: float = 0.25, stat: Path = Path("/proc/stat")) -> float:
    """How many cores other processes keep busy: /proc/stat's busy share over `seconds`, times
    the cores (this process sleeps meanwhile). The 1-minute load average lags a job that just
    started by a minute; it is the fallback where /proc/stat is not readable."""
    def sample() -> tuple[int, int]:
        fields = [int(x) for x in stat.read_text().splitlines()[0].split()[1:]]
        return sum(fields[:8]), fields[3] + fields[4]  # total (without guest time), idle + iowait

    try:
        (t0, i0), _ = sample(), time.sleep(seconds)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    cores = os.cpu_count() or 1
    return cores * (1.0 - (i1 - i0) / (t1 - t0)) if t1 > t0 else 0.0


def parse_threads(text: str) -> int | str:
    """--threads: a count >= 1, or 'auto'."""
    if text == THREADS_AUTO:
        return text
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"--threads {text!r}: pass a number of threads >= 1, or auto")
    return n


def apply_threads(choice: int | str | None, seconds: float = 0.25) -> int | None:
    """Set torch's intra-op threads for this process; returns the count set (None: untouched).
    `seconds`: how long auto samples the load (the app, per request, samples less)."""
    if choice is None:
        return None
    import torch

    n = auto_threads(seconds=seconds) if choice == THREADS_AUTO else int(choice)
    torch.set_num_threads(n)
    return n
