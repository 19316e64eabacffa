"""A tiny learnable dataset in the D3 layout for end-to-end tests (seconds, not minutes)."""

import random
from pathlib import Path

TITLES = ["apple", "apricot", "banana", "band", "bandana", "cherry", "kiwi", "lime", "lemon",
          "mango", "melon", "apple pie", "kiwi"]  # "kiwi" twice: one path, two ids
TINY = ["--tokenizer", "char", "--tiny-hidden", "32", "--tiny-layers", "1", "--batch-size", "8",
        "--logging-steps", "2", "--category", "fruits"]


def write_dataset(root: Path, users: int = 24, seed: int = 0) -> Path:
    """Users walk the catalogue in a fixed cycle (learnable) from random starts; rows are
    sliding windows split chronologically 80/10/10 like the D3 protocol."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    (root / "info.txt").write_text("".join(f"{t}\t{i}\n" for i, t in enumerate(TITLES)))
    rows = []
    for u in range(users):
        start = rng.randrange(len(TITLES))
        seq = [(start + 2 * k) % len(TITLES) for k in range(8)]
        for k in range(1, len(seq)):
            rows.append((1000 * k + u, f"u{u}", seq[max(0, k - 10):k], seq[k]))
    rows.sort()
    n = len(rows)
    parts = {"train": rows[: int(0.8 * n)], "valid": rows[int(0.8 * n): int(0.9 * n)],
             "test": rows[int(0.9 * n):]}
    for name, part in parts.items():
        lines = ["user_id,history_item_id,item_id,timestamp"]
        lines += [f'{u},"{h}",{t},{ts}' for ts, u, h, t in part]
        (root / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return root
