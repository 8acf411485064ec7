"""What the pose-guided notebook computes, one call per step: load a model, read c, split its variation, prune.

Every function takes the chapter's settings (`run.settings`, a `settings.PoseSettings`). The pruning studies are
`study.protocol.run_study` runs, one per sampler preset (with and without guidance), on the same pairs and the same
per-index noise.
"""
from dataclasses import dataclass
import os

import torch

from ...checkpoints.xmdpt import DATA_ENV
from ...condition.measure import cosine_matrix
from ...condition.reach import modulation_gains, reach_summary
from ...devices import cpu_threads, resolve_device
from ...nets.xmdpt import PairEmbedding
from ...registry import load_network
from ...sampling.conditions import to_device
from ...sampling.generate import timesteps
from ...sampling.presets import preset
from ...study.protocol import run_study
from ...settings.chapters import PoseSettings
from .rows import paper_share, pose_specs
from .statistics import first_step_vectors, head_dimensions, statistics_row, two_way_variance


def use_data(settings: PoseSettings):
    """Point the real X-MDPT at the notebook's DeepFashion folder (`deepfashion_dir`; empty: leave the default)."""
    if settings.deepfashion_dir:
        os.environ[DATA_ENV] = str(settings.deepfashion_dir)


def load(name, settings: PoseSettings, progress=True):
    """A registered pose-guided model on the notebook's device (`registry.load_network`)."""
    with cpu_threads(settings.threads):
        return load_network(name, settings.profile, resolve_device(settings.device), progress)


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


def statistics(loaded, name, settings: PoseSettings):
    """c at the first sampling step over `statistics_pairs` test pairs, read by the capture hook, and its statistics."""
    t0 = timesteps(preset(settings.presets[0]))[0]  # the first sampling step (999 for DDIM's trailing grid)
    with cpu_threads(settings.threads):
        c, y, t = first_step_vectors(loaded, range(settings.statistics_pairs), t0, settings.seed)
    row = {**statistics_row(c, y, t, settings.tau), "pairs": settings.statistics_pairs, "model": name}
    gains = modulation_gains(loaded.network).cpu()
    return Statistics(c, y, t, row, cosine_matrix(c), gains, reach_summary(c, gains, paper_share()))


@dataclass
class Variation:
    """c over sources x target poses, its two-way variance parts and its head dimensions."""

    c: torch.Tensor
    parts: dict
    head: torch.Tensor


@torch.no_grad()
def variation(loaded, settings: PoseSettings):
    """c at t0 for every (source of pair p, target pose of pair q), p < grid_sources, q < grid_poses, and its parts."""
    network = loaded.network
    device = next(network.parameters()).device
    sources = range(settings.grid_sources)
    poses = range(settings.grid_sources, settings.grid_sources + settings.grid_poses)
    with cpu_threads(settings.threads):
        batch = to_device(loaded.conditions.cross(sources, poses), device)
        c = PairEmbedding(network, batch).c(timesteps(preset(settings.presets[0]))[0])
    return Variation(c, two_way_variance(c, len(sources), len(poses)), head_dimensions(c, settings.head_dims))


def studies(name, settings: PoseSettings, judge, progress=True):
    """One pruning study per preset of `settings.presets` (e.g. with and without guidance): preset -> `Study`."""
    out = {}
    for name_of_preset in settings.presets:
        out[name_of_preset] = run_study(name, settings, judge, pose_specs, progress, sampler=name_of_preset)
    return out
