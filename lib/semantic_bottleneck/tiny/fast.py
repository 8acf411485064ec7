"""The tiny DiTs' training step made faster on a CPU: blocks compiled, and optionally matrix products in bfloat16.

Two fields of `tiny.train.TrainConfig`, so of its cache key (both change the rounding, so the trained weights):
- `compiled=True`: each transformer block compiled by `torch.compile` for training (inductor fuses the modulation,
  the norms and the GELU; one graph serves every identical block; ~20 s per architecture and process the first
  time, seconds from inductor's disk cache after).
- `precision="bfloat16"`: forward and backward under bfloat16 autocast, so the products run on the CPU's bfloat16 units
  (AMX / AVX512-BF16); weights, optimiser, residual stream, norms and attention (`nets.dit.attention`) stay float32.
Both were measured on the tiny class model and neither is used by a profile (`tiny.classes.class_model` says why);
`benchmarks/bench_budgets.py flops` times the step eager and compiled.
`resolve` turns either off, with one line saying why, on a machine that cannot run it well (no C++ compiler for
inductor; a CPU without native bfloat16), so a cache entry always names how its weights were made.
"""
from contextlib import nullcontext
from dataclasses import replace
import os
import shutil

import torch

PRECISIONS = ("float32", "bfloat16")


def check_precision(precision):
    """`precision`, or a one-line error naming what is allowed."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    return precision


def compiler_found():
    """Whether a C++ compiler for inductor's CPU code is on the PATH ($CXX, g++, c++ or clang++)."""
    return any(shutil.which(name) for name in (os.environ.get("CXX", ""), "g++", "c++", "clang++") if name)


def native_bfloat16():
    """Whether this CPU multiplies bfloat16 matrices natively (oneDNN's AVX512-BF16 or AMX kernels)."""
    return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def resolve(config):
    """`config` as this machine will train it: `compiled` off without a C++ compiler, `precision` float32 on a CPU
    without native bfloat16 (each said in one line), so the cache key names the weights actually made."""
    check_precision(config.precision)
    if config.compiled and not compiler_found():
        print("training without torch.compile: no C++ compiler (g++, c++ or clang++) on the PATH")
        config = replace(config, compiled=False)
    if config.precision == "bfloat16" and not native_bfloat16():
        print("training in float32: this CPU has no native bfloat16 matrix products (AVX512-BF16 or AMX)")
        config = replace(config, precision="float32")
    return config


def compile_blocks(model, compiled):
    """Compile each of `model.blocks` in place when `compiled` (train a copy: the sampled network stays eager)."""
    if compiled:
        for block in model.blocks:
            block.compile()
    return model


def autocast(precision):
    """The context a training step's forward and loss run in: bfloat16 CPU autocast, or nothing for float32."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if check_precision(precision) == "bfloat16" else nullcontext()
