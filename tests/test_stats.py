"""Table-1 statistics on the hand-computed catalogue of test_info_gain."""

import math
from pathlib import Path

import pytest

from igd.data import load_dataset
from igd.stats import StatsConfig, dataset_stats, format_stats
from igd.templates import Template
from igd.tokenization import CharTokenizer

HEADER = "user_id,history_item_id,item_id,timestamp\n"


def write_dataset(root: Path, train_targets: list[int], with_train: bool = True) -> Path:
    root.mkdir()
    titles = ["ab", "ac", "b", "ab", "a", "z"]
    (root / "info.txt").write_text("".join(f"{t}\t{i}\n" for i, t in enumerate(titles)))
    rows = "".join(f'u{k},"[5]",{t},{k}\n' for k, t in enumerate(train_targets))
    (root / ("train.csv" if with_train else "valid.csv")).write_text(HEADER + rows)
    (root / "test.csv").write_text(HEADER + 'u9,"[0, 2]",1,99\n')
    return root


def test_table1_counts_by_hand(tmp_path):
    # Training targets: "ab" x4 (ids 0,0,0,3), "ac" x1, "a" x1, "b" x2 -> N = 8.
    # IG per token (see test_info_gain): ab = [>0, >0, 0, 0], ac = [>0, >0, 0, 0],
    # a = [>0, >0, 0], b = [>0, 0, 0]. Tokens: 4*4 + 4 + 3 + 2*3 = 29.
    # Zero-IG: 4*2 + 2 + 1 + 2*2 = 15.
    data = load_dataset(write_dataset(tmp_path / "d", [0, 0, 0, 3, 1, 4, 2, 2]))
    s = dataset_stats(data, CharTokenizer(), Template())
    assert (s["items"], s["distinct_titles"], s["duplicate_titles"]) == (6, 5, 1)
    assert s["train_rows"] == 8 and s["training_split"] == "train"
    assert s["split_rows"] == {"train": 8, "valid": None, "test": 1}
    assert (s["target_tokens"], s["zero_ig_tokens"]) == (29, 15)
    assert s["zero_ig_share"] == pytest.approx(15 / 29)
    assert s["items_never_trained"] == 1  # "z"
    # position 1: six rows start under "a" (IG = h(2/8) of the "b" branch), two start with
    # "b" (IG = h(4/8) + 2 h(1/8) of the "a" branch)
    h = lambda p: -p * math.log(p)
    mean_first = (6 * h(2 / 8) + 2 * (h(4 / 8) + 2 * h(1 / 8))) / 8
    assert s["per_position"][0] == {"position": "1", "tokens": 8, "zero_ig_share": 0.0,
                                    "mean_ig": pytest.approx(mean_first)}
    assert [r["tokens"] for r in s["per_position"]] == [8, 8, 8, 5]
    assert sum(s["nonzero_ig_histogram"]["counts"]) == 29 - 15
    assert "zero-IG tokens     15  (51.7%)" in format_stats(s)


def test_priors_need_a_training_split(tmp_path):
    data = load_dataset(write_dataset(tmp_path / "d", [0, 2], with_train=False))
    with pytest.raises(Exception, match="--train-on-valid"):
        dataset_stats(data, CharTokenizer(), Template())
    s = dataset_stats(data, CharTokenizer(), Template(), StatsConfig(train_on_valid=True))
    assert s["training_split"] == "valid" and s["train_rows"] == 2
