"""Where and with how many threads the networks run."""
from contextlib import contextmanager

import torch


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


def cuda_visible():
    """Whether torch sees a CUDA device."""
    return torch.cuda.is_available()


def resolve_device(device="auto"):
    """A torch device name: `device` itself, or for "auto" "cuda" when a GPU is visible, else "cpu"."""
    if device == "auto":
        return "cuda" if cuda_visible() else "cpu"
    return device
