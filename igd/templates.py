"""The one place that owns prompt text and target text (README: Token information gain).

Training labels, trie paths and the text evaluation matches all come from `target_ids`, so
they cannot drift apart. The prompt/response boundary is ``len(prompt_ids(...))``: derived
from the tokenizer, never a hard-coded token count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from igd.config import PREAMBLES, STYLES
from igd.tokenization import Tokenizer

_PROMPT = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\nGiven a list of {category} the user interacted with before, "
    "please recommend a new item that the user likes to the user.\n\n"
    "### Input:\nThe user interacted with the following {category} before: {history}\n\n"
    "### Response:\n")
# The same information without the instruction boilerplate: ~60 fewer tokens per sample,
# which matters for models trained from scratch on a CPU (`tiny`).
_SHORT = "The user interacted with these {category} in order: {history}\nNext item:\n"
# The public IGD code's prompt (its IGDataset, first instruction), typos included, since the
# tokens are what a reproduction must match: an instruction part encoded with BOS, then the
# input part encoded on its own; history titles unquoted, joined by ", "; "{category}s".
_OFFICIAL_INSTRUCTION = (
    "Below is an instruction that describes a task, paired with an input that provides "
    "further context. Write a response that appropriately completes the request. \n\n"
    "### Instruction:\nGiven a list of {category} the user recetenly enjoy, please write a "
    "new {category} that the user may bought\n")
_OFFICIAL_INPUT = ("### User Input: \nThe user has palyed the following {category}s before: "
                   "{history}\n\n### Response: \n")


@dataclass(frozen=True)
class Template:
    """Prompt and target text.

    style: "plain" is IGD's target (``title\\n`` + EOS); "quoted" is D3/BIGRec's
    (``"title"\\n`` + EOS); "codes" is a semantic ID's code tokens + EOS (``--items sid``: the
    "title" is the ID, e.g. ``<a_3><b_17><c_0>``). The history in the prompt is quoted titles,
    or IDs joined by ", " (each code is one token; quotes would add two per item).
    names: with "codes", ID -> title: each history ID is followed by its quoted title
    (``<a_3><b_17><c_0> "Heat (1995)"``), the paper's "history as codes, optionally with
    titles" (`--history-titles`). The target stays the codes. Saved with the checkpoint.
    max_history: keep the most recent items only (the data has at most 10 per sample).
    preamble: "alpaca" is the BIGRec/D3/IGD instruction prompt; "short" drops the boilerplate;
    "official" is the public IGD code's prompt, token for token (pass the category in the
    singular, e.g. `movie`, as its scripts do: it appends "s").
    """

    style: str = "plain"
    category: str = "items"
    max_history: int = 10
    preamble: str = "alpaca"
    names: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.style not in (*STYLES, "codes"):
            raise ValueError(f"style={self.style!r}: choose one of {', '.join(STYLES)}, or codes (semantic IDs)")
        if self.max_history < 1:
            raise ValueError(f"max_history={self.max_history}: must be >= 1")
        if self.preamble not in PREAMBLES:
            raise ValueError(f"preamble={self.preamble!r}: choose one of {', '.join(PREAMBLES)}")
        if not self.category.strip():
            raise ValueError("category must be a non-empty noun such as 'items' or 'movies'")
        if self.names is not None and self.style != "codes":
            raise ValueError("names (titles beside IDs in the history) need style='codes'")

    def prompt(self, history_titles: Sequence[str]) -> str:
        return "".join(self.prompt_parts(history_titles))

    def prompt_parts(self, history_titles: Sequence[str]) -> tuple[str, ...]:
        """The prompt as the pieces that are tokenised separately (then concatenated)."""
        history = self.history_text(list(history_titles)[-self.max_history:])
        if self.preamble == "official":
            return (_OFFICIAL_INSTRUCTION.format(category=self.category),
                    _OFFICIAL_INPUT.format(category=self.category, history=history))
        text = _PROMPT if self.preamble == "alpaca" else _SHORT
        return (text.format(category=self.category, history=history or "(nothing yet)"),)

    def history_text(self, titles: Sequence[str]) -> str:
        """The history list inside the prompt: quoted titles, or plain ones (official)."""
        if self.names is not None:  # an ID typed in that the catalogue lacks keeps no title
            return ", ".join(f'{t} "{self.names[t]}"' if t in self.names else t for t in titles)
        if self.preamble == "official" or self.style == "codes":
            return ", ".join(titles)
        return ", ".join(f'"{t}"' for t in titles)

    def target_text(self, title: str) -> str:
        if self.style == "codes":
            return title
        return f'"{title}"\n' if self.style == "quoted" else f"{title}\n"

    def title_from_text(self, text: str) -> str:
        """Inverse of `target_text` on generated text: what evaluation compares to titles."""
        text = text.split("\n", 1)[0]
        if self.style == "quoted" and len(text) >= 2 and text[0] == text[-1] == '"':
            text = text[1:-1]
        return text


def target_ids(tokenizer: Tokenizer, template: Template, titles: Sequence[str]) -> list[list[int]]:
    """Token ids of each title's target exactly as training labels: the response encoded on
    its own (no special tokens) followed by the EOS id."""
    texts = [template.target_text(t) for t in titles]
    eos = tokenizer.eos_token_id
    return [ids + [eos] for ids in tokenizer.encode_batch(texts)]


def prompt_ids(tokenizer: Tokenizer, template: Template, history_titles: Sequence[str]) -> list[int]:
    return prompt_ids_batch(tokenizer, template, [history_titles])[0]


def prompt_ids_batch(tokenizer: Tokenizer, template: Template,
                     histories: Sequence[Sequence[str]]) -> list[list[int]]:
    """Prompt ids of many histories in one batched encode per prompt part (BOS first when the
    tokenizer has one); parts are encoded on their own and concatenated."""
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    parts = [template.prompt_parts(h) for h in histories]
    encoded = [tokenizer.encode_batch([p[k] for p in parts]) for k in range(len(parts[0]))] if parts else []
    return [bos + [t for part in encoded for t in part[i]] for i in range(len(histories))]


def training_example(tokenizer: Tokenizer, template: Template, history_titles: Sequence[str],
                     title: str) -> tuple[list[int], list[int]]:
    """(input_ids, labels): prompt labels are -100 (Eq. 1 trains on target tokens only)."""
    prompt = prompt_ids(tokenizer, template, history_titles)
    target = target_ids(tokenizer, template, [title])[0]
    return prompt + target, [-100] * len(prompt) + target
