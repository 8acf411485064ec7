"""What the pose-guided notebook computes, one call per step: load a model, read c, split its variation, prune.

Every function takes the chapter's settings (`run.settings`, a `settings.PoseSettings`). The pruning studies are
`study.protocol.run_study` runs, one per sampler preset (with and without guidance), on the same pairs and the same
per-index noise; `run(settings, name, judge)` serves both the notebook and the `prune` command.

Statistics of c for a continuous condition (Table 1's X-MDPT column, Table 5's y against y + t, Figs 4 and
33) and the split of its variation into person, pose and interaction; the judge's calibration (the real answers and
the copied source as per-sample scores' ceiling and floor); whether a row's change depends on guidance.
"""
from dataclasses import dataclass
import os

import pandas as pd
import torch

from ...checkpoints.xmdpt import DATA_ENV
from ...condition.hooks import CaptureC
from ...condition.measure import below_tau, cosine_matrix, dimension_variance, similarity_row
from ...condition.reach import modulation_gains, reach_summary
from ...devices import cpu_threads
from ...judge.metrics import concat_records
from ...judge.paired_seeds import summarise
from ...nets.xmdpt import PairEmbedding
from ...sampling.conditions import to_device
from ...sampling.generate import input_shape, model_output, timesteps
from ...sampling.noise import sample_noise
from ...sampling.presets import preset
from ...settings.chapters import PoseSettings
from ..plans import load, run_plan  # load: the model as the notebook and the prune command load it
from .rows import paper_share, pose_specs
from .tables import metric_labels

PARTS = ("person", "pose", "interaction")


@torch.no_grad()
def first_step_vectors(loaded, indices, t0, seed=0):
    """(c, y, t_emb) at the first sampling step t0 over the pairs at `indices`: c (N, D) as the first block reads it
    (a forward hook), y (N, D) alone, and t_emb (D,)."""
    network = loaded.network
    device = next(network.parameters()).device
    batch = to_device(loaded.conditions.for_indices(indices), device)
    x = sample_noise(indices, input_shape(network), seed).to(device)
    with CaptureC(network) as capture:
        model_output(network, x, torch.full((len(x),), t0, device=device), batch)
    embedding = PairEmbedding(network, batch)
    return capture.stacked().float().cpu(), embedding.label(), embedding.time([t0])[0]


def statistics_row(c, y, t, tau, tail_share=0.4):
    """Table 1/5 statistics of c and of y alone (`condition.measure.similarity_row`), the share below tau, and the
    share of c's variance across pairs that its `tail_share` smallest |mean c_i| dimensions carry."""
    row = similarity_row(c, y, t)
    variance = dimension_variance(c)
    tail = c.mean(0).abs().argsort()[:round(tail_share * c.shape[1])]
    row.update({"below_tau_mean_over_pairs": below_tau(c, tau).mean().item(),
                "below_tau_of_mean_vector": below_tau(c.mean(0), tau).item(), "tau": tau, "tail_share": tail_share,
                "tail_variance_share": (variance[tail].sum() / variance.sum()).item()})
    return row


def two_way_variance(c, sources, poses):
    """Per dimension, the variance of c (P Q, D; p-major) split into person, pose and interaction parts (D,) each.

    A balanced two-way decomposition: with m the grand mean, a_p = mean over poses - m, b_q = mean over people - m,
    c_pq - m = a_p + b_q + e_pq, and the three mean squares add up to the total variance exactly.
    """
    if c.shape[0] != sources * poses or min(sources, poses) < 2:
        raise ValueError(f"c must hold sources x poses = {sources} x {poses} rows (each >= 2); got {c.shape[0]}")
    grid = c.double().reshape(sources, poses, -1)  # (P, Q, D)
    grand = grid.mean((0, 1))
    person, pose = grid.mean(1) - grand, grid.mean(0) - grand  # (P, D), (Q, D)
    interaction = grid - grand - person[:, None] - pose[None]
    return {"person": person.square().mean(0), "pose": pose.square().mean(0),
            "interaction": interaction.square().mean((0, 1)), "total": (grid - grand).square().mean((0, 1))}


def variation_shares(parts, head):
    """Share of c's variance from the person, the pose and their interaction: over all D dimensions, over the
    `head` dimensions and over the rest."""
    total = parts["total"]
    rest = torch.ones_like(total, dtype=torch.bool)
    rest[head] = False
    out = []
    for name, dims in (("all dimensions", slice(None)), (f"head ({len(head)} largest |mean c|)", head),
                       ("the other dimensions", rest)):
        out.append({"dimensions": name, "share of the total variance": (total[dims].sum() / total.sum()).item(),
                    **{f"{part} share": (parts[part][dims].sum() / total[dims].sum()).item() for part in PARTS}})
    return pd.DataFrame(out).set_index("dimensions")


def head_dimensions(c, count):
    """The `count` dimensions with the largest |mean c| (the head), largest first."""
    return c.mean(0).abs().argsort(descending=True)[:count]


def head_attribution(c, parts, head):
    """Per head dimension: mean c, its variance and which part of it the person, the pose and both explain."""
    mean = c.double().mean(0)
    return pd.DataFrame([{"dimension": int(i), "mean c": mean[i].item(), "variance": parts["total"][i].item(),
                          **{f"{part} share": (parts[part][i] / parts["total"][i]).item() for part in PARTS}}
                         for i in head]).set_index("dimension")


def use_data(settings: PoseSettings):
    """Point the real X-MDPT at the notebook's DeepFashion folder (`deepfashion_dir`; empty: leave the default)."""
    if settings.deepfashion_dir:
        os.environ[DATA_ENV] = str(settings.deepfashion_dir)


def models(settings: PoseSettings):
    """The model names whose pruning studies the notebook runs."""
    return list(settings.models)


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


def plan(settings: PoseSettings, name):
    """The studies of one model, one per preset of `settings.presets` (e.g. with and without guidance):
    preset -> (settings, make_specs, sampler preset)."""
    return {name_of_preset: (settings, pose_specs, name_of_preset) for name_of_preset in settings.presets}


def run(settings: PoseSettings, name, judge, progress=True, team=None):
    """Every study of `plan` on one model, scored by `judge`: preset -> `study.protocol.Study`."""
    return run_plan(plan(settings, name), name, judge, progress, team)


def guidance_interaction(guided, unguided, metric, names=None):
    """Does a row's change depend on guidance? Per seed, its change with guidance minus its change without.

    `guided` and `unguided` are the two studies' long frames (same rows, seeds and noise). The difference is
    summarised with `judge.paired_seeds.summarise`: mean, 95% interval, and a verdict against the seed-to-seed
    spread of the unguided change (its noise floor).
    """
    def changes(long):
        """Each row's per-seed change of `metric` from the baseline."""
        part = long[long["metric"] == metric].pivot(index="replicate", columns="row", values="value")
        part = part[list(dict.fromkeys(long["row"]))]  # the study's row order
        return part.sub(part["baseline"], axis=0).drop(columns="baseline")

    with_guidance, without = changes(guided), changes(unguided)
    frame = pd.concat([pd.DataFrame({"row": name, "replicate": table.index.to_numpy(), "metric": row,
                                     "value": table[row].to_numpy()})
                       for row in with_guidance.columns if row in without.columns
                       for name, table in (("baseline", without), ("guided", with_guidance))])
    summary = summarise(frame)
    summary = summary[summary["row"] == "guided"].set_index("metric")
    label = metric_labels(names)[metric]
    return pd.DataFrame({f"Δ{label} without guidance": without.mean(), f"Δ{label} with guidance":
                         with_guidance.mean(), "difference (with - without)": summary["delta"],
                         "95% interval": summary["delta_ci95"], "seed-to-seed spread": summary["noise_floor"],
                         "verdict": summary["verdict"].str.replace("noise", "seed spread")}).dropna(subset=["verdict"])


REAL, COPY = "the real answers", "the source image, copied"  # the rows of `calibration`


def calibration(judge, pairs, indices, batch_size=64):
    """Each per-sample score of the real answers (its ceiling) and of the source images copied unchanged (a trivial
    answer that keeps the person and ignores the pose), over the pairs at `indices`, `batch_size` at a time."""
    indices, parts = list(indices), {REAL: [], COPY: []}
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        shown = pairs.shown(chunk)
        parts[REAL].append(judge.records(shown["answer"], None, chunk))
        parts[COPY].append(judge.records(shown["source"], None, chunk))
    return pd.DataFrame({name: {scorer.column: concat_records(records)[f"score:{scorer.column}"].mean().item()
                                for scorer in judge.scorers} for name, records in parts.items()}).T
