"""Semantic-ID code tokens: one token per (level, code), e.g. `<a_12>`, next to any tokenizer.

A semantic ID such as `<a_12><b_3><c_40>` is L code tokens; the target of an item is its codes
plus EOS (templates: style "codes"). `SidTokenizer` gives every code of the catalogue its own
id after the base tokenizer's vocabulary and leaves all other text (the prompt's words) to the
base, so the trie, IG (Eq. 4-5 over code tokens), constrained decoding and the metrics treat
an ID exactly like a title whose tokens happen to be its codes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np

CODE_RE = re.compile(r"<([a-z])_(\d+)>")
SID_RE = re.compile(r"(?:<[a-z]_\d+>)+")


def sid_codes(sid: str) -> list[str]:
    """The code tokens of one ID, in order; ValueError when `sid` is not only codes."""
    if not SID_RE.fullmatch(sid):
        raise ValueError(f"{sid!r} is not a semantic ID (codes such as <a_12><b_3>)")
    return [m.group() for m in CODE_RE.finditer(sid)]


def code_matrix(sids: Sequence[str]) -> np.ndarray:
    """[n items, L levels] integer codes; ValueError when IDs differ in length or level order."""
    rows = []
    for sid in sids:
        matches = list(CODE_RE.finditer(sid))
        letters = "".join(m.group(1) for m in matches)
        if not SID_RE.fullmatch(sid) or letters != "abcdefghijklmnopqrstuvwxyz"[:len(letters)]:
            raise ValueError(f"semantic ID {sid!r}: codes must run <a_..><b_..>... in level order")
        rows.append([int(m.group(2)) for m in matches])
    if len({len(r) for r in rows}) > 1:
        raise ValueError(f"semantic IDs have {sorted({len(r) for r in rows})} levels: every ID needs the "
                         "same number (rebuild them with `igd sid build`)")
    return np.array(rows, dtype=np.int64)


class SidTokenizer:
    """`base` plus one id per code token: code k of `codes` is id base.vocab_size + k.

    Text between codes is encoded by `base`; a code not in `codes` (typed in the app) is base
    text too, so it never matches a trie path. EOS, padding and BOS are the base's."""

    def __init__(self, base, codes: Sequence[str]):
        self.base = base
        self.codes = tuple(sorted(set(codes), key=_code_key))
        self._id = {c: base.vocab_size + k for k, c in enumerate(self.codes)}
        self.vocab_size = base.vocab_size + len(self.codes)
        self.name = f"{base.name}+sid{len(self.codes)}"
        self.eos_token_id, self.pad_token_id = base.eos_token_id, base.pad_token_id
        self.bos_token_id = base.bos_token_id

    @classmethod
    def for_ids(cls, base, sids: Sequence[str]) -> "SidTokenizer":
        return cls(base, {c for sid in sids for c in sid_codes(sid)})

    def _pieces(self, text: str) -> list[str]:
        """Text split into code tokens and the text between them (re.split keeps the codes)."""
        parts = re.split(r"(<[a-z]_\d+>)", text)
        return [p for p in parts if p]

    def encode(self, text: str) -> list[int]:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        pieces = [self._pieces(t) for t in texts]
        plain = sorted({p for ps in pieces for p in ps if p not in self._id})
        encoded = dict(zip(plain, self.base.encode_batch(plain))) if plain else {}
        return [[i for p in ps for i in ([self._id[p]] if p in self._id else encoded[p])] for ps in pieces]

    def decode(self, ids: Sequence[int]) -> str:
        out, run = [], []
        for i in ids:
            if i >= self.base.vocab_size:
                out.append(self.base.decode(run) if run else "")
                run = []
                out.append(self.codes[i - self.base.vocab_size])
            else:
                run.append(i)
        out.append(self.base.decode(run) if run else "")
        return "".join(out)

    def save(self, folder: Path) -> None:
        """The base's files plus the code list in its roles file (load_tokenizer restores both)."""
        from igd.tokenization import ROLES_FILE

        self.base.save(folder)
        roles = Path(folder) / ROLES_FILE
        record = json.loads(roles.read_text(encoding="utf-8"))
        record["sid_codes"] = list(self.codes)
        roles.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _code_key(code: str) -> tuple[str, int]:
    m = CODE_RE.fullmatch(code)
    if m is None:
        raise ValueError(f"{code!r} is not a code token such as <a_12>")
    return m.group(1), int(m.group(2))
