"""`igd train`: fine-tune an LLM recommender with SFT (BIGRec/D3), IGD-Tuning, Pos or CFT.

The Hugging Face `Trainer` does the loop (devices, accelerate/DDP, checkpoints, early stopping
on validation loss); igd only overrides `compute_loss` to apply per-token weights that come
with the batch (Eq. 6-7), and `get_batch_samples` to hand it Eq. 7's denominator.

Loss normalisation: the denominator sum(w) is taken over the label tokens of the WHOLE
optimiser step (all gradient-accumulation micro-batches, all processes), so the result does
not depend on how a batch is split (per-micro-batch sums over-weight micro-batches whose
targets are mostly zero-IG). Micro-batch losses are then added, and multiplied by the number
of processes because DDP averages gradients. Validation loss (`eval_loss`): plain CE (all
weights 1, default) for every method, so early stopping compares like with like; or "train",
the method's own weighted loss, as the official code does.

With `unseen="excluded"` (the official code's trie of training targets only), validation rows
whose target was never a training target are off the trie: their target tokens are the
training-label tokenisation with IG 0 for every token, so IGD-Tuning weights them all beta,
as the official code does (`TargetTable`). Evaluation counts such a target as a miss: it can
never be generated.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path

import torch
from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainingArguments

from igd.checkpoint import check_output_dir, save_checkpoint
from igd.config import PACE_AUTO, TRAIN_METHODS, TrainConfig
from igd.data import Dataset, evenly_spaced, load_dataset, split_rows  # noqa: F401  (split_rows re-exported)
from igd.examples import TargetTable, WeightSpec, build_examples, collate
from igd.info_gain import build_ig_trie, title_counts
from igd.loss import cft_loss, label_weight_sum, target_window, weighted_cross_entropy
from igd.sid_loss import SyncTaskWeights, TaskWeights, multi_target_loss
from igd.sid_targets import sid_weights
from igd.sid_weights import auto_pace_c, pace
from igd.sid_tokens import SidTokenizer
from igd.models import add_lora, build_tiny, compact_vocabulary, load_pretrained
from igd.precision import resolve_dtype, torch_dtype
from igd.resume import (SaveEvery, SaveTaskWeights, restore_task_weights, resume_point, start_record, step_of,
                        trainer_dir)
from igd.stats import table1
from igd.store import RunRecord, recorded_run
from igd.templates import Template, target_ids
from igd.tokenization import load_tokenizer
from igd.versions import package_versions


# Settings that name where things are, not what is trained (a checkpoint trained elsewhere with
# the same settings on the same data is the same training).
LOCATION_FIELDS = ("data", "out", "overwrite")


class IGDTrainer(Trainer):
    """`Trainer` whose loss reads per-token weights from the batch (a small override)."""

    def __init__(self, *args, method: str, cft_alpha: float, eval_loss: str = "ce",
                 tasks: TaskWeights | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.method, self.cft_alpha, self.eval_loss = method, cft_alpha, eval_loss
        self.tasks = None if tasks is None else tasks.to(self.args.device)  # multi-target's learnable s
        self.loss_is_scaled_for_ga = True  # normalised by the whole step's sum(w) already
        self._split_sums = torch.zeros(4, dtype=torch.float64)  # zero sum, n, nonzero sum, n

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """The step's micro-batches and Eq. 7's denominator: sum(w) over all their label
        tokens, summed over processes (replaces the Trainer's token count)."""
        batches, _ = super().get_batch_samples(epoch_iterator, num_batches, device)
        if not batches:
            return batches, None
        total = sum(label_weight_sum(b["labels"], b["token_weights"]) for b in batches).to(device)
        if self.args.world_size > 1:  # one sum, or one per task (multi-target)
            total = self.accelerator.gather(total.reshape(1, -1)).sum(0).reshape(total.shape)
        return batches, total

    def create_optimizer(self, model=None):
        """The Trainer's optimizer, plus multi-target learning's s (no weight decay)."""
        optimizer = super().create_optimizer(model)
        if self.tasks is not None and not any(p is self.tasks.s for g in optimizer.param_groups for p in g["params"]):
            optimizer.add_param_group({"params": [self.tasks.s], "weight_decay": 0.0})
        return optimizer

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not model.training:  # HF's evaluation passes its count of label tokens, not Eq. 7's sum(w):
            num_items_in_batch = None  # each validation batch is normalised by its own sum(w)
        weights, zero = inputs.pop("token_weights"), inputs.pop("zero_ig")
        ref = {k: inputs.pop(k) for k in ("ref_input_ids", "ref_labels", "ref_attention_mask") if k in inputs}
        labels = inputs.pop("labels")
        keep = target_window(labels)  # logits only where a label is predicted
        outputs = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], logits_to_keep=keep)
        labels, weights, zero = labels[:, -keep:], weights[:, -keep:], zero[:, -keep:]
        if not model.training and self.eval_loss == "ce":  # validation: plain CE for every method
            loss, ce = weighted_cross_entropy(outputs.logits, labels, torch.ones_like(labels, dtype=torch.float32))
        elif self.tasks is not None:
            loss, ce = multi_target_loss(outputs.logits, labels, weights, self.tasks(self.state.global_step),
                                         total_weight=num_items_in_batch)
        elif self.method == "cft":
            ref_keep = target_window(ref["ref_labels"])
            ref_logits = model(input_ids=ref["ref_input_ids"], attention_mask=ref["ref_attention_mask"],
                               logits_to_keep=ref_keep).logits
            loss, ce = cft_loss(outputs.logits, labels, weights, ref_logits, ref["ref_labels"][:, -ref_keep:],
                                self.cft_alpha, total_weight=num_items_in_batch)
        else:
            loss, ce = weighted_cross_entropy(outputs.logits, labels, weights, total_weight=num_items_in_batch)
        if model.training:
            self._track(ce, labels, zero)
            if num_items_in_batch is not None:
                loss = loss * self.accelerator.num_processes  # DDP averages gradients
        return (loss, outputs) if return_outputs else loss

    def _track(self, ce, labels, zero) -> None:
        mask = labels[:, 1:] != -100
        z, nz = mask & zero[:, 1:], mask & ~zero[:, 1:]
        ce = ce.detach().double().cpu()
        self._split_sums += torch.stack([ce[z.cpu()].sum(), z.sum().cpu().double(),
                                         ce[nz.cpu()].sum(), nz.sum().cpu().double()])

    def log(self, logs: dict, *args, **kwargs) -> None:
        if "loss" in logs and self._split_sums[1] + self._split_sums[3] > 0:
            s = self._split_sums
            logs["loss_zero_ig"] = float(s[0] / s[1]) if s[1] else float("nan")
            logs["loss_nonzero_ig"] = float(s[2] / s[3]) if s[3] else float("nan")
            self._split_sums = torch.zeros(4, dtype=torch.float64)
            if self.tasks is not None:
                logs.update(self.tasks.values(self.state.global_step))
        super().log(logs, *args, **kwargs)


class StoreCallback(TrainerCallback):
    """Writes every log line (loss, zero-/non-zero-IG loss, eval loss) to the run store."""

    def __init__(self, store, run_id: int):
        self.store, self.run_id = store, run_id

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            values = {k: float(v) for k, v in logs.items() if isinstance(v, (int, float)) and math.isfinite(v)}
            self.store.log_train(self.run_id, state.global_step, float(state.epoch or 0), values)


def prepare(config: TrainConfig):
    """Dataset, model, tokenizer, template, IG trie, its title counts and tokenised rows for `config`."""
    dataset = load_dataset(config.data, items=config.items)
    split, train_rows, eval_rows = split_rows(dataset, config.train_on_valid)
    train_rows = evenly_spaced(train_rows, config.max_train_rows)
    eval_rows = evenly_spaced(eval_rows, config.max_eval_rows)
    template = config.template(names=dict(zip(dataset.catalogue.titles, dataset.catalogue.names or ())))
    if config.is_tiny:
        base = load_tokenizer(config.tokenizer)
        if config.items == "sid":  # one new token per code (igd.sid_tokens)
            base = SidTokenizer.for_ids(base, dataset.catalogue.titles)
        tokenizer = compact_vocabulary(base, vocabulary_texts(dataset, template))
        model = build_tiny(tokenizer.vocab_size, config.tiny, tokenizer, config.seed)
    else:
        # LoRA: the frozen base in the compute dtype (bf16 where native), the adapter in fp32
        # (PEFT upcasts it). Full fine-tuning keeps fp32 master weights; bf16 is then autocast.
        dtype = torch_dtype(resolve_dtype(config.dtype)) if config.finetune != "full" else torch.float32
        model, tokenizer = load_pretrained(config.model, config.finetune, dtype)
        if config.finetune in ("lora", "qlora"):
            model = add_lora(model, config.lora, quantized=config.finetune == "qlora")
    counts = title_counts(train_rows, dataset.catalogue)
    ig = build_ig_trie(dataset.catalogue, counts, tokenizer, template, config.unseen, config.decisiveness)
    train_titles = sorted({dataset.catalogue.titles[s.target] for s in train_rows})
    ig.check_targets(target_ids(tokenizer, template, train_titles))
    sid = None
    if TRAIN_METHODS[config.method].sid_only:
        sid = sid_weights(dataset, train_rows, front_greater=config.method != "frequency")
    spec = WeightSpec(config.method, config.beta if config.method != "sft" else 1.0,
                      config.igd_weighting, float(ig.edge_ig.max()), sid)
    targets = TargetTable(ig, spec, tokenizer, template)
    cft = config.method == "cft"
    train_ex = build_examples(train_rows, dataset.catalogue, tokenizer, template, targets,
                              config.max_length, with_reference=cft)
    eval_ex = build_examples(eval_rows, dataset.catalogue, tokenizer, template, targets,
                             config.max_length, with_reference=cft)
    return dataset, split, model, tokenizer, template, ig, counts, train_ex, eval_ex


def vocabulary_texts(dataset: Dataset, template: Template) -> list[str]:
    """Texts covering every token a prompt or target of this dataset can contain.

    BPE pieces only depend on a title and the punctuation right around it, so encoding each
    title at the start and end of a history (`prompt([t, t])`), each consecutive pair of
    history titles in the middle, and each target suffices; encoding the ~100k full prompts
    would take 10x longer. Anything else (a history typed in the app) still encodes: rare
    unseen pieces map to `<unk>`.
    """
    titles = dataset.catalogue.titles
    pairs = {(s.history[i], s.history[i + 1]) for rows in dataset.splits.values() for s in rows
             for i in range(len(s.history) - 1)}
    texts = list(template.prompt_parts([]))  # parts are tokenised on their own
    texts += [p for t in dataset.catalogue.title_to_ids for p in template.prompt_parts([t, t])]
    texts += [template.target_text(t) for t in dataset.catalogue.title_to_ids]
    texts += [f", {template.history_text([titles[a], titles[b]])}, " for a, b in sorted(pairs)]
    return texts


def train(config: TrainConfig, store=None) -> Path:
    """Train, early-stop on validation loss, save the best model atomically; returns its path.
    An interrupted training with the same settings continues from its last checkpoint (igd.resume)."""
    out = Path(config.out)
    check_output_dir(out, config.overwrite)  # before hours of training, not after
    key = {"config": training_key(config), "fingerprint": load_dataset(config.data, lazy=True).fingerprint}
    checkpoint, saved = resume_point(trainer_dir(out), key, config.overwrite)
    torch.manual_seed(config.seed)
    dataset, split, model, tokenizer, template, ig, counts, train_ex, eval_ex = prepare(config)
    main_process = int(os.environ.get("RANK", "0")) == 0  # accelerate/torchrun set RANK
    if store is not None and not main_process:
        store = None  # one run per training, written by the main process only
    resumed = {"run": (saved.get("runs") or [None])[-1], "step": step_of(checkpoint)} if checkpoint else None
    with recorded_run(store, lambda: _record(config, dataset, split, resumed)) as run_id:
        if main_process:
            start_record(trainer_dir(out), key, run_id, saved)
        if store is not None and resumed and resumed["run"] is not None:
            store.copy_train_log(resumed["run"], run_id, resumed["step"])  # one loss curve per training
        trainer = _trainer(config, model, tokenizer, train_ex, eval_ex, out, store, run_id)
        restore_task_weights(trainer.tasks, checkpoint)
        started, cpu_started = time.time(), time.process_time()
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        best = trainer.state.best_metric
        meta = {"model": config.model, "finetune": "full" if config.is_tiny else config.finetune,
                "train_method": config.method, "beta": config.beta, "seed": config.seed, "items": config.items,
                "dataset": dataset.name, "dataset_fingerprint": dataset.fingerprint,
                "training_split": split, "train_on_valid": config.train_on_valid,
                "train_rows": len(train_ex), "unseen": config.unseen, "decisiveness": config.decisiveness,
                "trie_fingerprint": ig.fingerprint, "best_eval_loss": best,
                "epochs_run": trainer.state.epoch, "steps": trainer.state.global_step,
                "config": config_dict(config), "resolved": resolved_settings(config, trainer),
                "versions": package_versions(), "train_run": run_id}
        if trainer.is_world_process_zero():
            save_checkpoint(out, trainer.model, tokenizer, template, meta, overwrite=config.overwrite,
                            item_prior=counts)
            shutil.rmtree(trainer.args.output_dir, ignore_errors=True)  # intermediate checkpoints
        if store is not None and trainer.is_world_process_zero():
            metrics = {"train_loss": result.training_loss, "steps": trainer.state.global_step,
                       "resumed_at_step": float(resumed["step"] if resumed else 0),
                       "epochs": trainer.state.epoch, "train_seconds": time.time() - started,
                       "cpu_seconds": time.process_time() - cpu_started}  # all threads: the study's CPU budget
            if best is not None:
                metrics["eval_loss"] = best
            # Table 1 of the training set, so `igd report` has it from the store alone
            metrics |= {f"t1_{k}": v for k, v in {"items": float(len(dataset.catalogue)),
                                                  **table1(ig, counts)}.items()}
            if trainer.tasks is not None:  # the learned task weights at the end
                metrics |= trainer.tasks.values(trainer.state.global_step)
                if trainer.tasks.curriculum:  # the c used (auto: resolved) and Frequency's pace at the end
                    metrics |= {"pace_c": trainer.tasks.c,
                                "pace_frequency": pace(trainer.state.global_step, trainer.tasks.c)[2]}
            store.complete(run_id, metrics)
    return out


def _trainer(config, model, tokenizer, train_ex, eval_ex, out, store, run_id) -> IGDTrainer:
    world = int(os.environ.get("WORLD_SIZE", "1"))  # set by accelerate launch / torchrun
    multi_process = world > 1
    steps_per_epoch = max(1, math.ceil(len(train_ex) / (config.batch_size * config.grad_accum * world)))
    if config.max_steps > 0:
        steps_per_epoch = min(steps_per_epoch, config.max_steps)
    use_bf16 = resolve_dtype(config.dtype) == "bf16"  # autocast; fp32 master weights and optimizer state
    args = TrainingArguments(
        output_dir=str(trainer_dir(out)),
        per_device_train_batch_size=config.batch_size, per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate or (1e-3 if config.is_tiny else 1e-4),
        num_train_epochs=config.epochs, max_steps=config.max_steps, warmup_steps=min(100, steps_per_epoch // 10),
        eval_strategy="steps", eval_steps=steps_per_epoch, save_strategy="steps", save_steps=steps_per_epoch,
        load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
        save_total_limit=2, logging_steps=config.logging_steps, report_to=[], seed=config.seed,
        data_seed=config.seed, remove_unused_columns=False, bf16=use_bf16,
        use_cpu=not torch.cuda.is_available(), train_sampling_strategy="group_by_length",
        ddp_backend="gloo" if multi_process and not torch.cuda.is_available() else None,
        save_only_model=False)  # optimizer, scheduler and RNG too: a stopped training resumes exactly
    callbacks = [EarlyStoppingCallback(early_stopping_patience=config.patience), SaveEvery(config.save_steps)]
    if store is not None:
        callbacks.append(StoreCallback(store, run_id))
    tasks = None
    if TRAIN_METHODS[config.method].tasks > 1:
        total = config.max_steps if config.max_steps > 0 else math.ceil(steps_per_epoch * config.epochs)
        c = auto_pace_c(total) if config.pace_c == PACE_AUTO else float(config.pace_c)
        tasks = TaskWeights(curriculum=config.method == "mtl-curriculum", c=c)
        callbacks += [SyncTaskWeights(tasks), SaveTaskWeights(tasks)]
    return IGDTrainer(model=model, args=args, train_dataset=train_ex, eval_dataset=eval_ex,
                      data_collator=collate(tokenizer.pad_token_id), callbacks=callbacks,
                      method=config.method, cft_alpha=config.cft_alpha, eval_loss=config.eval_loss, tasks=tasks)


def _record(config: TrainConfig, dataset: Dataset, split: str, resumed: dict | None) -> RunRecord:
    recorded = config_dict(config) | {"resolved": resolved_settings(config)}
    if resumed:
        recorded["resumed_from"] = resumed  # the run that was stopped, and the step continued from
    return RunRecord(
        kind="train", dataset=dataset.name, dataset_fingerprint=dataset.fingerprint,
        model=config.model, seed=config.seed, split=split, train_method=config.method,
        beta=config.beta if TRAIN_METHODS[config.method].uses_beta else None, checkpoint=str(config.out),
        config=recorded, versions=package_versions())


def resolved_settings(config: TrainConfig, trainer: Trainer | None = None) -> dict:
    """What the defaults and `auto` became on this machine: recorded with the run and checkpoint."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    settings = {"dtype": resolve_dtype(config.dtype), "threads": torch.get_num_threads(),
                "learning_rate": config.learning_rate or (1e-3 if config.is_tiny else 1e-4),
                "effective_batch": config.batch_size * config.grad_accum * world, "processes": world,
                "optimizer": "adamw_torch", "device": "cuda" if torch.cuda.is_available() else "cpu"}
    if trainer is not None:
        settings |= {"optimizer": str(trainer.args.optim.value if hasattr(trainer.args.optim, "value")
                                      else trainer.args.optim), "warmup_steps": trainer.args.warmup_steps}
    return settings


def training_key(config: TrainConfig) -> dict:
    """The settings that make a training what it is: the config without where things are."""
    return {k: v for k, v in config_dict(config).items() if k not in LOCATION_FIELDS}


def config_dict(config: TrainConfig) -> dict:
    """The config as JSON-ready data (recorded with the checkpoint and the run)."""
    return _jsonable(asdict(config))


def _jsonable(d: dict) -> dict:
    return {k: (_jsonable(v) if isinstance(v, dict) else list(v) if isinstance(v, tuple) else v)
            for k, v in d.items()}
