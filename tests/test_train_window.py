"""`IGDTrainer.compute_loss` asks the model for logits from one before the batch's first label
to the end only (`igd.loss.target_window`, HF's `logits_to_keep`). For every loss family (SFT,
IGD-Tuning, CFT with its history-free second pass, multi-target) the loss and the gradients
must be those of the loss on the full logits, computed here straight from the model."""

import pytest
import torch
from transformers import TrainingArguments

from fruits import write_dataset
from igd.config import TinyConfig, TrainConfig
from igd.examples import collate
from igd.loss import cft_loss, target_window, weighted_cross_entropy
from igd.sid_build import SidConfig, build_sids
from igd.sid_loss import TaskWeights, multi_target_loss
from igd.train import IGDTrainer, prepare


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("window")
    d3 = write_dataset(root / "fruits")
    build_sids(SidConfig(str(d3), str(root / "sid"), levels=2, codes=256, method="random"))
    return root, d3, root / "sid"


def _setup(data, method: str, items: str = "title"):
    root, d3, sid = data
    cfg = TrainConfig(data=str(sid if items == "sid" else d3), out="", method=method, beta=0.2, items=items,
                      tokenizer="char", tiny=TinyConfig(hidden_size=32, layers=1, heads=2, intermediate_size=64),
                      category="fruits", max_train_rows=8)
    _, _, model, tok, _, _, _, train_ex, _ = prepare(cfg)
    batch = collate(tok.pad_token_id)([train_ex[i] for i in range(len(train_ex))])
    tasks = TaskWeights(curriculum=False, c=2e-5) if method == "mtl" else None
    args = TrainingArguments(output_dir=str(root / "out"), use_cpu=True, report_to=[], remove_unused_columns=False)
    trainer = IGDTrainer(model=model, args=args, method=method, cft_alpha=0.1, tasks=tasks)
    return model.train(), batch, trainer, tasks


def _full_logit_loss(model, batch, method, tasks):
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    labels, weights = batch["labels"], batch["token_weights"]
    if method == "cft":
        ref = model(input_ids=batch["ref_input_ids"], attention_mask=batch["ref_attention_mask"]).logits
        return cft_loss(logits, labels, weights, ref, batch["ref_labels"], 0.1)[0]
    if method == "mtl":
        return multi_target_loss(logits, labels, weights, tasks(0))[0]
    return weighted_cross_entropy(logits, labels, weights)[0]


def _grads(model):
    return [p.grad.clone() for p in model.parameters() if p.grad is not None]


@pytest.mark.parametrize("method,items", [("sft", "title"), ("igd", "title"), ("cft", "title"), ("mtl", "sid")])
def test_the_windowed_loss_is_the_full_logit_loss(data, method, items):
    model, batch, trainer, tasks = _setup(data, method, items)
    assert target_window(batch["labels"]) < batch["labels"].shape[1]  # the window does cut the prompt
    expected = _full_logit_loss(model, batch, method, tasks)
    expected.backward()
    want = _grads(model)
    model.zero_grad(set_to_none=True)
    loss = trainer.compute_loss(model, dict(batch))
    loss.backward()
    assert float(loss.detach()) == pytest.approx(float(expected.detach()), rel=1e-5)
    got = _grads(model)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method, items", [("igd", "title"), ("cft", "title"), ("mtl", "sid")])
def test_validation_loss_is_normalised_by_the_sum_of_weights(data, method, items):
    """The method's own validation loss (--eval-loss train) divides by the batch's sum of
    weights (Eq. 7), whatever count HF's evaluation loop passes as num_items_in_batch (it
    passes the number of label tokens, which would scale an IGD loss by sum(w) / tokens)."""
    model, batch, trainer, tasks = _setup(data, method, items)
    trainer.eval_loss = "train"
    model.eval()
    with torch.no_grad():
        own = trainer.compute_loss(model, dict(batch))
        tokens = int((batch["labels"] != -100).sum())
        passed = trainer.compute_loss(model, dict(batch), num_items_in_batch=torch.tensor(tokens))
        expected = _full_logit_loss(model, batch, method, tasks)
    assert float(passed) == pytest.approx(float(own), rel=1e-6)
    assert float(own) == pytest.approx(float(expected), rel=1e-5)
    model.train()
