"""What the video-to-audio notebook computes: load the model, read c over clips, run both studies, pick what to play.

`run(settings, name, judge)` serves both the notebook and the `prune` command (`commands.prune_command`).

Condition sources of this chapter have, beside the protocol (`for_indices`, `null_like`, `describe`), what a reader
sees and hears of a condition: `frames`, `real_sound`, `captions`, `onsets` (mel frames) and `labels` (groups for the
head/tail scores); the CAVP files of the paper profile return None (or no labels) where they have nothing.

Statistics (Tables 1 and 5's MDSGen columns, Fig. 32's variance, head against tail): a class model has one c per
class; here every clip has its own, so the statistics are over clips (the paper: "random test samples"). c is read in
the live network with `condition.hooks.CaptureC` at the sampler's first step, and checked against y + t_emb computed
from the network's own layers. The `contribution head` subset (and `tables.reach_table`) read c as the modulation
Linears receive it (`condition.reach`: through SiLU, weighed by each column's gain). Shapes: K clips, D width of c.
"""
from dataclasses import dataclass
import os

import numpy as np
import pandas as pd
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
import torch

from ...checkpoints.mdsgen import CAVP_ENV
from ...condition.hooks import CaptureC
from ...condition.reach import ranking_scores
from ...condition.separation import SUBSET_RULES, dimension_subsets, head_size, separation_scores
from ...devices import cpu_threads, resolve_device
from ...registry import load_network
from ...sampling.conditions import to_device
from ...sampling.generate import input_shape, model_output, timesteps
from ...sampling.noise import sample_noise
from ...settings.chapters import AudioSettings
from ..plans import run_plan
from .rows import guided_specs, label, share_specs, unguided_settings


def models(settings: AudioSettings):
    """The model names the notebook runs (its one model)."""
    return [settings.model]


def load(settings: AudioSettings, name=None):
    """The model `name` (default: the notebook's) as a `LoadedNetwork` (trained on first use in the tiny profiles),
    with `settings.threads`; a non-empty `settings.cavp_features` names the folder of CAVP files the paper profile's
    model is conditioned on."""
    if settings.cavp_features:
        os.environ[CAVP_ENV] = str(settings.cavp_features)
    with cpu_threads(settings.threads):
        return load_network(name or settings.model, settings.profile, resolve_device(settings.device))


def plan(settings: AudioSettings, name):
    """The studies of one model: the guided study (every row) and, with `settings.unguided`, the unguided one (share
    rows) on the same noise: label -> (settings, make_specs, sampler preset or None)."""
    out = {"with guidance": (settings, guided_specs, None)}
    if settings.unguided:
        out["without guidance"] = (unguided_settings(settings), share_specs, None)
    return out


def run(settings: AudioSettings, name, judge, progress=True, team=None):
    """Every study of `plan` on one model, scored by `judge`: label -> `study.protocol.Study`."""
    with cpu_threads(settings.threads):
        return run_plan(plan(settings, name), name, judge, progress, team)


def grid_rows(study, rows):
    """The kept images of the baseline and of `rows` (ids), keyed by their labels, for `figures.spectrogram_grid`."""
    return {label(row): study.images[row] for row in ["baseline", *rows]}


def player_sounds(studies, loaded, count, rows):
    """Sound per row of the players: the real clip, its spectrogram's sound, then the baseline and `rows` of
    every study (the first `count` clips, decoded with the model's sound)."""
    sound, indices = loaded.info["sound"], range(count)
    real = loaded.conditions.real_sound(indices)
    out = {"real": real, "real, through the spectrogram": None if real is None else sound.round_trip(real)}
    for guidance, study in studies.items():
        for row in ["baseline", *rows]:
            if row in study.images:
                out[f"{label(row)}, {guidance}"] = sound(study.images[row][:count])
    return out


CONTRIBUTION_HEAD, CONTRIBUTION_TAIL = "contribution head", "contribution tail"
CONTRIBUTION_RULES = {CONTRIBUTION_HEAD: "the k dimensions with the largest |SiLU(mean c_i)| x gain_i at t0 (what "
                                         "reaches the modulation Linears), k as the head's",
                      CONTRIBUTION_TAIL: "every other dimension (the D - k with a smaller contribution)"}


@dataclass
class FirstStep:
    """c, y (K, D) and t_emb (D,) of K conditions at the sampler's first step t0, read in the live network."""

    c: torch.Tensor
    y: torch.Tensor
    t: torch.Tensor
    t0: float
    indices: list


@torch.no_grad()
def first_step(network, conditions, config, count, seed=0, batch_size=256):
    """c of conditions 0..count-1 at the first step of sampler `config`, captured at the first `adaLN_modulation`.

    c does not depend on the noisy input, which is per-index noise here; y and t_emb come from the network's
    own condition path and timestep embedder, and c = y + t_emb is checked (float32 rounding).
    """
    count = min(count, getattr(conditions, "size", count))
    if count < 2:
        raise ValueError(f"count must cover at least 2 distinct conditions; got {count}")
    device = next(network.parameters()).device
    t0 = timesteps(config)[0]
    cs, ys = [], []
    for start in range(0, count, batch_size):
        indices = range(start, min(count, start + batch_size))
        batch = to_device(conditions.for_indices(indices), device)
        x = sample_noise(indices, input_shape(network), seed).to(device)
        with CaptureC(network) as capture:
            model_output(network, x, torch.full((len(x),), t0, device=device), batch)
        cs.append(capture.stacked()[:len(x)].float().cpu())
        ys.append(network.embed_condition(batch).float().cpu())
    c, y = torch.cat(cs), torch.cat(ys)
    t = network.t_embedder(torch.tensor([t0], device=device)).float().cpu()[0]
    if not torch.allclose(c, y + t, atol=1e-4 * max(1.0, c.abs().max().item())):
        raise RuntimeError("the captured c is not y + t_emb: the hook point does not receive c")
    return FirstStep(c, y, t, float(t0), list(range(count)))


def separation(step, labels, head_fraction, folds=5, neighbours=5, seed=0, gains=None):
    """Leave-one-group-out k-NN accuracy and silhouette of clips by each label set, in each subset of dimensions.

    `labels` maps a name (e.g. event class) to one integer per clip; the groups are clip index mod `folds`, so
    every clip is classified by clips of the other folds. The subsets are `condition.separation`'s: head, tail
    and controls, from c at t0, and with `gains` (D,) the contribution head and tail (`CONTRIBUTION_RULES`). Scores
    are None when there are no labels (CAVP files).
    """
    subsets = dimension_subsets(step.c, head_fraction, seed)
    if gains is not None:
        k = head_size(step.c.shape[1], head_fraction)
        order = ranking_scores(step.c.mean(0), "contribution", gains).argsort(descending=True)
        subsets[CONTRIBUTION_HEAD], subsets[CONTRIBUTION_TAIL] = order[:k].sort().values, order[k:].sort().values
    if not labels:
        return None, subsets
    groups = np.asarray(step.indices) % folds
    points = step.c.numpy()
    rules = {**SUBSET_RULES, **CONTRIBUTION_RULES}
    rows = [{"labels": name, "subset": subset, "dims": len(idx), "rule": rules[subset],
             **separation_scores(points[:, idx.numpy()], np.asarray(values), groups, neighbours)}
            for name, values in labels.items() for subset, idx in subsets.items()]
    return pd.DataFrame(rows).set_index(["labels", "subset"]), subsets


def tsne(step, subsets, seed=0, perplexity=30.0):
    """2-D t-SNE of the clips' c in each subset of dimensions: name -> (K, 2)."""
    points = step.c.numpy()
    perplexity = min(perplexity, (len(points) - 1) / 3)
    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP threads make Barnes-Hut far slower on a busy CPU
        return {name: TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
            points[:, idx.numpy()]) for name, idx in subsets.items()}
