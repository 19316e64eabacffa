"""igd.pairing: which evaluations decoded the same checkpoint files."""

from igd.pairing import checkpoint_record, common_checkpoint, same_checkpoint


def run(h=None, loss=None, trie="t1", rid=0):
    meta = {} if loss is None else {"best_eval_loss": loss, "trie_fingerprint": trie}
    config = {"checkpoint_meta": meta} | ({"checkpoint_hash": h} if h else {})
    return {"id": rid, "config": config}


def test_hashes_decide_when_both_runs_have_one():
    assert same_checkpoint(run("aa", 0.5), run("aa", 0.7))
    assert not same_checkpoint(run("aa", 0.5), run("bb", 0.5))  # same loss, other files: not paired


def test_legacy_runs_are_matched_by_best_validation_loss_and_trie():
    # The MovieLens study's seed 1: D3 and IGD-Decoding only decoded two trainings of one config.
    assert not same_checkpoint(run(loss=0.5955662131309509), run(loss=0.5968917012214661))
    assert same_checkpoint(run(loss=0.5955662131309509), run("aa", 0.5955662131309509))
    assert not same_checkpoint(run(loss=0.59, trie="t1"), run(loss=0.59, trie="t2"))
    assert not same_checkpoint(run(), run())  # nothing to show it: never paired


def test_common_checkpoint_takes_one_run_per_decoding_of_one_checkpoint():
    d3 = [run("new", rid=5), run("old", rid=1)]  # newest first
    bigrec = [run("old", rid=2)]
    igd_d = [run("old", rid=3), run("new", rid=6)]
    assert [r["id"] for r in common_checkpoint([d3, bigrec, igd_d])] == [1, 2, 3]
    assert [r["id"] for r in common_checkpoint([d3, igd_d])] == [5, 6]
    assert common_checkpoint([[run("a")], [run("b")]]) is None  # refuses to pair across checkpoints
    assert common_checkpoint([[run("a")], []]) is None
    assert common_checkpoint([]) is None


def test_a_checkpoint_on_disk_compares_as_a_run():
    here = checkpoint_record("ff" * 32, {"best_eval_loss": 0.25, "trie_fingerprint": "t1", "seed": 3})
    assert same_checkpoint(run("ff" * 32), here) and same_checkpoint(run(loss=0.25), here)
