"""Head vs tail dimensions of c in the class models: the points a t-SNE is drawn from, how well classes separate.

One c per class has nothing to cluster, so the points are c(t, y) for every class y at several timesteps t
of the model's own schedule: the vectors the network actually receives for that class; the scores are
`condition.separation`'s, with a timestep as the held-out group. Beside the paper's magnitude head, a head ranked by
contribution to the modulation (`condition.reach`). Shapes: K classes, T timesteps, D width of c, N = K * T points.
"""
import numpy as np
import pandas as pd
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
import torch

from ...condition.reach import ranking_scores
from ...condition.separation import SUBSET_RULES, dimension_subsets, head_size, separation_scores
from .tables import first_step_c

TRIVIAL_SPREAD = 0.05  # a class's points closer than this share of the distance between classes: nearly one point
RULES = {**SUBSET_RULES,
         "contribution head": "the k dimensions with the largest contribution |SiLU(mean c_i)| * g_i at t0 "
                              "(g_i: the modulation Linears' gain of input i; condition.reach)",
         "contribution tail": "every other dimension (the D - k that reach the modulation least)"}


def subsets_table(subsets, c):
    """The rule, size and overlap with the magnitude head of each subset."""
    head = set(subsets["head"].tolist())
    return pd.DataFrame([{"subset": name, "rule": RULES[name], "dims": len(idx),
                          "shared with head": len(head & set(idx.tolist())),
                          "mean |c_i| at t0 (mean vector)": c.mean(0).abs()[idx].mean().item()}
                         for name, idx in subsets.items()]).set_index("subset")


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


def describe(tables, subsets, trivial_spread=TRIVIAL_SPREAD):
    """Sentences beside the scores: how the heads overlap, and where the scores are close to trivial."""
    lines = []
    for name, table in tables.items():
        head = set(subsets[name]["head"].tolist())
        shared = {other: len(head & set(subsets[name][other].tolist()))
                  for other in ("variance head", "contribution head") if other in subsets[name]}
        lines.append(f"- **{name}**: the magnitude head ({len(head)} dims) shares "
                     + " and ".join(f"{n} with the {other}" for other, n in shared.items()) + ".")
        for window, part in table.groupby(level="window"):
            spread = part.droplevel("window")["spread within / between"]["full"]
            if spread < trivial_spread:
                lines.append(
                    f"- **{name}**, timesteps {part['t from'].iloc[0]:g} to {part['t to'].iloc[0]:g}: a class's c "
                    f"moves only {spread:.3f} of the distance between classes, so each class is nearly one point and "
                    "leave-one-timestep-out k-NN is close to trivial (continuous-time families feed t in [0, 1] "
                    "unscaled to DiT's sinusoid): these scores are not comparable with those of integer-time models.")
    return "\n".join(lines)
