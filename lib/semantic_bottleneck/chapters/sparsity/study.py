"""What the sparsity notebook computes: c at t0 and its statistics, head against tail, training runs, reach.

Shapes: K classes, T timesteps, D width of c, N = K * T points. Every statistic is computed on c = y + t at the
model's first denoising step t0, and where the paper does not say which vector it used, on both the mean vector
(over classes) and each class vector (then averaged), each reading named.

Head vs tail: one c per class has nothing to cluster, so the points are c(t, y) for every class y at several timesteps
t of the model's own schedule: the vectors the network actually receives for that class; the scores are
`condition.separation`'s, with a timestep as the held-out group. Beside the paper's magnitude head, a head ranked by
contribution to the modulation (`condition.reach`).

Training dynamics (Fig. 12, the main run; Fig. 43, few timesteps; A.3, weight decay): a variant run takes the main
tiny run's configuration and seed, changes one thing (the number of training timesteps, or the weight decay), and is
shorter; a baseline of the same length changes nothing, and baselines with other seeds measure how far two runs
differ by chance alone. All are cached like every tiny model. Because the learning rate is constant and every random
draw comes from the seed, the baseline is the same computation as the main run's first steps; the notebook checks
this on the logs.

What reaches the modulation: the paper ranks coordinates by |c_i|; every modulation layer receives SiLU(c) through a
Linear, so the SiLU-aware readings (|SiLU(c_i)|, and the contribution |SiLU(c_i)| * g_i) are set beside it
(`condition.reach.reach_summary` at t0).
"""
from dataclasses import replace
import json

import numpy as np
import pandas as pd
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
import torch

from ...condition.embedding import ConditionEmbedding
from ...condition.measure import (above_tau, below_tau, cosine_summary, dimension_variance, dims_for_share,
                                  participation_ratio, top_share)
from ...condition.reach import ranking_scores, reach_summary
from ...condition.separation import dimension_subsets, head_size, separation_scores
from ...tiny.train import first_step_t, load_or_train

HEAD_SHARE_FRACTIONS = (0.01, 0.02, 0.05)  # Fig. 9b: the top 1%, 2%, 5% of dimensions


def first_step_c(embedding):
    """c = y + t (K, D) for every class at the model's first denoising step t0."""
    return embedding.c(embedding.info["t0"])


def sparsity_row(c):
    """PR, nPR (both readings), magnitudes and energy concentration of c (K, D) at t0."""
    d, mean = c.shape[1], c.mean(0)
    return {
        "d": d,
        "pr_mean_over_classes": participation_ratio(c).mean().item(),
        "pr_of_mean_vector": participation_ratio(mean).item(),
        "npr_mean_over_classes": participation_ratio(c).mean().item() / d,
        "npr_of_mean_vector": participation_ratio(mean).item() / d,
        "max_abs": mean.abs().max().item(),
        "median_abs": mean.abs().median().item(),
        **{f"energy_top{round(100 * f)}pct": top_share(mean.double() ** 2, f) for f in HEAD_SHARE_FRACTIONS},
    }


def variance_row(c):
    """Fig. 9 numbers: mean per-dimension variance across classes and the share of it in the top dimensions."""
    var = dimension_variance(c)
    return {"mean_variance": var.mean().item(),
            **{f"variance_top{round(100 * f)}pct": top_share(var, f) for f in HEAD_SHARE_FRACTIONS},
            "dims_for_half_the_variance": dims_for_share(var, 0.5),
            "dims_for_90pct_of_variance": dims_for_share(var, 0.9)}


def threshold_curve(c, taus):
    """Fig. 11 in both conventions: fraction of coordinates below and above each tau, for the mean vector and
    averaged over class vectors."""
    mean = c.mean(0)
    return pd.DataFrame([{"tau": float(tau),
                          "below (mean vector)": below_tau(mean, tau).item(),
                          "below (mean over classes)": below_tau(c, tau).mean().item(),
                          "above (mean vector)": above_tau(mean, tau).item(),
                          "above (mean over classes)": above_tau(c, tau).mean().item()} for tau in taus])


def tau_grid(c, points=60):
    """Log-spaced thresholds from below the smallest to above the largest |c_i| (at least 1e-4 .. 10)."""
    magnitudes = c.abs()
    low = min(1e-4, max(magnitudes.min().item(), 1e-6) / 2)
    high = max(10.0, 2 * magnitudes.max().item())
    return np.geomspace(low, high, points)


def matched_tau(mean_vector, side, fraction):
    """The tau at which the mean vector has `fraction` of its coordinates below (or above) it."""
    q = fraction if side == "below" else 1 - fraction
    return torch.quantile(mean_vector.abs().double(), q).item()


TRIVIAL_SPREAD = 0.05  # a class's points closer than this share of the distance between classes: nearly one point


def schedule_window(t0, window, points):
    """`points` timesteps from t0 toward the data end, covering `window` of the time range.

    Integer DDPM models (t0 > 1) span 0..999 and receive whole timesteps, so their window is rounded to integers;
    continuous models span [0, 1], with t0 at either end.
    """
    if not 0 < window <= 1:
        raise ValueError(f"window must be in (0, 1], got {window}")
    if points < 2:
        raise ValueError(f"points must be at least 2, got {points}")
    span = 999.0 if t0 > 1 else 1.0
    data_end = 0.0 if t0 >= span / 2 else span
    grid = np.linspace(t0, t0 + (data_end - t0) * window, points)
    return np.round(grid) if t0 > 1 else grid


def pick_classes(num_classes, max_classes, seed=0):
    """Every class, or `max_classes` of them drawn at random (sorted)."""
    if max_classes < 2:
        raise ValueError(f"max_classes must be at least 2, got {max_classes}")
    if num_classes <= max_classes:
        return np.arange(num_classes)
    return np.sort(np.random.default_rng(seed).choice(num_classes, size=max_classes, replace=False))


def class_points(embedding, timesteps, classes):
    """c(t, y) for every class and timestep: points (N, D), class labels (N,), timestep index (N,)."""
    blocks = [embedding.c(float(t), classes) for t in timesteps]  # T x (K, D)
    points = torch.cat(blocks).numpy()
    labels = np.tile(np.asarray(classes), len(timesteps))
    groups = np.repeat(np.arange(len(timesteps)), len(classes))
    return points, labels, groups


def separation_table(embedding, subsets, windows, points, classes, neighbours=5):
    """Separation scores of every subset, for each window of the schedule after t0."""
    rows = []
    for window in windows:
        timesteps = schedule_window(embedding.info["t0"], window, points)
        x, labels, groups = class_points(embedding, timesteps, classes)
        for name, idx in subsets.items():
            rows.append({"window": window, "t from": timesteps[0], "t to": timesteps[-1], "subset": name,
                         "dims": len(idx), "points": len(labels),
                         **separation_scores(x[:, idx.numpy()], labels, groups, neighbours),
                         "spread within / between": spread_ratio(x[:, idx.numpy()], labels)})
    return pd.DataFrame(rows).set_index(["window", "subset"])


def tsne_embeddings(embedding, subsets, window, points, classes, seed=0, perplexity=30.0):
    """2-D t-SNE of the class points in each subset of dimensions: (name -> (N, 2), class labels (N,))."""
    x, labels, _ = class_points(embedding, schedule_window(embedding.info["t0"], window, points), classes)
    perplexity = min(perplexity, (len(x) - 1) / 3)
    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP threads make Barnes-Hut 40x slower on a busy CPU
        out = {name: TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
            x[:, idx.numpy()]) for name, idx in subsets.items()}
    return out, labels


def contribution_subsets(c, gains, head_fraction):
    """The contribution head (the k coordinates of the mean c (K, D) that reach the modulation most) and its tail."""
    k = head_size(c.shape[1], head_fraction)
    order = ranking_scores(c.mean(0), "contribution", gains).argsort(descending=True)
    return {"contribution head": order[:k].sort().values, "contribution tail": order[k:].sort().values}


def first_step_subsets(embedding, head_fraction, seed=0, gains=None):
    """`dimension_subsets` of a model's c at t0, and its contribution head and tail when `gains` (D,) are given."""
    c = first_step_c(embedding)
    subsets = dimension_subsets(c, head_fraction, seed)
    return subsets if gains is None else {**subsets, **contribution_subsets(c, gains, head_fraction)}


def spread_ratio(points, labels):
    """How far a class's points move over the timesteps, relative to how far apart the classes are: the mean
    distance of points to their class centroid over the mean distance between class centroids."""
    classes = np.unique(labels)
    centroids = np.stack([points[labels == k].mean(0) for k in classes])  # (K, D)
    within = np.mean([np.linalg.norm(points[labels == k] - c, axis=1).mean() for k, c in zip(classes, centroids)])
    between = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)[~np.eye(len(classes), dtype=bool)].mean()
    return float(within / between)


BASELINE = "baseline"
LOGGED = ["cosine_mean", "cosine_min", "npr_mean_over_classes", "npr_of_mean_vector"]


def variant_configs(base, steps, timestep_counts, weight_decays, log_every, seeds=()):
    """Name -> TrainConfig: the matched baseline, one run per timestep count, weight decay and extra seed."""
    if steps < log_every or log_every < 1:
        raise ValueError(f"steps must be >= log_every >= 1, got steps={steps}, log_every={log_every}")
    for n in timestep_counts:
        if not 1 <= n <= 1000:
            raise ValueError(f"timestep_counts must lie in 1..1000, got {n}")
    if any(w < 0 for w in weight_decays):
        raise ValueError(f"weight_decays must be >= 0, got {list(weight_decays)}")
    short = replace(base, steps=steps, log_every=log_every)
    configs = {BASELINE: short}
    configs.update({f"{n} timesteps": replace(short, num_train_timesteps=n) for n in timestep_counts})
    configs.update({f"weight decay {w:g}": replace(short, weight_decay=w) for w in weight_decays})
    configs.update({f"{BASELINE}, seed {s}": replace(short, seed=s) for s in seeds if s != base.seed})
    return configs


def train_runs(configs, progress=True):
    """Train (or load from the cache) every run: name -> (model, log, seconds it took to train)."""
    out = {}
    for name, config in configs.items():
        model, log, folder = load_or_train(config, progress)
        seconds = json.loads((folder / "config.json").read_text()).get("train_seconds", float("nan"))
        out[name] = (model, log, seconds)
    return out


def prefix_agreement(main_log, log):
    """Largest difference of the logged statistics between a short run and the main run at the steps both logged."""
    both = main_log.merge(log, on="step", suffixes=("_main", "_short"))
    if both.empty:
        return {"steps_compared": 0, "max_abs_difference": float("nan")}
    diffs = [(both[f"{k}_main"] - both[f"{k}_short"]).abs().max() for k in LOGGED]
    return {"steps_compared": len(both), "max_abs_difference": float(max(diffs))}


def end_of_run_row(model):
    """nPR, cosine and head concentration of a trained tiny DiT's c at t0 = 999."""
    c = ConditionEmbedding.from_state_dict(model.state_dict()).c(first_step_t())
    return {**cosine_summary(c), **sparsity_row(c), **variance_row(c)}


def logs_of(runs, names):
    """name -> training log, for the named runs."""
    return {name: runs[name][1] for name in names}


def seed_spread(table):
    """Largest |nPR difference| between the baseline and its other-seed copies at the end (None without copies)."""
    copies = [n for n in table.index if n.startswith(f"{BASELINE}, seed")]
    if not copies:
        return None
    key = "nPR (mean over classes)"
    return float(max(abs(table.loc[n, key] - table.loc[BASELINE, key]) for n in copies))


def reach_rows(vectors, gains, head_fraction):
    """model -> `reach_summary` of its c (K, D) at t0, with the width d added."""
    return {name: {**reach_summary(c, gains[name], head_fraction), "d": c.shape[1]} for name, c in vectors.items()}
