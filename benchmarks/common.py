"""What the benchmark scripts share: the machine they ran on, MovieLens-100K on demand, and
the output convention (table on stdout, or with --json the table on stderr and one JSON
object on stdout). Standard library only, so importing it moves no memory baseline."""

from __future__ import annotations

import json, os, platform, subprocess, sys  # noqa: E401
from pathlib import Path
from typing import Any, Callable, TextIO

REPO = Path(__file__).resolve().parents[1]
LIBRARIES = ("torch", "transformers", "numpy", "tokenizers")


def _version(name: str) -> str | None:
    """The version of the module this process runs if it is imported, else the installed one
    (without importing it: torch alone takes seconds), else None."""
    module = sys.modules.get(name)
    if module is not None and hasattr(module, "__version__"):
        return str(module.__version__)
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The machine and libraries of this run; the load average is the one at the call, so
    call it at the end. `torch_threads` only where the script has imported torch (otherwise
    torch's default would be reported for a run that never used it); `extra` is appended."""
    from igd.versions import cpu_model  # standard library only, like this module

    cpu = cpu_model()
    env: dict[str, Any] = {"python": platform.python_version()}
    env |= {name: v for name in LIBRARIES if (v := _version(name)) is not None}
    env |= {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
            "cpu_model": cpu, "platform": platform.platform()}
    if "torch" in sys.modules:
        env["torch_threads"] = sys.modules["torch"].get_num_threads()
    env |= {"loadavg_1_5_15": os.getloadavg(),
            "TOKENIZERS_PARALLELISM": os.environ.get("TOKENIZERS_PARALLELISM", "(unset)")}
    return env | (extra or {})


def ensure_data(path: Path) -> None:
    """Build MovieLens-100K at `path` with `igd data movielens` unless it is there."""
    if (path / "train.csv").is_file():
        return
    print(f"building {path} with `igd data movielens`", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "igd", "data", "movielens", "--out", str(path)],
                   check=True, cwd=REPO)


def emit(r: dict[str, Any], report_fn: Callable[[dict[str, Any], TextIO], None], as_json: bool) -> None:
    """The table on stdout; with `as_json` the table on stderr and `r` as JSON on stdout."""
    report_fn(r, sys.stderr if as_json else sys.stdout)
    if as_json:
        print(json.dumps(r))
