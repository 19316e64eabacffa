"""`igd sid build` on the fruit dataset: the MiniOneRec layout igd reads back, unique IDs, and
the printed statistics (random codes: no model needed; RQ-KMeans in the slow test)."""

import json

import pytest

from fruits import TITLES, write_dataset
from igd.cli import main
from igd.data import load_dataset
from igd.sid_build import SidConfig, build_sids, sid_text


def test_random_sids_give_a_minionerec_dataset(tmp_path):
    data = write_dataset(tmp_path / "fruits")
    report = build_sids(SidConfig(str(data), str(tmp_path / "sid"), levels=2, codes=256, method="random"))
    assert report["codebook"] == 2 * 4  # 13 items: 2 * ceil(sqrt(13)) = 8, scaled down from 256
    ds, source = load_dataset(tmp_path / "sid"), load_dataset(data)
    assert ds.layout == "minionerec" and ds.catalogue.titles == source.catalogue.titles == tuple(TITLES)
    assert len(set(ds.catalogue.sids)) == len(TITLES)  # the unique level: every ID differs
    assert report["collision_rate_after"] == 0.0
    for split in ("train", "valid", "test"):  # same rows, ids and targets as the source
        assert ds.split(split) == source.split(split)
    manifest = json.loads((tmp_path / "sid" / "igd_dataset.json").read_text())
    assert manifest["source"]["fingerprint"] == source.fingerprint and manifest["sid"]["method"] == "random"


def test_sid_text_and_bad_options(tmp_path):
    assert sid_text([12, 3, 0]) == "<a_12><b_3><c_0>"
    with pytest.raises(ValueError, match="--method 'kmeans'"):
        SidConfig("d", "o", method="kmeans")
    with pytest.raises(ValueError, match="--levels 0"):
        SidConfig("d", "o", levels=0)


def test_igd_sid_build_cli(tmp_path, capsys):
    data = write_dataset(tmp_path / "fruits")
    assert main(["sid", "build", "--data", str(data), "--out", str(tmp_path / "sid"), "--method", "random",
                 "--levels", "2"]) == 0
    out = capsys.readouterr().out
    assert "collision rate" in out and "scaled down from 256 for 13 items" in out and "utilisation" in out
    assert main(["sid", "build", "--data", str(tmp_path / "sid"), "--out", str(tmp_path / "again")]) == 2
    assert "already has semantic IDs" in capsys.readouterr().err


@pytest.mark.slow
def test_rq_kmeans_sids_from_title_embeddings(tmp_path):
    data = write_dataset(tmp_path / "fruits")
    report = build_sids(SidConfig(str(data), str(tmp_path / "sid"), levels=2, codes=4))
    assert report["codebook"] == 4 and report["collision_rate_after"] == 0.0
    assert len(set(load_dataset(tmp_path / "sid").catalogue.sids)) == len(TITLES)
