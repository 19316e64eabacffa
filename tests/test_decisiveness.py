"""Other decisiveness measures (issue 12 part 4): Gini impurity and gain ratio in place of IG,
by hand on tiny catalogues (character tokenizer), as properties, through the configs, the CLI,
the run store and `igd experiment`'s reuse rules, and end to end (slow)."""

import json
import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from igd.config import DECISIVENESS, ConfigError, DecodeConfig, EvalConfig, TrainConfig, igd_step_weights
from igd.data import Catalogue, Sample
from igd.info_gain import build_ig_trie, rescored, title_counts
from igd.stats import StatsConfig
from igd.templates import Template
from igd.tokenization import CharTokenizer
from test_info_gain import CATALOGUE, TRAIN

CHAR = CharTokenizer()


def h(p: float) -> float:
    return -p * math.log(p)


def trie(measure: str, unseen: str = "generable", catalogue=CATALOGUE, train=TRAIN):
    return build_ig_trie(catalogue, title_counts(train, catalogue), CHAR, Template(), unseen, measure)


# Catalogue A (test_info_gain): targets ab x4, ac, a, b x2 (N = 8), z never a target. Trie:
# root -> a -> {"\n" (title a), b, c} -> ... -> EOS;  root -> b -> "\n" -> EOS;  root -> z (generable).
# Gini: g_i = p_i (1 - p_i): g(ab) = 1/2 * 1/2 = 16/64, g(ac) = g(a) = 1/8 * 7/8 = 7/64,
# g(b) = 2/8 * 6/8 = 12/64.  G(root) = 42/64 = 0.65625 (= 1 - sum p^2 = 1 - 22/64), G(a) = 30/64.
#   root -> a: G(root) - G(a) = 12/64 = 0.1875 (= g(b));   root -> b: G(root) - G(b) = 30/64 = 0.46875
#   a -> b:    G(a) - g(ab) = 14/64 = 0.21875;             a -> c, a -> "\n": 23/64 = 0.359375
#   every later token (one child): 0;   root -> z (zero mass, generable): 0
GINI_A = {"ab": [12 / 64, 14 / 64, 0, 0], "ac": [12 / 64, 23 / 64, 0, 0], "a": [12 / 64, 23 / 64, 0],
          "b": [30 / 64, 0, 0]}
# Gain ratio: SplitInfo(root) over the children with mass, a (6/8) and b (2/8):
#   h(3/4) + h(1/4) = 0.215762 + 0.346574 = 0.562335 (z has no mass: no term);
# SplitInfo(a) over "\n" (1/6), b (4/6), c (1/6): 2 h(1/6) + h(2/3) = 0.597253 + 0.270310 = 0.867563.
#   ab: [h(1/4) / 0.562335, (h(1/8) + h(1/8)) / 0.867563] = [0.616311, 0.599219]
#   ac: [0.616311, (h(1/2) + h(1/8)) / 0.867563 = 0.699089];  b: [(h(1/2) + 2 h(1/8)) / 0.562335 = 1.540779]
S_ROOT, S_A = h(3 / 4) + h(1 / 4), 2 * h(1 / 6) + h(2 / 3)
GAIN_RATIO_A = {"ab": [h(1 / 4) / S_ROOT, 2 * h(1 / 8) / S_A, 0, 0],
                "ac": [h(1 / 4) / S_ROOT, (h(1 / 2) + h(1 / 8)) / S_A, 0, 0],
                "a": [h(1 / 4) / S_ROOT, (h(1 / 2) + h(1 / 8)) / S_A, 0],
                "b": [(h(1 / 2) + 2 * h(1 / 8)) / S_ROOT, 0, 0]}


@pytest.mark.parametrize("unseen", ["generable", "excluded"])
def test_gini_by_hand(unseen):
    ig = trie("gini", unseen)
    assert (S_ROOT, S_A) == pytest.approx((0.562335, 0.867563), abs=1e-6)
    for title, want in GINI_A.items():
        assert ig.path(title)[1] == pytest.approx(want, abs=1e-15), title
    assert ig.node_entropy[0] == pytest.approx(h(4 / 8) + 2 * h(1 / 8) + h(2 / 8))  # H stays H
    assert ig.decisiveness == "gini"
    if unseen == "generable":
        assert ig.path("z")[1].tolist() == [0.0, 0.0, 0.0]  # zero-mass edge, as IG


@pytest.mark.parametrize("unseen", ["generable", "excluded"])
def test_gain_ratio_by_hand(unseen):
    ig = trie("gain-ratio", unseen)
    assert GAIN_RATIO_A["ab"][:2] == pytest.approx([0.616311, 0.599219], abs=1e-6)
    assert GAIN_RATIO_A["b"][0] == pytest.approx(1.540779, abs=1e-6)  # not bounded by 1: global priors
    for title, want in GAIN_RATIO_A.items():
        values = ig.path(title)[1]
        assert values == pytest.approx(want, abs=1e-12), title
        assert (values[np.array(want) == 0] == 0.0).all()  # SplitInfo 0 (one child): exactly 0
    if unseen == "generable":
        assert ig.path("z")[1].tolist() == [0.0, 0.0, 0.0]


# Catalogue B (test_info_gain's issue case): ab 1, ac 1, b 3, c 5 (N = 10), d never a target.
# g = 0.09, 0.09, 0.21, 0.25.  Root tokens, Gini: a: g(b) + g(c) = 0.46; b: 0.09 + 0.09 + 0.25 = 0.43;
# c: 0.09 + 0.09 + 0.21 = 0.39.  IG: a 0.7078 < b 0.8071 < c 0.8217: the order reverses (two rare
# items weigh h(0.1) = 0.2303 each under IG, only 0.09 under Gini).
# Gini IG~ (Eq. 9 over the massed siblings): a 1, b (0.43 - 0.39) / (0.46 - 0.39) = 4/7, c 0; d 0.
# Gain ratio: SplitInfo(root) = h(.2) + h(.3) + h(.5) = 1.029653 for all three, so IG~ is IG's:
# a 0, b 0.8717, c 1.  Path ab: [(h(.3) + h(.5)) / 1.029653 = 0.687382, h(.1) / ln 2 = 0.332193, 0, 0].
CATALOGUE_B = Catalogue(("ab", "ac", "b", "c", "d"))
TRAIN_B = [Sample("u", (), t) for t in (0, 1, 2, 2, 2, 3, 3, 3, 3, 3)]


def root_table(measure: str, unseen: str) -> dict[str, tuple[float, float]]:
    ig = trie(measure, unseen, CATALOGUE_B, TRAIN_B)
    _, tokens, edges = ig.trie.children(np.array([0]))
    return {chr(t): (ig.edge_ig[e], ig.edge_ig_norm[e]) for t, e in zip(tokens, edges)}


@pytest.mark.parametrize("unseen", ["generable", "excluded"])
def test_gini_reorders_siblings_and_their_ig_norm(unseen):
    gini = root_table("gini", unseen)
    want = {"a": (0.46, 1.0), "b": (0.43, 4 / 7), "c": (0.39, 0.0)}
    for tok, pair in want.items():
        assert gini[tok] == pytest.approx(pair, abs=1e-12), tok
    ig = root_table("ig", unseen)
    assert ig["a"][0] < ig["b"][0] < ig["c"][0] and gini["a"][0] > gini["b"][0] > gini["c"][0]
    assert gini.get("d", (0.0, 0.0)) == (0.0, 0.0)
    # IGD-Decoding's step weights 1 - alpha IG~ read the measure's IG~: alpha 0.2 -> 0.8, 0.885714, 1
    weights = igd_step_weights(np.array([gini[t][0] for t in "abc"]), np.array([gini[t][1] for t in "abc"]), 0.2)
    assert weights == pytest.approx([0.8, 1 - 0.2 * 4 / 7, 1.0]) and weights[1] == pytest.approx(0.885714, abs=1e-6)


@pytest.mark.parametrize("unseen", ["generable", "excluded"])
def test_gain_ratio_shares_the_parent_split_info_so_ig_norm_is_igs(unseen):
    ratio, ig = root_table("gain-ratio", unseen), root_table("ig", unseen)
    split = h(.2) + h(.3) + h(.5)
    assert split == pytest.approx(1.029653, abs=1e-6)
    for tok in "abc":
        assert ratio[tok][0] == pytest.approx(ig[tok][0] / split, abs=1e-12)
        assert ratio[tok][1] == pytest.approx(ig[tok][1], abs=1e-12)
    path = trie("gain-ratio", unseen, CATALOGUE_B, TRAIN_B).path("ab")[1]
    assert path == pytest.approx([(h(.3) + h(.5)) / split, h(.1) / math.log(2), 0, 0], abs=1e-12)
    assert path[:2] == pytest.approx([0.687382, 0.332193], abs=1e-6)


def test_linear_igd_tuning_weights_use_the_measure():
    """w = beta + (1 - beta) D / D_max (appendix G with D the measure): Gini's largest value on
    catalogue A is root -> b, 30/64. beta 0.2: ab -> [0.2 + 0.8 * (12/30), 0.2 + 0.8 * (14/30), 0.2, 0.2]
    = [0.52, 0.573333, 0.2, 0.2]; b -> [1, 0.2, 0.2]."""
    from igd.examples import TargetTable, WeightSpec

    ig = trie("gini")
    assert ig.edge_ig.max() == 30 / 64
    table = TargetTable(ig, WeightSpec("igd", 0.2, "linear", float(ig.edge_ig.max())))
    _, weights, zero = table("ab")
    assert weights == pytest.approx([0.52, 0.2 + 0.8 * 14 / 30, 0.2, 0.2]) and zero == [False, False, True, True]
    assert table("b")[1] == pytest.approx([1.0, 0.2, 0.2])
    binary = TargetTable(ig, WeightSpec("igd", 0.2, "binary"))
    assert binary("ab")[1] == TargetTable(trie("ig"), WeightSpec("igd", 0.2, "binary"))("ab")[1]  # same zero set


# IG fingerprints of catalogue A computed at dd2b6b0, before measures existed: checkpoints and
# run stores that recorded them stay valid.
IG_FINGERPRINTS = {"generable": "4c74e158db13dce875a3140eab2e2518d0da0f7888802cb08c1cd6663bf7234c",
                   "excluded": "537483637ccdf7d4a7e46212bcec3703985879a7f4da9183f657db73f0303be0"}


@pytest.mark.parametrize("unseen", ["generable", "excluded"])
def test_ig_is_unchanged_and_the_measure_enters_the_fingerprint(unseen):
    ig = trie("ig", unseen)
    assert ig.fingerprint == IG_FINGERPRINTS[unseen]
    assert build_ig_trie(CATALOGUE, title_counts(TRAIN, CATALOGUE), CHAR, Template(), unseen).fingerprint == \
        IG_FINGERPRINTS[unseen]  # the default is ig
    prints = {m: trie(m, unseen).fingerprint for m in DECISIVENESS}
    assert len(set(prints.values())) == 3
    for m in DECISIVENESS:  # rescoring the same trie = building it under the measure
        again = rescored(ig, m)
        assert again.fingerprint == prints[m] and again.decisiveness == m
        np.testing.assert_array_equal(again.edge_ig, trie(m, unseen).edge_ig)
    assert rescored(ig, "ig") is ig


def test_an_unknown_measure_is_refused():
    with pytest.raises(ValueError, match="decisiveness='entropy': choose one of ig, gini, gain-ratio"):
        trie("entropy")
    for make in (lambda: TrainConfig(data="", out="", decisiveness="Gini"),
                 lambda: EvalConfig(decisiveness="gain_ratio"), lambda: StatsConfig(decisiveness="")):
        with pytest.raises(ConfigError, match="choose one of ig, gini, gain-ratio") as err:
            make()
        assert err.value.field == "decisiveness"
    assert TrainConfig(data="", out="").decisiveness == "ig" and EvalConfig().decisiveness is None


titles_st = st.lists(st.text(alphabet="abc ", min_size=1, max_size=5), min_size=1, max_size=12)


def brute_gini(prefix: str, texts: dict[str, str], p: dict[str, float]) -> float:
    return sum(p[t] * (1 - p[t]) for t, text in texts.items() if text.startswith(prefix))


@settings(max_examples=120, deadline=None)
@given(titles=titles_st, data=st.data())
def test_zero_exactly_where_ig_is_zero(titles, data):
    cat = Catalogue(tuple(titles))
    counts = Counter({t: data.draw(st.integers(0, 4)) for t in cat.title_to_ids})
    if not any(counts.values()):
        counts[titles[0]] = 1
    policy = data.draw(st.sampled_from(["generable", "excluded"]))
    built = {m: build_ig_trie(cat, +counts, CHAR, Template(), policy, m) for m in DECISIVENESS}
    zero = built["ig"].edge_ig == 0
    for m, ig in built.items():
        assert (ig.edge_ig >= 0).all() and np.array_equal(ig.edge_ig == 0, zero), m
        assert ((ig.edge_ig_norm >= 0) & (ig.edge_ig_norm <= 1)).all()
    np.testing.assert_allclose(built["gain-ratio"].edge_ig_norm, built["ig"].edge_ig_norm, atol=1e-9)
    # every Gini edge agrees with G(parent) - G(child) straight from the definition
    n = sum(counts.values())
    p = {t: counts[t] / n for t in cat.title_to_ids}
    texts = {t: Template().target_text(t) + "\x03" for t in cat.title_to_ids}
    gini = built["gini"]
    for title in gini.title_to_seq:
        prefix = ""
        for tok, value in zip(*(x.tolist() for x in gini.path(title))):
            child = prefix + (chr(tok) if tok != 3 else "\x03")
            expected = brute_gini(prefix, texts, p) - brute_gini(child, texts, p)
            if brute_gini(child, texts, p) == 0 and policy == "generable":
                expected = 0.0  # zero-mass branch policy
            assert value == pytest.approx(expected, abs=1e-12)
            prefix = child


# --- CLI, run store, experiment reuse -----------------------------------------------------

def test_the_cli_takes_the_measure_and_refuses_others(capsys):
    from igd.cli import build_parser, main
    from igd.cli_config import train_config
    from igd.cli_parser import option_for

    parser = build_parser()
    for cmd in (["train", "--data", "d", "--out", "o"], ["experiment", "--data", "d"], ["stats", "--data", "d"]):
        assert parser.parse_args(cmd).decisiveness == "ig"
        assert parser.parse_args([*cmd, "--decisiveness", "gain-ratio"]).decisiveness == "gain-ratio"
    assert parser.parse_args(["evaluate", "--checkpoint", "c", "--data", "d"]).decisiveness is None  # its own
    args = parser.parse_args(["train", "--data", "d", "--out", "o", "--decisiveness", "gini"])
    assert train_config(args) == TrainConfig(data="d", out="o", decisiveness="gini")
    for cmd in ("train", "evaluate", "experiment", "stats"):
        with pytest.raises(SystemExit) as exit_:
            main([cmd, "--decisiveness", "entropy"])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and f"igd {cmd}: error: argument --decisiveness: invalid choice: 'entropy'" in err
        assert all(m in err.split("choose from")[1] for m in DECISIVENESS), err
    assert option_for("TrainConfig", "decisiveness") == option_for("EvalConfig", "decisiveness") == "--decisiveness"


def test_igd_stats_with_gini_by_hand(tmp_path, capsys):
    """test_cli's dataset: targets ab, ab, ac, b (N = 4), d unseen. g(ab) = 1/2 * 1/2 = 0.25,
    g(ac) = g(b) = 1/4 * 3/4 = 0.1875. Per training row:
      ab (x2): root -> a = g(b) = 0.1875, a -> b = g(ac) = 0.1875, 0, 0
      ac:      root -> a = 0.1875,        a -> c = g(ab) = 0.25,   0, 0
      b:       root -> b = g(ab) + g(ac) = 0.4375, 0, 0
    Tokens 15, zero 8 (as IG). Position 1: mean (3 * 0.1875 + 0.4375) / 4 = 0.25, no zero;
    position 2: (0.1875 * 2 + 0.25 + 0) / 4 = 0.15625, one zero in four. Non-zero values:
    0.1875 x5, 0.25 x1, 0.4375 x1 = 7 = 15 - 8."""
    from igd.cli import main
    from test_cli import write_dataset

    root = write_dataset(tmp_path / "d")
    assert main(["stats", "--tokenizer", "char", "--data", str(root), "--decisiveness", "gini", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["decisiveness"], s["target_tokens"], s["zero_ig_tokens"]) == ("gini", 15, 8)
    first, second = s["per_position"][:2]
    assert (first["zero_ig_share"], first["mean_ig"]) == (0.0, pytest.approx(0.25))
    assert (second["zero_ig_share"], second["mean_ig"]) == (0.25, pytest.approx(0.15625))
    assert sum(s["nonzero_ig_histogram"]["counts"]) == 7
    assert s["nonzero_ig_histogram"]["edges"][0] == 0.1875 and s["nonzero_ig_histogram"]["edges"][-1] == 0.4375
    assert main(["stats", "--tokenizer", "char", "--data", str(root), "--decisiveness", "gini"]) == 0
    out = capsys.readouterr().out
    assert "zero-Gini tokens   8  (53.3%)" in out and "decisiveness: gini" in out and "mean Gini" in out
    assert main(["stats", "--tokenizer", "char", "--data", str(root), "--decisiveness", "gain-ratio"]) == 0
    out = capsys.readouterr().out
    assert "zero-GR tokens     8  (53.3%)" in out and "non-zero GR    tokens" in out
    assert main(["stats", "--tokenizer", "char", "--data", str(root)]) == 0
    out = capsys.readouterr().out  # IG's report as before: no measure named, same labels
    assert "decisiveness" not in out and "zero-IG tokens     8  (53.3%)" in out and "non-zero IG (nats)" in out


def test_summaries_keep_measures_apart():
    from igd.store import summarize

    def row(run_id, seed, hr, config):
        return {"id": run_id, "seed": seed, "status": "complete", "kind": "eval", "dataset": "d", "model": "m",
                "arm": "igd", "train_method": "igd", "beta": 0.2, "decoding": "igd", "alpha": 0.2,
                "split": "test", "metrics": {"hr@10": hr}, "config": config}

    # run 1 recorded before measures existed (IG); runs 2-3 a Gini rerun of the same settings
    groups = summarize([row(1, 0, 0.1, {}), row(2, 0, 0.3, {"decisiveness": "gini"}),
                        row(3, 1, 0.5, {"decisiveness": "gini"}), row(4, 1, 0.2, {"decisiveness": "ig"})], "hr@10")
    by = {g["decisiveness"]: g for g in groups}
    assert set(by) == {"ig", "gini"} and by["ig"]["run_ids"] == [1, 4] and by["gini"]["mean"] == pytest.approx(0.4)


@pytest.fixture
def fruits(tmp_path):
    from fruits import write_dataset

    return write_dataset(tmp_path / "fruits")


def test_experiment_tells_measures_apart_without_training(fruits, tmp_path):
    """Checkpoint folders, training-settings matching and stored evaluations: a run recorded
    before measures existed counts as IG; an IG run is never reused for Gini, nor the reverse."""
    from igd.experiment_config import ExperimentConfig
    from igd.data import load_dataset
    from igd.experiment import _train_config, checkpoint_dir, same_training, stored_eval
    from igd.store import RunRecord, RunStore
    from igd.train import config_dict

    base = TrainConfig(data=str(fruits), out="")
    ig_cfg, gini_cfg = ExperimentConfig(base=base), ExperimentConfig(base=TrainConfig(data=str(fruits), out="",
                                                                                       decisiveness="gini"))
    assert checkpoint_dir(ig_cfg, "igd", 0.2, 0).name == "igd-beta0.2-seed0"  # IG folders keep their names
    assert checkpoint_dir(gini_cfg, "igd", 0.2, 0).name == "igd-gini-beta0.2-seed0"
    assert checkpoint_dir(gini_cfg, "sft", None, 1).name == "sft-gini-seed1"
    old = {k: v for k, v in config_dict(base).items() if k != "decisiveness"}  # a checkpoint from before
    assert same_training(old, config_dict(base)) and not same_training(old, config_dict(gini_cfg.base))
    store = RunStore(tmp_path / "runs.db")
    dc = DecodeConfig(method="d3")
    fingerprint = load_dataset(fruits).fingerprint

    def stored(train_config: dict, **eval_config) -> int:
        run = store.start(RunRecord(kind="eval", dataset="fruits", dataset_fingerprint=fingerprint, model="tiny",
                                    seed=0, split="test", train_method="sft", decoding="d3",
                                    config={"eval_version": 2, "num_beams": 10, "beam_stop": "fast",
                                            "max_users": None, "train_config": train_config, **eval_config}))
        store.complete(run, {"hr@10": float(run)})
        return run

    sft, gini_sft = (_train_config(cfg, "sft", None, 0, "binary") for cfg in (ig_cfg, gini_cfg))
    stored(old | {"method": "sft", "beta": 1.0, "overwrite": True})  # recorded before measures: IG
    assert stored_eval(store, sft, dc, "test", None) == {"hr@10": 1.0}
    assert stored_eval(store, gini_sft, dc, "test", None) is None
    # an IG checkpoint decoded with `--decisiveness gini` is neither an IG evaluation nor a Gini-trained one
    stored(config_dict(sft), decisiveness="gini")
    assert stored_eval(store, sft, dc, "test", None) == {"hr@10": 1.0}
    assert stored_eval(store, gini_sft, dc, "test", None) is None
    stored(config_dict(gini_sft), decisiveness="gini")
    assert stored_eval(store, gini_sft, dc, "test", None) == {"hr@10": 3.0}
    store.close()


# --- end to end ---------------------------------------------------------------------------

@pytest.mark.slow
def test_train_gini_then_evaluate(fruits, tmp_path, capsys):
    """`igd train --decisiveness gini` on the fruit dataset, then `igd evaluate` with the
    checkpoint's measure and with `--decisiveness ig`: the checkpoint and every stored run
    carry their measure, and the Gini trie is not the IG trie."""
    from fruits import TINY
    from igd.checkpoint import load_checkpoint
    from igd.cli import main
    from igd.data import load_dataset
    from igd.evaluate import checkpoint_trie
    from igd.store import RunStore

    db, ckpt = str(tmp_path / "runs.db"), tmp_path / "ckpt-gini"
    assert main(["train", "--data", str(fruits), "--out", str(ckpt), "--method", "igd", "--igd-weighting", "linear",
                 "--decisiveness", "gini", "--max-steps", "6", "--db", db, *TINY]) == 0
    meta = json.loads((ckpt / "igd_checkpoint.json").read_text())
    assert meta["decisiveness"] == meta["config"]["decisiveness"] == "gini"
    dataset = load_dataset(fruits)
    own = checkpoint_trie(load_checkpoint(ckpt), dataset)
    assert (own.decisiveness, own.fingerprint) == ("gini", meta["trie_fingerprint"])
    as_ig = checkpoint_trie(load_checkpoint(ckpt), dataset, decisiveness="ig")
    assert as_ig.decisiveness == "ig" and as_ig.fingerprint != own.fingerprint
    np.testing.assert_array_equal(as_ig.edge_ig == 0, own.edge_ig == 0)
    for extra in ([], ["--decisiveness", "ig"]):
        assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(fruits), "--decoding", "igd",
                     "--db", db, *extra]) == 0
    store = RunStore(db)
    [train_run] = store.runs(kind="train", status="complete")
    assert train_run["config"]["decisiveness"] == "gini"
    evals = store.runs(kind="eval", status="complete")
    assert [r["config"]["decisiveness"] for r in evals] == ["gini", "ig"]
    assert all(r["config"]["train_config"]["decisiveness"] == "gini" for r in evals)
    assert all(r["metrics"]["invalid"] == 0 for r in evals)
    store.close()

