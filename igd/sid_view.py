"""What the app shows of an item named by a semantic ID, computed without Streamlit.

A checkpoint trained with `--items sid` decodes IDs (`<a_3><b_17><c_0>`) on a trie of code
tokens; a reader still thinks in titles. Here: the dataset in the view a checkpoint reads
(`item_view`), the readable label of an item key ("Toy Story (1995) · <a_3><b_17><c_0>"), a
history typed as titles turned into the keys the prompt uses, and the level of a code token
(a = level 1, the coarsest). In the title view every function leaves titles as they are.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from igd.config import ITEMS
from igd.data import Catalogue, Dataset, sid_items
from igd.sid_tokens import CODE_RE

SEPARATOR = " · "  # between a readable title and its ID in the app's lists


def item_view(dataset: Dataset, items: str) -> Dataset:
    """`dataset` with its items named as `items` says (igd.config.ITEMS): by their semantic IDs
    (catalogue.titles = the IDs, names = the titles) or by their titles. A dataset without IDs
    raises the DataError of `sid_items` (its fix: `igd sid build`)."""
    if items not in ITEMS:
        raise ValueError(f"items={items!r}: choose one of {', '.join(ITEMS)}")
    cat = dataset.catalogue
    if items == "sid":
        return dataset if cat.names is not None else sid_items(dataset)
    if cat.names is None:
        return dataset
    return replace(dataset, catalogue=Catalogue(titles=cat.names, sids=cat.sids))


def view_of(catalogue: Catalogue) -> str:
    """"sid" when the catalogue names items by semantic IDs, else "title"."""
    return "title" if catalogue.names is None else "sid"


def item_names(catalogue: Catalogue) -> dict[str, str]:
    """Semantic ID -> the title of its (first) item; empty in the title view."""
    if catalogue.names is None:
        return {}
    return {key: catalogue.name(ids[0]) for key, ids in catalogue.title_to_ids.items()}


def item_labels(catalogue: Catalogue) -> dict[str, str]:
    """Item key -> how the app shows it: "title · ID" in the sid view, nothing in the title
    view (a title shows as itself)."""
    return {key: f"{name}{SEPARATOR}{key}" for key, name in item_names(catalogue).items()}


def readable_titles(catalogue: Catalogue) -> list[str]:
    """The titles a reader picks from: distinct, in order of first appearance, in both views."""
    return list(dict.fromkeys(catalogue.name(i) for i in range(len(catalogue))))


def history_keys(entries: Sequence[str], catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """The history `entries` (readable titles, or IDs pasted as such) as the item keys the prompt
    uses, and a note per title that names several items (the first item's ID is used). In the
    title view the entries are the keys already; an unknown entry is kept as typed, so that
    igd.compare.check_history says it was skipped."""
    if catalogue.names is None:
        return list(entries), []
    keys_of: dict[str, list[str]] = {}
    for i, name in enumerate(catalogue.names):
        if catalogue.titles[i] not in keys_of.setdefault(name, []):
            keys_of[name].append(catalogue.titles[i])
    keys, notes, noted = [], [], set()
    for entry in entries:
        text = entry.strip()
        if text in catalogue.title_to_ids or text not in keys_of:
            keys.append(entry)
            continue
        keys.append(keys_of[text][0])
        if len(keys_of[text]) > 1 and text not in noted:
            noted.add(text)
            notes.append(f"{text!r} names {len(keys_of[text])} items ({', '.join(keys_of[text])}): the history "
                         f"uses the first, {keys_of[text][0]}. Paste an ID to choose another.")
    return keys, notes


def code_level(token: str) -> int | None:
    """The level of a code token: `<a_3>` is 1, `<b_17>` 2, ...; None for any other text."""
    m = CODE_RE.fullmatch(token)
    return None if m is None else ord(m.group(1)) - ord("a") + 1


def level_label(token: str) -> str:
    """A token's level as the token path shows it: "1 (a)" for `<a_3>`, "EOS" for the end
    (igd.compare.token_text writes EOS as <eos>), "" for text that is no code."""
    if token == "<eos>":
        return "EOS"
    level = code_level(token)
    return "" if level is None else f"{level} ({token[1]})"
