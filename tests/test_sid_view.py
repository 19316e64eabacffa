"""igd.sid_view: the item view of a dataset, readable labels of semantic IDs, a history typed as
titles turned into IDs, and code levels. Expectations by hand on a 4-item catalogue (two items
share the title "kiwi") and on the fruit dataset."""

from pathlib import Path

import pytest

from fruits import write_dataset
from igd.data import Catalogue, DataError, Dataset, load_dataset
from igd.sid_view import (code_level, history_keys, item_labels, item_names, item_view, level_label,
                          readable_titles, view_of)

SIDS = ("<a_0><b_0>", "<a_0><b_1>", "<a_1><b_0>", "<a_2><b_3>")
NAMES = ("kiwi", "lime", "kiwi", "Toy Story (1995)")
SID_CAT = Catalogue(titles=SIDS, sids=SIDS, names=NAMES)
TITLE_CAT = Catalogue(titles=NAMES, sids=SIDS)


def dataset_of(cat: Catalogue) -> Dataset:
    return Dataset("t", Path("."), "minionerec", cat, {}, "f")


def test_item_view_switches_between_titles_and_ids_both_ways():
    as_sid = item_view(dataset_of(TITLE_CAT), "sid").catalogue
    assert as_sid.titles == SIDS and as_sid.names == NAMES and view_of(as_sid) == "sid"
    back = item_view(dataset_of(SID_CAT), "title").catalogue
    assert back.titles == NAMES and back.names is None and back.sids == SIDS and view_of(back) == "title"
    same = dataset_of(SID_CAT)
    assert item_view(same, "sid") is same and item_view(dataset_of(TITLE_CAT), "title").catalogue is TITLE_CAT
    with pytest.raises(ValueError, match="choose one of title, sid"):
        item_view(same, "codes")


def test_item_view_of_a_d3_dataset_by_ids_names_the_fix(tmp_path):
    d3 = load_dataset(write_dataset(tmp_path / "fruits"))
    with pytest.raises(DataError, match="has no semantic IDs.*igd sid build"):
        item_view(d3, "sid")
    assert item_view(d3, "title") is d3


def test_labels_are_the_title_then_the_id():
    assert item_names(SID_CAT) == {"<a_0><b_0>": "kiwi", "<a_0><b_1>": "lime", "<a_1><b_0>": "kiwi",
                                   "<a_2><b_3>": "Toy Story (1995)"}
    assert item_labels(SID_CAT)["<a_2><b_3>"] == "Toy Story (1995) · <a_2><b_3>"
    assert item_labels(SID_CAT)["<a_1><b_0>"] == "kiwi · <a_1><b_0>"
    assert item_names(TITLE_CAT) == {} == item_labels(TITLE_CAT)  # titles show as themselves
    assert readable_titles(SID_CAT) == ["kiwi", "lime", "Toy Story (1995)"] == readable_titles(TITLE_CAT)


def test_a_history_of_titles_becomes_ids():
    keys, notes = history_keys(["lime", " Toy Story (1995) ", "<a_1><b_0>", "durian", "kiwi", "kiwi"], SID_CAT)
    # a title -> its item's ID; an ID stays; an unknown entry stays as typed (check_history skips it);
    # "kiwi" names items 0 and 2: the first one's ID, said once
    assert keys == ["<a_0><b_1>", "<a_2><b_3>", "<a_1><b_0>", "durian", "<a_0><b_0>", "<a_0><b_0>"]
    assert notes == [("'kiwi' names 2 items (<a_0><b_0>, <a_1><b_0>): the history uses the first, <a_0><b_0>. "
                      "Paste an ID to choose another.")]
    assert history_keys(["kiwi", "x"], TITLE_CAT) == (["kiwi", "x"], [])  # the title view: titles are keys


def test_code_levels():
    assert [code_level(t) for t in ("<a_3>", "<b_17>", "<c_0>", "<d_255>")] == [1, 2, 3, 4]
    assert [code_level(t) for t in ("<eos>", "a_3", "<a_>", "<A_3>", "x<a_3>")] == [None] * 5
    assert [level_label(t) for t in ("<a_3>", "<d_0>", "<eos>", "k")] == ["1 (a)", "4 (d)", "EOS", ""]
