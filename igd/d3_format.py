"""The text of a D3 / MiniOneRec dataset: info.txt lines, CSV records and their cells.

igd.data reads the files (UTF-8, byte-order mark dropped, manifest checked) and decides the
layout; the functions here turn text into a Catalogue and Samples. Every error is a
DataError naming the file, the line and the fix. List cells are parsed with
``ast.literal_eval`` only (never ``eval``).
"""

from __future__ import annotations

import ast
import csv
import io
import math
import re
from pathlib import Path
from typing import Mapping, NoReturn

from igd.data import Catalogue, DataError, Sample, title_problem

SID_RE = re.compile(r"^(<[^<>\t]+>)+$")
# What info.txt alone takes for a semantic id: 2+ codes (MiniOneRec's are <a_1><b_2><c_3>),
# so a D3 title such as "<3>\tLove Songs" is never mistaken for one.
_SID_GUESS_RE = re.compile(r"^(<[^<>\t]+>){2,}$")
_INT_LIST_RE = re.compile(r"^\s*\[\s*(\d{1,18}\s*(,\s*\d{1,18}\s*)*)?\]\s*$")  # 18: MAX_ID_DIGITS
# ASCII digits only: int() also takes "1_0" and other scripts' digits ("\u0661"), not ids.
_INT_RE = re.compile(r"^\s*[+-]?[0-9]+\s*$")
MAX_ID_DIGITS = 18  # a longer number is no id (and int() refuses 4,300+ digits, unclearly)
# Columns the loader needs; the other D3 columns (asins, titles, ratings) are kept in the
# files for other tools but not required here.
D3_REQUIRED = ("user_id", "history_item_id", "item_id")
MINIONEREC_REQUIRED = ("user_id", "history_item_id", "item_id", "history_item_sid", "item_sid")
Record = tuple[int, list[str]]  # (line number, fields) of one CSV record


def lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the non-blank lines. Split on \\n only: the title check then
    catches a stray \\r or U+0085 instead of it silently splitting a title."""
    out = []
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")  # CRLF files: only the final \r is a line ending
        if line.strip():
            out.append((lineno, line))
    return out


def all_sid_lines(text: str) -> bool:
    """Every line is `sid<TAB>title<TAB>id` (how info.txt alone says MiniOneRec)."""
    rows = lines(text)
    return bool(rows) and all(len(parts := line.split("\t")) >= 3 and _SID_GUESS_RE.match(parts[0])
                              for _, line in rows)


def parse_info(path: Path, text: str, layout: str) -> Catalogue:
    entries: dict[int, tuple[str, str | None]] = {}
    line_of: dict[int, int] = {}
    for lineno, line in lines(text):
        if "\t" not in line:
            raise DataError(path, lineno, "line has no TAB between title and item id",
                            "write `title<TAB>item_id` (MiniOneRec: `sid<TAB>title<TAB>item_id`)")
        head, id_text = line.rsplit("\t", 1)
        sid = None
        if layout == "minionerec":
            sid, sep, head = head.partition("\t")
            if not sep or not SID_RE.match(sid):
                raise DataError(path, lineno, f"expected `sid<TAB>title<TAB>id`, got {line[:80]!r}",
                                "give every line of a MiniOneRec info.txt a semantic id like <a_1><b_2><c_3>")
        item_id = _parse_int(id_text, path, lineno, "item id")
        if problem := title_problem(head):
            raise DataError(path, lineno, problem,
                            "write a plain-text title (remove control characters; reword "
                            "special-token text, e.g. <|endoftext|> -> endoftext)")
        if item_id in entries:
            raise DataError(path, lineno, f"duplicate item id {item_id}",
                            "give every item a unique id 0..N-1 (titles may repeat, ids may not)")
        entries[item_id] = (head, sid)
        line_of[item_id] = lineno
    if not entries:
        raise DataError(path, None, "info.txt lists no items", "add at least one `title<TAB>item_id` line")
    missing = sorted(set(range(len(entries))) - entries.keys())
    if missing:
        stray = min(i for i in entries if not 0 <= i < len(entries))  # exists: ids are unique
        raise DataError(path, line_of[stray],
                        f"item id {stray} is outside 0..{len(entries) - 1}: id {missing[0]} is missing",
                        "number the items 0..N-1 without gaps, as the D3 layout does")
    titles = tuple(entries[i][0] for i in range(len(entries)))
    sids = tuple(entries[i][1] for i in range(len(entries))) if layout == "minionerec" else None
    return Catalogue(titles, sids)


def csv_records(path: Path, text: str) -> list[Record]:
    """(line number, fields) of every CSV record, the header first. A record may span lines
    (quoted newlines): its number is the line it starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            limit = "field larger than field limit" in str(e)
            raise DataError(path, start, f"a field is longer than {csv.field_size_limit():,} characters"
                            if limit else f"not a readable CSV record ({e})",
                            "close every opening quote (\"...\"): an unclosed quote runs on to the "
                            "end of the file; D3 list cells hold at most 10 items") from None
        rows.append((start, row))
    if not rows:
        raise DataError(path, 1, "empty file", "write a header line and one row per sample")
    if len(rows) == 1:
        raise DataError(path, None, "has a header but no rows",
                        f"add one row per sample, or delete {path.name} if the dataset has no "
                        f"{path.stem} split")
    return rows


def csv_header(path: Path, text: str) -> Record:
    """The first CSV record (the header) alone: what the layout is decided from."""
    try:
        header = next(csv.reader(io.StringIO(text, newline="")), None)
    except csv.Error as e:
        raise DataError(path, 1, f"not a readable CSV record ({e})", "write the header as one CSV line") from None
    if header is None:
        raise DataError(path, 1, "empty file", "write a header line and one row per sample")
    return 1, header


def dataset_layout(root: Path, tables: Mapping[str, list[Record]], info_text: str) -> str:
    """One layout for the whole dataset, from the CSV headers, never from how a title looks:
    MiniOneRec if they carry item_sid/history_item_sid, else D3."""
    kinds = {s: "minionerec" if {"item_sid", "history_item_sid"} & set(rows[0][1]) else "d3"
             for s, rows in tables.items()}
    first = next(iter(kinds))
    for split, kind in kinds.items():
        if kind != kinds[first]:
            raise DataError(root / f"{split}.csv", 1, f"header has the {kind} layout but "
                            f"{first}.csv has the {kinds[first]} layout",
                            "give every split CSV the same columns (the MiniOneRec layout adds "
                            "history_item_sid and item_sid)")
    if kinds[first] == "d3" and all_sid_lines(info_text):  # sids in info.txt, none in the CSVs
        raise DataError(root / f"{first}.csv", 1, "missing column(s) history_item_sid, item_sid: "
                        "info.txt gives every item a semantic id (MiniOneRec layout)",
                        "add the history_item_sid and item_sid columns (MiniOneRec), or drop the "
                        "semantic ids from info.txt (D3: title<TAB>item_id)")
    return kinds[first]


def parse_samples(path: Path, rows: list[Record], catalogue: Catalogue,
                  layout: str) -> tuple[Sample, ...]:
    required = MINIONEREC_REQUIRED if layout == "minionerec" else D3_REQUIRED
    (_, header), body = rows[0], rows[1:]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(path, 1, f"missing column(s) {', '.join(missing)}",
                        f"the {layout} layout needs columns {', '.join(required)}")
    col = {name: header.index(name) for name in header}
    samples = []
    for lineno, row in body:
        if len(row) != len(header):
            raise DataError(path, lineno, f"row has {len(row)} fields, header has {len(header)}",
                            "quote fields containing commas (\"...\") and keep one sample per row")
        samples.append(_row_to_sample(row, col, path, lineno, len(catalogue)))
    return tuple(samples)


def _row_to_sample(row: list[str], col: dict[str, int], path: Path, lineno: int,
                   n_items: int) -> Sample:
    history = parse_int_list(row[col["history_item_id"]], path, lineno, "history_item_id")
    target = _parse_int(row[col["item_id"]], path, lineno, "item_id")
    for item in (*history, target):
        if not 0 <= item < n_items:
            raise DataError(path, lineno, f"item id {item} is not in info.txt (0..{n_items - 1})",
                            "use ids from the dataset's own info.txt")
    ts = None
    if "timestamp" in col and row[col["timestamp"]].strip():
        ts = _parse_timestamp(row[col["timestamp"]], path, lineno)
    return Sample(row[col["user_id"]], tuple(history), target, ts)


def parse_int_list(cell: str, path: Path, lineno: int, column: str) -> list[int]:
    """Parse a Python list literal of ints, e.g. ``[3, 17]`` (ast.literal_eval, never eval).

    Plain lists of non-negative ids take a regex fast path (10x faster than building an
    AST; loading MovieLens parses ~100k cells); anything else goes through literal_eval."""
    if _INT_LIST_RE.match(cell):
        inner = cell.strip()[1:-1]
        return [int(x) for x in inner.split(",")] if inner.strip() else []
    digits = max(map(len, re.findall(r"\d+", cell)), default=0)
    if digits > MAX_ID_DIGITS:  # before literal_eval, whose int() stops at 4300 digits
        _too_long(path, lineno, column, digits)
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise DataError(path, lineno, f"column {column} is not a Python list literal: {cell[:60]!r}",
                        "write list cells as Python literals, e.g. \"[12, 7, 3]\"") from None
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise DataError(path, lineno, f"column {column} must be a list of integers, got {cell[:60]!r}",
                        "write item ids as integers, e.g. \"[12, 7, 3]\"")
    return value


def _too_long(path: Path, lineno: int, what: str, digits: int) -> NoReturn:
    raise DataError(path, lineno, f"{what} has a number of {digits:,} digits: too long to be an item id",
                    f"write {what} with the ids from info.txt (0..N-1)")


def _parse_int(text: str, path: Path, lineno: int, what: str) -> int:
    if not _INT_RE.match(text):
        raise DataError(path, lineno, f"{what} {text[:40]!r} is not an integer",
                        f"write the {what} as a plain integer")
    digits = len(text.strip().lstrip("+-"))
    if digits > MAX_ID_DIGITS:
        _too_long(path, lineno, what, digits)
    return int(text)


def _parse_timestamp(text: str, path: Path, lineno: int) -> int:
    try:
        seconds = float(text)
    except ValueError:
        raise DataError(path, lineno, f"timestamp {text[:40]!r} is not a number",
                        "write the timestamp as a number (unix seconds)") from None
    if not math.isfinite(seconds):  # inf/nan: int() would raise OverflowError/ValueError
        raise DataError(path, lineno, f"timestamp {text[:40]!r} is not a finite number",
                        "write the timestamp as unix seconds, or leave the cell empty")
    return int(seconds)
