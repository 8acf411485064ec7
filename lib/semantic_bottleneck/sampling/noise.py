"""Noise drawn from each sample's global index: the same whatever the batch size, process count or pruning.

Each sample's initial noise and each stochastic step's noise come from CPU generators seeded by (seed, index)
and (seed, index, step), so a pruned run sees exactly the baseline's noise and results do not depend on how
the indices are split into batches or processes.
"""
import torch


def sample_noise(indices, shape, seed):
    """Initial noise (N, *shape), each sample's drawn from its own CPU generator seeded by (seed, index).

    So a sample's noise depends on its global index only: not on the batch size, the number of
    processes or which run (pruned or not) asks for it.
    """
    out = []
    for index in indices:
        g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(index))
        out.append(torch.randn(shape, generator=g))
    return torch.stack(out)


def step_seed(seed, index, step):
    """The seed of one sample's noise at one stochastic step."""
    return (int(seed) * 1_000_003 + int(index)) * 4099 + 7919 * (int(step) + 1)


def step_noise(indices, shape, seed, step):
    """Per-step noise (N, *shape) for stochastic solvers, from CPU generators seeded by (seed, index, step)."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(step_seed(seed, i, step)))
                        for i in indices])
