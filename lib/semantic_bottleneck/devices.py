"""Where and with how many threads the networks run."""
from contextlib import contextmanager
import os
import warnings

import torch

TRAINING_THREADS_ENV = "SEMANTIC_BOTTLENECK_TRAINING_THREADS"
BOOK_TRAINING_THREADS = 2  # the cores of the machines the book is built on


@contextmanager
def cpu_threads(n):
    """Run a block with `n` torch CPU threads (0: leave torch's setting), restoring the setting after.

    One thread avoids OpenMP contention when other processes share a 2-core machine (measured 4-20x
    slower with two threads there); on an idle machine two threads are faster for large batches.
    """
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def training_threads():
    """CPU threads every tiny training runs with: $SEMANTIC_BOTTLENECK_TRAINING_THREADS, else 2.

    A training's rounding depends on its thread count (the backward's sums are split between threads; sampling and
    judging give the same bits with 1, 2 or 4), so a fixed count trains the book's weights on a machine with any
    number of cores (and the same CPU kernels). Fewer cores than threads is slower, and said once.
    """
    text = os.environ.get(TRAINING_THREADS_ENV, str(BOOK_TRAINING_THREADS))
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{TRAINING_THREADS_ENV} must be a positive integer, got {text!r}")
    threads = int(text)
    if threads > (os.cpu_count() or threads):
        warnings.warn(f"training with {threads} CPU threads on {os.cpu_count()} core(s): slower, but the weights "
                      f"{threads} threads give on any machine (the book's: {BOOK_TRAINING_THREADS}; set by "
                      f"{TRAINING_THREADS_ENV})", stacklevel=2)
    return threads


def training_key():
    """What the training threads add to a trained model's cache key: its weights depend on them."""
    return {"training_threads": training_threads()}


def cuda_visible():
    """Whether torch sees a CUDA device."""
    return torch.cuda.is_available()


def resolve_device(device="auto"):
    """A torch device name: `device` itself, or for "auto" "cuda" when a GPU is visible, else "cpu"."""
    if device == "auto":
        return "cuda" if cuda_visible() else "cpu"
    return device
