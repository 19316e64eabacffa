"""Amazon Review Data 2018 (McAuley lab) in the D3 layout, following the D3 preprocessing
("Decoding Matters", Bao et al.; their code/process.py) with the changes noted below.

Steps: read item titles from the meta file and clean them; keep the reviews of items with a
valid title inside a time window [start month, end month]; iterative k-core; if fewer than
`min_items` items survive, move the start one year earlier and retry (D3 does this to reach
10,000 items); then sliding windows and the global chronological 80/10/10 split (igd.prepare).

Differences from D3's script, on purpose: months are UTC (D3 used the machine's local time,
so its windows depended on where it ran); the end month is included (D3 stopped at the first
second of the end month); titles get full `html.unescape` (D3 replaced only &amp; and &quot;);
any HTML markup in a title drops the item (D3 only caught `<span id`, which let 1% of
`<span class=...` fragments into cds-small); the step-back stops once the window covers the
earliest review (D3 stopped at 1996); control characters, tabs and line breaks in a title
become one space (igd.prepare.clean_text), and an item whose title holds a tokenizer's
special-token text (`<|endoftext|>`...) is dropped like one with HTML markup, so every title
written passes the loader's check (igd.data.title_problem).
"""

from __future__ import annotations

import ast
import calendar
import gzip
import html
import json
import re
import zlib
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from igd.data import DataError, file_sha256, title_problem
from igd.prepare import (Interaction, check_replaceable, chronological_split, clean_text, k_core,
                         sliding_windows, write_d3)

GZIP_MAGIC = b"\x1f\x8b"
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# Opening or closing tags of common HTML elements: scraped meta titles sometimes hold page
# markup (`<span class="a-size-medium ...`). A bare "<" (e.g. "I <3 Music") is not markup.
_HTML_RE = re.compile(r"<\s*/?\s*(span|div|p|a|b|i|u|br|hr|img|font|strong|em|table|tr|td|"
                      r"ul|ol|li|h[1-6]|script|style|iframe|meta|link)\b", re.IGNORECASE)
DROP_REASONS = ("items_no_title", "items_title_too_long", "items_title_html",
                "items_title_special_token", "meta_duplicate_asin", "reviews_item_without_valid_title",
                "reviews_after_end", "reviews_before_start", "reviews_k_core")


@dataclass(frozen=True)
class AmazonConfig:
    min_items: int = 10_000  # step the time window back a year at a time until >= this many items
    end: str = "2018-11"     # end month of the window (inclusive), YYYY-MM
    start: str = "2017-10"   # first start month tried, YYYY-MM
    k: int = 5               # k-core
    max_title_words: int = 20
    max_history: int = 10

    def __post_init__(self) -> None:
        for name in ("min_items", "k", "max_title_words", "max_history"):
            value = getattr(self, name)
            # bool is an int subclass: True would silently mean 1.
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"AmazonConfig.{name} must be an integer >= 1, got {value!r}; "
                                 f"fix: set {name} to a positive whole number")
        if parse_month(self.start, "start") > parse_month(self.end, "end"):
            raise ValueError(f"AmazonConfig.start ({self.start}) is after end ({self.end}); "
                             "fix: choose a start month on or before the end month")


def parse_month(text: str, name: str = "month") -> tuple[int, int]:
    match = _MONTH_RE.match(text) if isinstance(text, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"AmazonConfig.{name} must be a month written YYYY-MM, got {text!r}; "
                         "fix: write it like '2017-10'")
    return int(match.group(1)), int(match.group(2))


def month_start(year: int, month: int) -> int:
    """Unix seconds of the first instant of the month in UTC (never local time: same windows
    on every machine)."""
    return calendar.timegm((year, month, 1, 0, 0, 0))


def clean_title(raw: Any, max_words: int) -> tuple[str | None, str]:
    """(title, "") if the item is kept, else (None, drop reason)."""
    if not isinstance(raw, str):
        return None, "items_no_title"
    # Line breaks, tabs and control characters would split or garble an info.txt line (or
    # end a title early in the tokenizer): each run becomes the space it stands for.
    title = clean_text(html.unescape(raw))
    # D3: strip spaces, then surrounding double quotes (the shared D3 catalogues have no title
    # starting or ending with '"'), then whitespace left inside the quotes.
    title = title.strip().strip('"').strip()
    if _HTML_RE.search(title):
        return None, "items_title_html"
    if len(title) < 2:  # D3 keeps titles with len > 1
        return None, "items_no_title"
    if len(title.split(" ")) > max_words:  # D3 counts words with split(" ")
        return None, "items_title_too_long"
    if title_problem(title):  # left after cleaning: special-token text, which no tokenizer reads as text
        return None, "items_title_special_token"
    return title, ""


def _parse_line(line: str, path: Path, lineno: int) -> dict:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as e:
        problem = (f"not valid JSON ({e.msg} at column {e.colno})"
                   if isinstance(e, json.JSONDecodeError) else "not valid JSON (nested too deep)")
        try:
            # Some Amazon meta dumps hold Python dict literals ({'asin': ...}). literal_eval
            # only builds literals: it never runs code (no eval).
            value = ast.literal_eval(line.strip())
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise DataError(path, lineno, problem,
                            "repair or delete this line: every line must be one JSON object "
                            "(re-download the file if it was truncated)") from None
    if not isinstance(value, dict):
        raise DataError(path, lineno, f"expected a JSON object, got {type(value).__name__}",
                        "write one {...} object per line")
    return value


def read_records(path: Path) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of a plain or gzipped JSON-lines file.
    Gzip is detected by its magic bytes, not the file name (downloads get renamed)."""
    if not path.is_file():
        raise DataError(path, None, "is not a file" if path.exists() else "file does not exist",
                        "pass the path of an Amazon 2018 reviews or meta file (.json or .json.gz)")
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == GZIP_MAGIC
    except PermissionError:
        raise DataError(path, None, "cannot be read (permission denied)", "make it readable (chmod a+r)") from None
    lineno = 0
    try:
        # newline="\n": only \n ends a record (JSON escapes every other control character).
        # utf-8-sig: a byte-order mark (files saved by Windows tools) is not part of line 1.
        with (gzip.open(path, "rt", encoding="utf-8-sig", newline="\n") if gz
              else open(path, encoding="utf-8-sig", newline="\n")) as f:
            for lineno, line in enumerate(f, start=1):
                if line.strip():
                    yield lineno, _parse_line(line, path, lineno)
    except UnicodeDecodeError as e:
        # The text reader decodes ahead in chunks: find the line in a binary pass.
        raise DataError(path, _first_bad_line(path, gz), f"not UTF-8 ({e.reason})",
                        "use the unmodified file from the Amazon 2018 release, or save it as "
                        "UTF-8") from None
    except (OSError, EOFError, zlib.error) as e:  # truncated or corrupt gzip
        raise DataError(path, lineno + 1, f"cannot read the file ({e})",
                        "re-download the file (it looks truncated or damaged)") from None


def _first_bad_line(path: Path, gz: bool) -> int | None:
    with gzip.open(path, "rb") if gz else open(path, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return lineno
    return None


def _field(rec: dict, name: str, path: Path, lineno: int) -> Any:
    if name not in rec or rec[name] is None:
        raise DataError(path, lineno, f"missing field {name!r}",
                        f"every line needs {name!r}; pass the matching Amazon 2018 file "
                        "(reviews: reviewerID, asin, overall, unixReviewTime; meta: asin)")
    return rec[name]


def _text(rec: dict, name: str, path: Path, lineno: int) -> str:
    value = _field(rec, name, path, lineno)
    if not isinstance(value, str) or not value:
        raise DataError(path, lineno, f"field {name!r} must be a non-empty string, got {value!r}",
                        f"write {name!r} as a JSON string")
    return value


def _number(rec: dict, name: str, path: Path, lineno: int) -> float:
    value = _field(rec, name, path, lineno)
    try:
        if isinstance(value, bool):
            raise ValueError
        return float(value)
    except (TypeError, ValueError):
        raise DataError(path, lineno, f"field {name!r} must be a number, got {value!r}",
                        f"write {name!r} as a number") from None


def read_titles(path: Path, max_words: int) -> tuple[dict[str, str], Counter]:
    """Cleaned titles by ASIN, and the meta records dropped by reason. If an ASIN appears
    twice (the 2018 meta files have such lines), the first line decides."""
    titles: dict[str, str] = {}
    seen: set[str] = set()
    dropped: Counter = Counter()
    for lineno, rec in read_records(path):
        asin = _text(rec, "asin", path, lineno)
        if asin in seen:
            dropped["meta_duplicate_asin"] += 1
            continue
        seen.add(asin)
        title, reason = clean_title(rec.get("title"), max_words)
        if title is None:
            dropped[reason] += 1
        else:
            titles[asin] = title
    return titles, dropped


def read_reviews(path: Path, titles: dict[str, str], end_before: int
                 ) -> tuple[list[Interaction], Counter]:
    """Reviews of titled items before `end_before` (unix seconds). Every line is validated,
    even one that is dropped, so a damaged file never passes silently. `order` is the line
    number: timestamp ties break the same way on every run."""
    kept: list[Interaction] = []
    dropped: Counter = Counter()
    for lineno, rec in read_records(path):
        user = _text(rec, "reviewerID", path, lineno)
        item = _text(rec, "asin", path, lineno)
        rating = _number(rec, "overall", path, lineno)
        seconds = _number(rec, "unixReviewTime", path, lineno)
        if not seconds.is_integer():
            raise DataError(path, lineno, f"unixReviewTime {seconds!r} is not whole seconds",
                            "write unixReviewTime as an integer (unix seconds)")
        if item not in titles:
            dropped["reviews_item_without_valid_title"] += 1
        elif seconds >= end_before:
            dropped["reviews_after_end"] += 1
        else:
            kept.append(Interaction(user, item, rating, int(seconds), lineno))
    return kept, dropped


def select_window(reviews: list[Interaction], config: AmazonConfig
                  ) -> tuple[list[Interaction], int, dict]:
    """k-core of the reviews from the start month on, stepping the start back a year while
    fewer than `min_items` items survive. Stops at the first start at or before the earliest
    review: that window is the full range, and `target_met` says whether it was enough."""
    earliest = min(x.timestamp for x in reviews)
    year, month = parse_month(config.start, "start")
    tries = []
    while True:
        lo = month_start(year, month)
        core = k_core([x for x in reviews if x.timestamp >= lo], config.k)
        n_items = len({x.item for x in core})
        tries.append({"start": f"{year:04d}-{month:02d}", "items": n_items})
        if n_items >= config.min_items or lo <= earliest:
            break
        year -= 1
    window = {"start": tries[-1]["start"], "end": config.end, "min_items": config.min_items,
              "target_met": n_items >= config.min_items, "full_range": lo <= earliest,
              "tries": tries}
    return core, lo, window


def build_amazon(reviews: Path, meta: Path, out: Path, config: AmazonConfig = AmazonConfig()
                 ) -> dict:
    """Build one Amazon 2018 category in the D3 layout into `out` and return a report: items,
    users, rows per split, the chosen window, the fingerprint and the drops by reason."""
    reviews, meta, out = Path(reviews), Path(meta), Path(out)
    check_replaceable(out)  # refuse a foreign --out before reading gigabytes of reviews
    titles, dropped = read_titles(meta, config.max_title_words)
    end_year, end_month = parse_month(config.end, "end")
    end_before = month_start(end_year + end_month // 12, end_month % 12 + 1)  # next month
    usable, review_drops = read_reviews(reviews, titles, end_before)
    dropped.update(review_drops)
    if not usable:
        raise DataError(reviews, None, f"no review of a titled item up to {config.end}",
                        f"check that {reviews.name} and {meta.name} are the same category "
                        "and that the end month is inside the data")

    core, lo, window = select_window(usable, config)
    in_window = sum(1 for x in usable if x.timestamp >= lo)
    dropped["reviews_before_start"] = len(usable) - in_window
    dropped["reviews_k_core"] = in_window - len(core)
    if not core:
        raise DataError(reviews, None, f"no interactions survive the {config.k}-core "
                        f"(window {window['start']}..{config.end})",
                        "lower k, or pass a larger reviews file (e.g. the full, not the 5-core one)")

    splits = chronological_split(sliding_windows(core, max_history=config.max_history))
    drops = {reason: dropped[reason] for reason in DROP_REASONS}
    manifest = {"builder": "amazon", "config": asdict(config), "window": window, "dropped": drops,
                "source": {"reviews": file_sha256(reviews), "meta": file_sha256(meta)}}
    fingerprint = write_d3(out, titles, splits, manifest)

    items = {x.item for ws in splits.values() for w in ws for x in (*w.history, w.target)}
    return {
        "items": len(items),
        "users": len({x.user for x in core}),
        "interactions": len(core),
        "rows": {name: len(rows) for name, rows in splits.items()},
        "window": window,
        "fingerprint": fingerprint,
        "dropped": drops,
        # Kept, as D3 keeps them; reported because the 2018 files repeat some reviews.
        "duplicate_reviews_kept": sum(n - 1 for n in Counter(
            (x.user, x.item, x.timestamp) for x in core).values()),
        # Several ids may share a title (the catalogue allows it): distinct titles shared.
        "duplicate_titles": sum(1 for n in Counter(titles[i] for i in items).values() if n > 1),
        "source": {"reviews": str(reviews), "meta": str(meta)},
    }
