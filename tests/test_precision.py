"""igd.precision (dtype and threads chosen from the hardware) and the paper's recipe for a
pretrained model under --protocol paper."""

import argparse

import pytest

from igd.cli import build_parser
from igd.cli_config import train_config
from igd.precision import auto_threads, cpu_flags, native_bf16, parse_threads, resolve_dtype


def test_native_bf16_is_read_from_the_cpu_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16 amx_tile\n")
    assert "avx512_bf16" in cpu_flags(info) and native_bf16(cpu_flags(info))
    assert not native_bf16({"avx2", "avx512f"})  # AVX-512 without its bf16 extension: fp32
    assert native_bf16({"amx_bf16"})
    assert cpu_flags(tmp_path / "missing") == set()


def test_auto_dtype_follows_the_hardware():
    assert resolve_dtype("auto", "cpu", {"avx2"}) == "fp32"
    assert resolve_dtype("auto", "cpu", {"avx512_bf16"}) == "bf16"
    assert resolve_dtype("bf16", "cpu", {"avx2"}) == "bf16"  # asked for: given (and slow there)
    assert resolve_dtype("fp32", "cpu", {"amx_bf16"}) == "fp32"
    with pytest.raises(ValueError, match="choose one of auto, fp32, bf16"):
        resolve_dtype("fp16", "cpu")


def test_auto_threads_leave_busy_cores_alone():
    assert auto_threads(cores=2, load=0.1) == 2
    assert auto_threads(cores=2, load=1.2) == 1  # the other core is busy: 1 thread ran 7x faster
    assert auto_threads(cores=2, load=4.0) == 1
    assert auto_threads(cores=8, load=2.6) == 5
    assert parse_threads("auto") == "auto" and parse_threads("3") == 3
    with pytest.raises(ValueError, match="pass a number of threads >= 1, or auto"):
        parse_threads("0")


def _args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["train", "--data", "d", "--out", "o", *argv])


def test_the_paper_recipe_for_a_pretrained_model():
    cfg = train_config(_args("--model", "smollm2-135m", "--protocol", "paper"))
    assert (cfg.learning_rate, cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout) == (1e-4, 32, 64, 0.05)
    assert (cfg.epochs, cfg.patience, cfg.batch_size * cfg.grad_accum) == (3, 1, 64)  # batch 16 x 4 steps
    assert cfg.preamble == "official" and cfg.eval_loss == "train"
    cfg = train_config(_args("--model", "smollm2-135m", "--protocol", "paper", "--batch-size", "6", "--lora-r", "8"))
    assert cfg.grad_accum == 11 and cfg.lora.r == 8  # ceil(64 / 6); what the user sets wins
    plain = train_config(_args("--model", "smollm2-135m"))
    assert (plain.learning_rate, plain.lora.r, plain.grad_accum) == (None, 8, 1)  # no protocol: the defaults
    tiny = train_config(_args("--protocol", "paper"))
    assert tiny.grad_accum == 1 and tiny.learning_rate is None  # the recipe is for pretrained models


def test_dtype_and_threads_options_reach_every_decoding_command():
    parser = build_parser()
    for argv in (["evaluate", "--checkpoint", "c", "--data", "d"], ["recommend", "--checkpoint", "c", "--data", "d",
                 "--user-index", "0"], ["app"], ["experiment", "--data", "d"], ["train", "--data", "d", "--out", "o"]):
        args = parser.parse_args([*argv, "--dtype", "fp32", "--threads", "1"])
        assert (args.dtype, args.threads) == ("fp32", 1)


class _Stat:
    """/proc/stat read twice: cumulative jiffies (user nice system idle iowait irq softirq steal)."""

    def __init__(self, *samples: str):
        self.samples = list(samples)

    def read_text(self) -> str:
        return self.samples.pop(0)


def test_busy_cores_are_measured_from_proc_stat(monkeypatch):
    from igd import precision

    monkeypatch.setattr(precision.os, "cpu_count", lambda: 2)
    # 200 jiffies passed on 2 cores, 100 of them idle: one core's worth of work by others
    stat = _Stat("cpu  100 0 0 100 0 0 0 0 0 0\n", "cpu  200 0 0 200 0 0 0 0 0 0\n")
    assert precision.busy_cores(0.0, stat) == pytest.approx(1.0)
    assert precision.auto_threads(cores=2, load=precision.busy_cores(0.0, _Stat(
        "cpu  0 0 0 0 0 0 0 0 0 0\n", "cpu  0 0 0 200 0 0 0 0 0 0\n"))) == 2  # all idle: both cores
