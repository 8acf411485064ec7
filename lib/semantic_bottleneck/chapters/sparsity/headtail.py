"""Head vs tail dimensions of c in the class models: the points a t-SNE is drawn from, how well classes separate.

One c per class has nothing to cluster, so the points are c(t, y) for every class y at several timesteps t
of the model's own schedule: the vectors the network actually receives for that class; the scores are
`condition.separation`'s, with a timestep as the held-out group. Shapes: K classes, T timesteps, D width of
c, N = K * T points.
"""
import numpy as np
import pandas as pd
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
import torch

from ...condition.separation import SUBSET_RULES, dimension_subsets, separation_scores
from .tables import first_step_c

def subsets_table(subsets, c):
    """The rule, size and overlap with the magnitude head of each subset."""
    head = set(subsets["head"].tolist())
    return pd.DataFrame([{"subset": name, "rule": SUBSET_RULES[name], "dims": len(idx),
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
                         "dims": len(idx), **separation_scores(x[:, idx.numpy()], labels, groups, neighbours),
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


def first_step_subsets(embedding, head_fraction, seed=0):
    """`dimension_subsets` of a model's c at t0."""
    return dimension_subsets(first_step_c(embedding), head_fraction, seed)


def spread_ratio(points, labels):
    """How far a class's points move over the timesteps, relative to how far apart the classes are: the mean
    distance of points to their class centroid over the mean distance between class centroids."""
    classes = np.unique(labels)
    centroids = np.stack([points[labels == k].mean(0) for k in classes])  # (K, D)
    within = np.mean([np.linalg.norm(points[labels == k] - c, axis=1).mean() for k, c in zip(classes, centroids)])
    between = np.linalg.norm(centroids[:, None] - centroids[None], axis=-1)[~np.eye(len(classes), dtype=bool)].mean()
    return float(within / between)


def describe(tables, subsets, head_fraction, trivial_spread=0.05):
    """Sentences, generated from the scores, on whether the head keeps the classes and the tail does not."""
    lines = []
    for name, table in tables.items():
        head, by_variance = set(subsets[name]["head"].tolist()), set(subsets[name]["variance head"].tolist())
        lines.append(f"- **{name}**: the magnitude head and the variance head share {len(head & by_variance)} of their "
                     f"{len(head)} dimensions.")
        for window, part in table.groupby(level="window"):
            s = part.droplevel("window")["knn_accuracy"]
            sil = part.droplevel("window")["silhouette"]
            chance, k = part["chance"].iloc[0], int(part.loc[(window, "head"), "dims"])
            head_vs_tail = "better than" if s["head"] > s["tail"] else "no better than"
            head_vs_random = "above" if s["head"] > s["random"] else "not above"
            lines.append(
                f"- **{name}**, timesteps {part['t from'].iloc[0]:g} to {part['t to'].iloc[0]:g} ({100 * window:g}% of "
                f"the schedule from t0): leave-one-timestep-out k-NN accuracy is {s['full']:.2f} with all dimensions, "
                f"{s['head']:.2f} with the head ({k} dims = ceil({head_fraction:g} d)), {s['tail']:.2f} with the tail, "
                f"{s['variance head']:.2f} with the top-{k} variance dims and {s['random']:.2f} with {k} random dims "
                f"(chance {chance:.2f}); silhouettes {sil['full']:.2f} / {sil['head']:.2f} / {sil['tail']:.2f}. "
                f"So the magnitude head separates classes {head_vs_tail} the tail, and {head_vs_random} the random "
                f"control of the same size.")
            spread = part.droplevel("window")["spread within / between"]["full"]
            if spread < trivial_spread:
                lines.append(
                    f"- **{name}**: over these timesteps a class's c moves only {spread:.3f} of the distance between "
                    "classes, so each class is nearly one point and leave-one-timestep-out k-NN is close to trivial "
                    "(continuous-time families feed t in [0, 1] unscaled to DiT's sinusoid): these scores are not "
                    "comparable with those of integer-time models such as DiT and MDT.")
    return "\n".join(lines)
