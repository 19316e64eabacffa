"""Checkpoints: model weights (safetensors) or a LoRA adapter, the tokenizer, the compact
vocabulary of `tiny`, and `igd_checkpoint.json` (method, beta, template, dataset and trie
fingerprints, seed, versions). Written to a temporary folder and renamed into place, so a
killed run never leaves a half-written checkpoint."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from igd.models import CompactTokenizer, device_and_dtype, load_pretrained
from igd.templates import Template
from igd.tokenization import Tokenizer, load_tokenizer

META = "igd_checkpoint.json"


@dataclass
class Checkpoint:
    model: object
    tokenizer: Tokenizer
    template: Template
    meta: dict
    path: Path


def check_output_dir(out: Path, overwrite: bool) -> None:
    """Refuse to replace anything that is not an igd checkpoint, and a checkpoint unless asked."""
    occupied = (out.is_dir() and any(out.iterdir())) or (out.exists() and not out.is_dir())
    if occupied:
        if not (out / META).exists():
            raise ValueError(f"{out} exists and is not an igd checkpoint; choose another --out "
                             "(nothing was changed)")
        if not overwrite:
            raise ValueError(f"{out} already holds a checkpoint; pass --overwrite to replace it")


def save_checkpoint(out: Path, model, tokenizer: Tokenizer, template: Template, meta: dict) -> Path:
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save_pretrained(tmp / "model")  # safetensors; only the adapter for a PEFT model
    base = tokenizer.base if isinstance(tokenizer, CompactTokenizer) else tokenizer
    base.save(tmp / "tokenizer")
    if isinstance(tokenizer, CompactTokenizer):
        (tmp / "vocab.json").write_text(json.dumps([int(i) for i in tokenizer.keep]))
    record = {**meta, "template": asdict(template)}
    (tmp / META).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    old = out.with_name(f".{out.name}.old{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def load_checkpoint(path: Path | str, device=None) -> Checkpoint:
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(path)
    if not (path / META).exists():
        raise ValueError(f"{path} is not an igd checkpoint (no {META}); pass a folder made by "
                         "`igd train --out`")
    meta = json.loads((path / META).read_text())
    base: Tokenizer = load_tokenizer(str(path / "tokenizer"))
    tokenizer = CompactTokenizer(base, json.loads((path / "vocab.json").read_text())) \
        if (path / "vocab.json").exists() else base
    default_device, dtype = device_and_dtype()
    device = device or default_device
    if meta.get("finetune") in ("lora", "qlora"):
        from peft import PeftModel

        mode = "qlora" if meta["finetune"] == "qlora" and torch.cuda.is_available() else "lora"
        pretrained, _ = load_pretrained(meta["model"], mode, dtype)
        model = PeftModel.from_pretrained(pretrained, path / "model")
        if mode == "lora":
            model = model.merge_and_unload()  # plain forward passes for decoding
    else:
        model = AutoModelForCausalLM.from_pretrained(path / "model", dtype=dtype)
    model.to(device).eval()
    return Checkpoint(model, tokenizer, Template(**meta["template"]), meta, path)
