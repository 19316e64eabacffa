"""Checkpoints: model weights (safetensors) or a LoRA adapter, the tokenizer, the compact
vocabulary of `tiny`, and `igd_checkpoint.json` (method, beta, template, dataset and trie
fingerprints, seed, versions, and the manifest).

The manifest (`files`: each file igd wrote, with its size and sha256) serves two rules:
- loading verifies it first, so a truncated, replaced or missing file is named, with the
  fix, before a library fails on it with a traceback;
- `--overwrite` replaces a checkpoint only when the folder holds nothing but the files its
  manifest lists, and then removes only those: a stray igd_checkpoint.json never makes
  igd delete the files around it. Checkpoints written before manifests count igd's fixed
  layout (`_LEGACY`) as theirs.

A checkpoint is written to a temporary sibling folder and renamed into place when complete, so
a killed run never leaves a half-written checkpoint at --out.
"""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import json
import os
import shutil
import stat
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Mapping

from igd.data import DataError, file_sha256
from igd.models import CompactTokenizer, load_pretrained
from igd.precision import resolve_dtype, torch_dtype
from igd.templates import Template
from igd.tokenization import ROLES_FILE, Tokenizer, load_tokenizer

META = "igd_checkpoint.json"
# Training-target counts per title (the item priors of Eq. 4), so loading a checkpoint rebuilds
# its IG trie without parsing the training split (3 s of the app's first use on MovieLens).
PRIOR_FILE = "item_prior.json"
LOAD_FIX = "retrain it with `igd train` (into a new --out), or point --checkpoint at a folder written by `igd train`"
KEEP_FIX = ("move the files you want to keep out of it, or choose another --out; nothing was deleted")
# The files of a checkpoint written before manifests: top-level entry -> name patterns inside.
_LEGACY = {"vocab.json": None, "model": ("*.json", "*.safetensors", "README.md"),
           "tokenizer": ("*.json", "merges.txt", "*.jinja", "*.model")}


class CheckpointError(DataError):
    """A checkpoint folder igd cannot load, or an --out folder igd must not replace."""

    def __init__(self, path: Path | str, problem: str, fix: str = LOAD_FIX):
        super().__init__(path, None, problem, fix)
        self.problem, self.fix = problem, fix


@dataclass
class Checkpoint:
    model: object
    tokenizer: Tokenizer
    template: Template
    meta: dict
    path: Path


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def read_meta(path: Path) -> dict:
    """The checkpoint's igd_checkpoint.json as a dict, or a CheckpointError saying why not."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise CheckpointError(path, "does not exist") from None
    except OSError as err:  # a symlink loop, a path through a file
        raise CheckpointError(path, f"cannot be opened ({_reason(err)})") from None
    if not stat.S_ISDIR(mode):
        raise CheckpointError(path, "is not a folder (a checkpoint is the folder `igd train --out` writes)")
    try:
        text = (path / META).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(path, f"has no {META}, so it is not an igd checkpoint") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = _reason(err) if isinstance(err, OSError) else "not UTF-8 text"
        raise CheckpointError(path, f"{META} cannot be read ({reason})") from None
    try:
        meta = json.loads(text)
    except ValueError as err:
        raise CheckpointError(path, f"{META} is not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(path, f"{META} holds a JSON {type(meta).__name__}, not igd's record of the checkpoint")
    return meta


def _manifest_entries(path: Path, meta: dict) -> dict[str, dict] | None:
    """The manifest (relative POSIX path -> size, sha256), None for a checkpoint written before
    manifests; CheckpointError when it is malformed or names a path outside the folder."""
    files = meta.get("files")
    if files is None:
        return None
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("size"), int) and isinstance(v.get("sha256"), str)
            for v in files.values()):
        raise CheckpointError(path, f"the 'files' manifest in {META} is malformed")
    for rel in files:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or rel == META:
            raise CheckpointError(path, f"the 'files' manifest in {META} names {rel!r}, not a file of the folder")
    return files


def _file_problem(file: Path, size: int, sha256: str | None) -> str | None:
    try:
        st = os.lstat(file)
        if stat.S_ISLNK(st.st_mode):
            st = os.stat(file)  # a link igd did not write, but to the right bytes is still fine
    except FileNotFoundError:
        return "is missing"
    except OSError as err:
        return f"cannot be read ({_reason(err)})"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_size != size:
        return f"is {st.st_size} bytes, but igd wrote {size} (truncated or replaced)"
    try:
        if sha256 is not None and file_sha256(file) != sha256:
            return "has changed since igd wrote it (its sha256 differs)"
    except OSError as err:
        return f"cannot be read ({_reason(err)})"
    return None


def verify(path: Path, meta: dict) -> None:
    """Check every file of the manifest (size and sha256), naming the first that differs."""
    for rel, entry in (_manifest_entries(path, meta) or {}).items():
        if problem := _file_problem(path / rel, entry["size"], entry["sha256"]):
            raise CheckpointError(path, f"{rel} {problem}")


def manifest(folder: Path) -> dict[str, dict]:
    """Size and sha256 of every file under `folder` (igd_checkpoint.json aside)."""
    return {p.relative_to(folder).as_posix(): {"size": p.stat().st_size, "sha256": file_sha256(p)}
            for p in sorted(folder.rglob("*")) if p.is_file() and p.relative_to(folder).as_posix() != META}


def checkpoint_hash(path: Path, meta: dict) -> str:
    """sha256 of the checkpoint's manifest (each file's path, size and sha256): the identity of
    the very files an evaluation decodes, recorded with it so that arms compared as paired can
    be shown to decode one checkpoint (retraining with the same seed is not bit-reproducible on
    CPU). `load_checkpoint` verifies the manifest first; a checkpoint written before manifests
    is hashed from its files as they are now."""
    files = _manifest_entries(path, meta) or manifest(path)
    return hashlib.sha256(json.dumps(files, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _entries(folder: Path) -> tuple[list[str], list[str]]:
    """(files and links, folders) under `folder` as relative POSIX paths; links are never followed."""
    files, dirs = [], []
    for root, subdirs, names in os.walk(folder, followlinks=False):
        rel = Path(root).relative_to(folder)
        for name in subdirs:
            (files if (Path(root) / name).is_symlink() else dirs).append((rel / name).as_posix())
        files += [(rel / name).as_posix() for name in names]
    return files, dirs


def _legacy_owned(rel: str, is_link: bool) -> bool:
    """Whether a pre-manifest checkpoint's file is one of igd's fixed layout (`_LEGACY`)."""
    top, _, rest = rel.partition("/")
    if is_link or top not in _LEGACY:
        return False
    if (patterns := _LEGACY[top]) is None:
        return not rest
    return "/" not in rest and any(fnmatch.fnmatch(rest, p) for p in patterns)


def owned_files(out: Path) -> list[str]:
    """The files igd wrote in the checkpoint at `out` (its manifest, or the fixed layout of
    a checkpoint written before manifests), META included. CheckpointError, before anything is
    deleted, when its record is unreadable or the folder holds anything else."""
    try:
        meta = read_meta(out)
        listed = _manifest_entries(out, meta)
    except CheckpointError as err:
        raise CheckpointError(out, f"{err.problem}, so igd cannot tell which files it wrote", KEEP_FIX) from None
    files, dirs = _entries(out)
    if listed is None and not isinstance(meta.get("template"), dict):  # a stray record: nothing else is igd's
        owned = {META}
    elif listed is None:
        owned = {META} | {f for f in files if _legacy_owned(f, (out / f).is_symlink())}
    else:
        owned = {META} | (set(listed) & set(files))
    parents = {p.as_posix() for f in owned for p in PurePosixPath(f).parents}
    foreign = [f for f in files if f not in owned or (out / f).is_symlink()] + [d for d in dirs if d not in parents]
    if foreign:
        shown = ", ".join(sorted(foreign)[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise CheckpointError(out, f"holds files igd did not write ({shown})", KEEP_FIX)
    return sorted(owned & set(files))


def check_output_dir(out: Path, overwrite: bool) -> list[str]:
    """Refuse, before any training, an --out igd cannot write or must not replace: a path
    under a file, a file, a link, a folder of other files, a checkpoint without --overwrite,
    or a checkpoint holding files igd did not write. Returns the files replacing it removes."""
    out = Path(out)
    if out.is_symlink():
        raise CheckpointError(out, "is a symbolic link", "pass the folder it points to, or a new path")
    existing = next(p for p in (out, *out.absolute().parents) if p.exists() or p.is_symlink())
    if existing != out:
        if not existing.is_dir():
            raise CheckpointError(out, f"{existing} is a file, not a folder", "choose an --out under a folder")
        if not os.access(existing, os.W_OK | os.X_OK):
            raise CheckpointError(out, f"cannot be created: {existing} is not writable", "choose another --out")
        return []
    if not out.is_dir():
        raise CheckpointError(out, "is a file", "choose a new or empty folder for --out (nothing was changed)")
    if not os.access(out.absolute().parent, os.W_OK | os.X_OK):
        raise CheckpointError(out, f"cannot be replaced: {out.absolute().parent} is not writable",
                              "choose another --out")
    if not any(out.iterdir()):
        return []
    if not (out / META).exists() and not (out / META).is_symlink():
        raise CheckpointError(out, "holds files and is not an igd checkpoint",
                              "choose a new or empty folder for --out (nothing was changed)")
    if not overwrite:
        raise CheckpointError(out, "already holds a checkpoint", "pass --overwrite to replace it, or choose "
                              "another --out")
    return owned_files(out)


def save_checkpoint(out: Path, model, tokenizer: Tokenizer, template: Template, meta: dict,
                    overwrite: bool = False, item_prior: Mapping[str, int] | None = None) -> Path:
    """Write the checkpoint beside `out`, then put it in place (replacing only igd's files).
    `item_prior`: the training-target count of each title, stored with meta's dataset fingerprint."""
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        model.save_pretrained(tmp / "model")  # safetensors; only the adapter for a PEFT model
        base = tokenizer.base if isinstance(tokenizer, CompactTokenizer) else tokenizer
        base.save(tmp / "tokenizer")
        if isinstance(tokenizer, CompactTokenizer):
            (tmp / "vocab.json").write_text(json.dumps([int(i) for i in tokenizer.keep]))
        if item_prior is not None:
            write_item_prior(tmp, meta["dataset_fingerprint"], item_prior)
        record = {**meta, "template": asdict(template), "files": manifest(tmp)}
        (tmp / META).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    except BaseException:  # a full disk, Ctrl-C: no half checkpoint left anywhere
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    try:  # again: --out may have changed during training
        owned = check_output_dir(out, overwrite)
    except CheckpointError as err:
        raise CheckpointError(out, f"{err.problem}; the new checkpoint is complete at {tmp}",
                              f"move it where you want it yourself, or {err.fix}") from None
    _replace(out, tmp, owned)
    return out


def write_item_prior(folder: Path, dataset_fingerprint: str, counts: Mapping[str, int]) -> None:
    record = {"dataset_fingerprint": dataset_fingerprint, "counts": sorted([t, int(n)] for t, n in counts.items())}
    (Path(folder) / PRIOR_FILE).write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")


def read_item_prior(folder: Path, dataset_fingerprint: str) -> Counter[str] | None:
    """The stored training-target counts if they were counted on this dataset (by fingerprint),
    else None (the caller counts them from the dataset). A checkpoint's trie fingerprint covers
    the counts, so whatever is read here is checked again when the trie is rebuilt."""
    path = Path(folder) / PRIOR_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        raise CheckpointError(folder, f"{PRIOR_FILE} cannot be read ({type(err).__name__})") from None
    counts = record.get("counts") if isinstance(record, dict) else None
    if not isinstance(counts, list) or not all(
            isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and type(c[1]) is int and c[1] > 0
            for c in counts):
        raise CheckpointError(folder, f"{PRIOR_FILE} does not hold [title, count] pairs")
    if record.get("dataset_fingerprint") != dataset_fingerprint:
        return None
    return Counter(dict(counts))


def _replace(out: Path, tmp: Path, owned: list[str]) -> None:
    """Rename `tmp` to `out`; an old checkpoint there is moved aside first and then only the
    files igd wrote (`owned`) are deleted from it (anything that appeared meanwhile stays)."""
    if not out.exists():
        tmp.rename(out)
        return
    old = out.with_name(f".{out.name}.old{os.getpid()}")
    out.rename(old)
    tmp.rename(out)
    for rel in owned:
        (old / rel).unlink(missing_ok=True)
    for folder in sorted((p for p in old.rglob("*") if p.is_dir() and not p.is_symlink()), reverse=True):
        try:
            folder.rmdir()
        except OSError as err:
            if err.errno != errno.ENOTEMPTY:
                raise
    try:
        old.rmdir()
    except OSError as err:
        if err.errno != errno.ENOTEMPTY:
            raise
        print(f"igd: kept {old}: files appeared in the old checkpoint while it was replaced", file=sys.stderr)


def _template(path: Path, meta: dict) -> Template:
    fields = meta.get("template")
    if not isinstance(fields, dict):
        raise CheckpointError(path, f"{META} has no 'template' (the prompt the model was trained with)")
    try:
        return Template(**fields)
    except (TypeError, ValueError) as err:  # an unknown or missing field, a bad value
        raise CheckpointError(path, f"the 'template' in {META} is not one igd can use ({err})") from None


def _compact(path: Path, base: Tokenizer) -> CompactTokenizer:
    """`tiny`'s compact vocabulary: vocab.json lists the kept ids of the base tokenizer."""
    try:
        keep = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CheckpointError(path, f"vocab.json cannot be read ({err})") from None
    if not (isinstance(keep, list) and keep and all(type(i) is int and 0 <= i < base.vocab_size for i in keep)):
        raise CheckpointError(path, f"vocab.json is not a list of ids of its tokenizer (0..{base.vocab_size - 1})")
    return CompactTokenizer(base, keep)


def load_checkpoint(path: Path | str, device=None, dtype: str = "auto") -> Checkpoint:
    """The model, tokenizer and template of a checkpoint, for decoding. `dtype` (DTYPES): the
    weights' dtype; auto is bf16 on CUDA and on a CPU with native bf16, fp32 elsewhere."""
    import torch
    from safetensors import SafetensorError
    from transformers import AutoModelForCausalLM

    path = Path(path)
    meta = read_meta(path)
    template = _template(path, meta)
    verify(path, meta)
    if not (path / "tokenizer" / ROLES_FILE).is_file():
        raise CheckpointError(path, f"tokenizer/{ROLES_FILE} is missing")
    try:
        base: Tokenizer = load_tokenizer(str(path / "tokenizer"))
    except (OSError, ValueError) as err:
        raise CheckpointError(path, f"its tokenizer cannot be read ({str(err).split('. Fix:')[0]})") from None
    tokenizer = _compact(path, base) if (path / "vocab.json").exists() else base
    device = device or torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch_dtype(resolve_dtype(dtype, torch.device(device).type))
    finetune = meta.get("finetune")
    if finetune in ("lora", "qlora"):
        from peft import PeftModel

        if not isinstance(meta.get("model"), str):
            raise CheckpointError(path, f"{META} does not name the base model of its LoRA adapter ('model')")
        mode = "qlora" if finetune == "qlora" and torch.cuda.is_available() else "lora"
        pretrained, _ = load_pretrained(meta["model"], mode, dtype)  # its own error names the base model
    try:
        if finetune in ("lora", "qlora"):
            model = PeftModel.from_pretrained(pretrained, path / "model")
            if mode == "lora":
                model = model.merge_and_unload()  # plain forward passes for decoding
        else:
            model = AutoModelForCausalLM.from_pretrained(path / "model", dtype=dtype)
    except (OSError, ValueError, SafetensorError) as err:  # a damaged file of a pre-manifest checkpoint
        raise CheckpointError(path, f"model/ cannot be loaded ({str(err).splitlines()[0]})") from None
    model.to(device=device, dtype=dtype).eval()
    return Checkpoint(model, tokenizer, template, meta, path)
