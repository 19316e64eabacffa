"""Semantic IDs as the item vocabulary: code tokens, the "codes" template, the sid view of a
dataset, the per-token weights of the SID methods, multi-target learning and head/tail metrics.
Expectations are computed by hand on the char tokenizer (id = ord(c)) and tiny catalogues."""

import json
import math
from collections import Counter

import pytest
import torch

from fruits import TITLES, write_dataset
from igd.config import ConfigError, TrainConfig
from igd.data import DataError, load_dataset
from igd.examples import collate
from igd.loss import label_weight_sum, weighted_cross_entropy
from igd.metrics import head_tail, head_titles
from igd.sid_build import SidConfig, build_sids
from igd.sid_loss import TaskWeights, multi_target_loss
from igd.sid_targets import SidWeights, sid_weights
from igd.sid_tokens import SidTokenizer, code_matrix, sid_codes
from igd.sid_weights import task_weights
from igd.templates import Template, target_ids
from igd.tokenization import CharTokenizer, load_tokenizer

BASE = 0x110000  # the char tokenizer's vocabulary size: code ids come after it


def test_code_tokens_are_one_id_each_after_the_base_vocabulary():
    tok = SidTokenizer.for_ids(CharTokenizer(), ["<a_2><b_10>", "<a_1><b_3>"])
    assert tok.codes == ("<a_1>", "<a_2>", "<b_3>", "<b_10>")  # by level, then code as a number
    assert tok.encode("<a_2><b_10>, x") == [BASE + 1, BASE + 3, ord(","), ord(" "), ord("x")]
    assert tok.decode(tok.encode("ab <a_1><b_3>\n")) == "ab <a_1><b_3>\n"
    assert tok.encode("<c_9>") == [ord(c) for c in "<c_9>"]  # not a catalogue code: plain text
    assert tok.vocab_size == BASE + 4 and tok.eos_token_id == 3


def test_a_saved_sid_tokenizer_loads_back(tmp_path):
    tok = SidTokenizer.for_ids(CharTokenizer(), ["<a_0><b_1>", "<a_1><b_0>"])
    tok.save(tmp_path)
    again = load_tokenizer(str(tmp_path))
    assert isinstance(again, SidTokenizer) and again.codes == tok.codes
    assert again.encode("x<b_1>") == tok.encode("x<b_1>") == [ord("x"), BASE + 3]


def test_semantic_id_parsing_and_its_errors():
    assert sid_codes("<a_12><b_3>") == ["<a_12>", "<b_3>"]
    assert code_matrix(["<a_1><b_2>", "<a_0><b_5>"]).tolist() == [[1, 2], [0, 5]]
    with pytest.raises(ValueError, match="not a semantic ID"):
        sid_codes("apple")
    with pytest.raises(ValueError, match="level order"):
        code_matrix(["<b_1><a_2>"])
    with pytest.raises(ValueError, match="same number"):
        code_matrix(["<a_1><b_2>", "<a_1>"])


def test_codes_template_targets_are_the_codes_plus_eos():
    tok = SidTokenizer.for_ids(CharTokenizer(), ["<a_0><b_1>", "<a_1><b_0>"])
    template = Template(style="codes", category="fruits", preamble="short")
    assert target_ids(tok, template, ["<a_1><b_0>"]) == [[BASE + 1, BASE + 2, 3]]
    assert template.prompt(["<a_0><b_1>", "<a_1><b_0>"]) == (
        "The user interacted with these fruits in order: <a_0><b_1>, <a_1><b_0>\nNext item:\n")


def test_history_titles_follow_each_id_in_the_prompt_and_leave_the_target_alone():
    ids = ["<a_0><b_1>", "<a_1><b_0>"]
    tok = SidTokenizer.for_ids(CharTokenizer(), ids)
    cfg = TrainConfig(data="d", out="o", items="sid", history_titles=True, category="fruits")
    template = cfg.template(names={ids[0]: "apple", ids[1]: "fig"})
    assert template.prompt([ids[1], ids[0], "<a_9><b_9>"]) == (  # an ID the catalogue lacks: no title
        'The user interacted with these fruits in order: <a_1><b_0> "fig", <a_0><b_1> "apple", <a_9><b_9>\n'
        "Next item:\n")
    assert target_ids(tok, template, [ids[0]]) == [[BASE + 0, BASE + 3, 3]]  # codes + EOS, as without
    assert TrainConfig(data="d", out="o", items="sid").template(names={ids[0]: "apple"}).names is None
    with pytest.raises(ConfigError, match="history_titles.*pass --items sid"):
        TrainConfig(data="d", out="o", history_titles=True)
    with pytest.raises(ValueError, match="style='codes'"):
        Template(names={"x": "y"})


@pytest.fixture(scope="module")
def sid_fruits(tmp_path_factory):
    root = tmp_path_factory.mktemp("sid")
    data = write_dataset(root / "fruits")
    build_sids(SidConfig(str(data), str(root / "sid"), levels=2, codes=256, method="random"))
    return data, root / "sid"


def test_the_sid_view_names_items_by_their_ids(sid_fruits):
    data, sid = sid_fruits
    view = load_dataset(sid, items="sid")
    plain = load_dataset(sid)
    assert view.catalogue.titles == plain.catalogue.sids and view.catalogue.names == tuple(TITLES)
    assert view.catalogue.name(2) == "banana" and plain.catalogue.name(2) == "banana"
    assert view.split("train") == plain.split("train")  # same rows: only the item names change
    with pytest.raises(DataError, match="has no semantic IDs.*igd sid build"):
        load_dataset(data, items="sid")


def test_frequency_and_front_greater_token_weights_by_hand(sid_fruits):
    _, sid = sid_fruits
    view = load_dataset(sid, items="sid")
    codes = code_matrix(view.catalogue.titles)
    rows = list(view.split("train"))
    w = sid_weights(view, rows)
    recorded = json.loads((sid / "igd_dataset.json").read_text())["sid"]["front_greater"]
    assert list(w.levels) == pytest.approx(recorded)  # from the build's manifest
    counts = Counter((level, int(c)) for s in rows for level, c in enumerate(codes[s.target]))
    item = rows[0].target
    raw = [0.1 / (1 - 0.9 ** counts[(level, int(c))]) for level, c in enumerate(codes[item])]
    expected = [3 * r / sum(raw) for r in raw]  # 2 levels + the unique level, rescaled to sum 3
    sid_text = view.catalogue.titles[item]
    assert w.token_weights("frequency", sid_text, 4) == pytest.approx([*expected, 1.0])
    assert w.token_weights("front-greater", sid_text, 4) == pytest.approx([*recorded, 1.0])
    assert w.token_weights("mtl", sid_text, 4)[0] == pytest.approx([1.0, recorded[0], expected[0]])
    with pytest.raises(ValueError, match="3 codes \\+ EOS"):
        w.token_weights("frequency", sid_text, 3)


def test_a_code_never_a_training_target_weighs_as_a_count_of_one():
    from igd.sid_weights import frequency_weights

    # f = 0 would divide by 1 - b^0 = 0; it counts as 1: (1 - b) / (1 - b) = 1, then rescaled
    rare, common = 1.0, 0.1 / (1 - 0.9 ** 10)
    assert frequency_weights([[7, 8]], counts=Counter({(1, 8): 10}))[0] == pytest.approx(
        [2 * rare / (rare + common), 2 * common / (rare + common)])
    with pytest.raises(ValueError, match="no semantic-ID weights"):
        SidWeights((1.0,), {"<a_1>": (1.0,)}).token_weights("igd", "<a_1>", 2)


def test_task_weights_module_matches_the_numpy_formula_and_sums_to_one():
    tasks = TaskWeights(curriculum=True, c=0.5)
    with torch.no_grad():
        tasks.s.copy_(torch.tensor([0.2, -0.1, 0.4]))
    for step in (0, 1, 2):
        got = tasks(step).detach().numpy()
        assert got == pytest.approx(task_weights([0.2, -0.1, 0.4], step, c=0.5))
        assert got.sum() == pytest.approx(1.0)
    assert tasks(0)[2].item() == 0.0  # the curriculum starts without the Frequency task
    flat = TaskWeights(curriculum=False, c=0.5)
    assert flat(1000).detach().numpy() == pytest.approx([1 / 3] * 3)  # s = 0: equal weights
    assert set(flat.values(0)) == {"s_ce", "s_front_greater", "s_frequency", "w_ce", "w_front_greater", "w_frequency"}


def test_multi_target_loss_is_the_weighted_sum_of_three_normalised_losses():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 5)
    labels = torch.tensor([[-100, 1, 2, 3], [-100, -100, 4, 0]])
    weights = torch.rand(2, 4, 3) + 0.1
    task_w = torch.tensor([0.5, 0.3, 0.2])
    loss, _ = multi_target_loss(logits, labels, weights, task_w)
    parts = [weighted_cross_entropy(logits, labels, weights[..., k])[0] for k in range(3)]
    assert loss.item() == pytest.approx(sum(w * p.item() for w, p in zip(task_w.tolist(), parts)))
    sums = label_weight_sum(labels, weights)  # one Eq. 7 denominator per task
    mask = (labels[:, 1:] != -100)
    assert sums.tolist() == pytest.approx(weights[:, 1:][mask].sum(0).tolist())
    with pytest.raises(ValueError, match="one column per task"):
        multi_target_loss(logits, labels, weights[..., 0], task_w)


def test_collate_pads_per_task_weights_with_zero_rows():
    batch = collate(0)([{"input_ids": [5, 6], "labels": [-100, 6], "token_weights": [[0.0] * 3, [1.0, 2.0, 3.0]],
                         "zero_ig": [False, True]},
                        {"input_ids": [5], "labels": [5], "token_weights": [[1.0, 1.0, 1.0]], "zero_ig": [False]}])
    assert batch["token_weights"].shape == (2, 2, 3)
    assert batch["token_weights"][1, 1].tolist() == [0.0, 0.0, 0.0]


def test_head_is_the_most_frequent_targets_covering_80_percent():
    counts = {"a": 50, "b": 25, "c": 10, "d": 10, "e": 5}  # a + b = 75% < 80%, + c = 85%
    assert head_titles(counts) == {"a", "b", "c"}
    out = head_tail([1, None, 3, 2], ["a", "b", "d", "e"], {"a", "b", "c"}, k=2)
    assert out["users_head"] == 2 and out["users_tail"] == 2
    assert out["hr@2_head"] == 0.5 and out["ndcg@2_head"] == 0.5  # rank 1 of 2 users
    assert out["hr@2_tail"] == 0.5 and out["ndcg@2_tail"] == pytest.approx(0.5 / math.log2(3))


def test_config_refuses_sid_methods_on_titles_and_sid_items_on_pretrained_models():
    with pytest.raises(ConfigError, match="--items sid"):
        TrainConfig(data="d", out="o", method="mtl")
    with pytest.raises(ConfigError, match="--model tiny"):
        TrainConfig(data="d", out="o", items="sid", model="smollm2-135m")
    assert TrainConfig(data="d", out="o", items="sid", method="mtl-curriculum").template().style == "codes"


def _average_in_process(rank: int, port: int, out) -> None:
    import torch.distributed as dist

    from igd.sid_loss import average_gradient

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        tasks = TaskWeights(curriculum=False, c=0.1)
        tasks.s.grad = torch.tensor([1.0, 2.0, 3.0]) * (rank + 1)  # rank 0: g, rank 1: 2g
        average_gradient(tasks.s)
        out[rank] = tasks.s.grad.tolist()
    finally:
        dist.destroy_process_group()


def test_the_task_weights_gradient_is_averaged_over_processes():
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = mp.Manager().dict()
    mp.start_processes(_average_in_process, args=(port, out), nprocs=2, start_method="fork")  # no re-import
    assert out[0] == out[1] == pytest.approx([1.5, 3.0, 4.5])  # (g + 2g) / 2 on both
    alone = TaskWeights(curriculum=False, c=0.1)
    alone.s.grad = torch.ones(3)
    from igd.sid_loss import average_gradient

    average_gradient(alone.s)  # one process, no group: unchanged
    assert alone.s.grad.tolist() == [1.0, 1.0, 1.0]


def test_paired_tests_across_datasets_need_the_same_users():
    from igd.report_sid import _same_users

    a = {0: [{"user_index": 0, "user_id": "u1"}, {"user_index": 1, "user_id": "u2"}]}
    assert _same_users(a, {0: [{"user_index": 1, "user_id": "u2"}]})
    assert not _same_users(a, {0: [{"user_index": 1, "user_id": "u9"}]})
    assert _same_users(a, {1: [{"user_index": 0, "user_id": "other seed"}]})  # no shared seed: nothing to pair
