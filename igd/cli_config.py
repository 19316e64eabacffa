"""How command-line options become configs: as given, else the --protocol preset's value (and,
for a pretrained model under --protocol paper, the paper's training recipe), else the config
default."""

from __future__ import annotations

import argparse
import os

from igd.config import PAPER_PRETRAINED, PROTOCOLS, LoraSettings, TinyConfig, TrainConfig, default


def resolve_option(args: argparse.Namespace, name: str, fallback):
    """An option's value: as given, else the --protocol preset's, else the config default."""
    value = getattr(args, name, None)
    if value is None:
        value = PROTOCOLS[getattr(args, "protocol", None) or "igd"].get(name, fallback)
    return value


def _recipe(args: argparse.Namespace, name: str, fallback):
    """A training option's value: as given, else the paper's recipe for a pretrained model under
    --protocol paper (appendix B), else the config default."""
    value = getattr(args, name, None)
    if value is None and _paper_recipe(args):
        value = PAPER_PRETRAINED.get(name)
    return fallback if value is None else value


def _paper_recipe(args: argparse.Namespace) -> bool:
    """--protocol paper on a pretrained model: the paper's appendix-B recipe fills the gaps."""
    return getattr(args, "protocol", None) == "paper" and args.model != "tiny"


def _grad_accum(args: argparse.Namespace) -> int:
    """--grad-accum as given; under the paper's recipe for a pretrained model, enough steps that
    one optimiser step sees its batch of 64 over all processes."""
    if args.grad_accum is not None:
        return args.grad_accum  # as given (TrainConfig refuses a bad value, naming the option)
    if not _paper_recipe(args):
        return default(TrainConfig, "grad_accum")
    per_step = max(1, args.batch_size) * int(os.environ.get("WORLD_SIZE", "1"))
    return max(1, -(-PAPER_PRETRAINED["effective_batch"] // per_step))


def _lora(args: argparse.Namespace) -> LoraSettings:
    return LoraSettings(r=_recipe(args, "lora_r", LoraSettings.r), alpha=_recipe(args, "lora_alpha", LoraSettings.alpha),
                        dropout=_recipe(args, "lora_dropout", LoraSettings.dropout))


def train_config(args: argparse.Namespace, **overrides) -> TrainConfig:
    fields = dict(
        data=str(args.data), out=str(getattr(args, "out", "") or ""), model=args.model,
        method=getattr(args, "method", "sft"), beta=getattr(args, "beta", default(TrainConfig, "beta")),
        igd_weighting=args.igd_weighting, cft_alpha=args.cft_alpha, tokenizer=args.tokenizer,
        items=getattr(args, "items", default(TrainConfig, "items")), pace_c=args.pace_c,
        history_titles=getattr(args, "history_titles", False),
        finetune=args.finetune, lora=_lora(args), dtype=args.dtype, save_steps=args.save_steps,
        tiny=TinyConfig(hidden_size=args.tiny_hidden, layers=args.tiny_layers),
        style=args.style, preamble=resolve_option(args, "preamble", None), category=args.category,
        unseen=resolve_option(args, "unseen", default(TrainConfig, "unseen")), decisiveness=args.decisiveness,
        eval_loss=resolve_option(args, "eval_loss", default(TrainConfig, "eval_loss")),
        epochs=_recipe(args, "epochs", default(TrainConfig, "epochs")),
        patience=_recipe(args, "patience", default(TrainConfig, "patience")),
        learning_rate=args.lr if args.lr is not None else _recipe(args, "learning_rate", None),
        batch_size=args.batch_size, grad_accum=_grad_accum(args), max_length=args.max_length, max_steps=args.max_steps,
        max_train_rows=args.max_train_rows, max_eval_rows=args.max_eval_rows,
        logging_steps=args.logging_steps, seed=getattr(args, "seed", 0),
        train_on_valid=args.train_on_valid, overwrite=getattr(args, "overwrite", False))
    fields.update(overrides)
    return TrainConfig(**fields)
