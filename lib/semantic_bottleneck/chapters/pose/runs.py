"""What the pose-guided notebook computes, one call per step: load a model, read c, split its variation, prune.

Every function takes the notebook's parameters (`run.params`). The pruning studies are `study.protocol.run_study`
runs, one per sampler preset (with and without guidance), on the same pairs and the same per-index noise.
"""
from dataclasses import dataclass
import os

import torch

from ...checkpoints.xmdpt import DATA_ENV
from ...condition.measure import cosine_matrix
from ...condition.reach import modulation_gains, reach_summary
from ...devices import cpu_threads, resolve_device
from ...nets.xmdpt import PairEmbedding
from ...profiles import Params
from ...registry import load_network
from ...sampling.conditions import to_device
from ...sampling.generate import timesteps
from ...sampling.presets import preset
from ...study.protocol import run_study
from .rows import paper_share, pose_specs
from .statistics import first_step_vectors, head_dimensions, statistics_row, two_way_variance


def use_data(params):
    """Point the real X-MDPT at the notebook's DeepFashion folder (`deepfashion_dir`; empty: leave the default)."""
    if params.deepfashion_dir:
        os.environ[DATA_ENV] = str(params.deepfashion_dir)


def load(name, params, progress=True):
    """A registered pose-guided model on the notebook's device (`registry.load_network`)."""
    with cpu_threads(params.threads):
        return load_network(name, params.profile, resolve_device(params.device), progress)


@dataclass
class Statistics:
    """c, y alone and t_emb at t0 over random test pairs, their Table 1/5 row and cosine matrix, and what of c reaches
    the modulation: the gain of each coordinate and the SiLU-aware reading of its |c|-head (Table 7's share)."""

    c: torch.Tensor
    y: torch.Tensor
    t: torch.Tensor
    row: dict
    cosine: torch.Tensor
    gains: torch.Tensor
    reach: dict


def statistics(loaded, name, params):
    """c at the first sampling step over `statistics_pairs` test pairs, read by the capture hook, and its statistics."""
    t0 = timesteps(preset(params.presets[0]))[0]  # the first sampling step (999 for DDIM's trailing grid)
    with cpu_threads(params.threads):
        c, y, t = first_step_vectors(loaded, range(params.statistics_pairs), t0, params.seed)
    row = {**statistics_row(c, y, t, params.tau), "pairs": params.statistics_pairs, "model": name}
    gains = modulation_gains(loaded.network).cpu()
    return Statistics(c, y, t, row, cosine_matrix(c), gains, reach_summary(c, gains, paper_share()))


@dataclass
class Variation:
    """c over sources x target poses, its two-way variance parts and its head dimensions."""

    c: torch.Tensor
    parts: dict
    head: torch.Tensor


@torch.no_grad()
def variation(loaded, params):
    """c at t0 for every (source of pair p, target pose of pair q), p < grid_sources, q < grid_poses, and its parts."""
    network = loaded.network
    device = next(network.parameters()).device
    sources, poses = range(params.grid_sources), range(params.grid_sources, params.grid_sources + params.grid_poses)
    with cpu_threads(params.threads):
        batch = to_device(loaded.conditions.cross(sources, poses), device)
        c = PairEmbedding(network, batch).c(timesteps(preset(params.presets[0]))[0])
    return Variation(c, two_way_variance(c, len(sources), len(poses)), head_dimensions(c, params.head_dims))


def studies(name, params, judge, progress=True):
    """One pruning study per preset of `params.presets` (e.g. with and without guidance): preset -> `Study`."""
    out = {}
    for name_of_preset in params.presets:
        values = {**params.as_dict(), "samplers": {name: name_of_preset}}
        out[name_of_preset] = run_study(name, Params(values), judge, pose_specs, progress)
    return out
