"""Figures shared by several chapters (cosine heatmaps, image grids, same-noise grids across pruning levels);
each draws one figure and returns it."""
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

sns.set_theme(context="notebook", style="whitegrid")


def cosine_heatmaps(matrix, labels, zoom=10, seed=0, title="c = y + t", unit="classes"):
    """Full cosine matrix and a zoom on `zoom` random classes (or other `unit`s), side by side (the paper's Fig. 3)."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    pick = np.sort(np.random.default_rng(seed).choice(k, size=min(zoom, k), replace=False))
    fig, axes = plt.subplots(1, 2, figsize=(13, 6), gridspec_kw={"width_ratios": [1, 1.2]})  # zoom labels readable
    sns.heatmap(matrix, ax=axes[0], cmap="viridis", square=True, xticklabels=False, yticklabels=False,
                cbar_kws={"label": "cosine"})
    axes[0].set_title(f"{title}: all {k} {unit}")
    sub = matrix[np.ix_(pick, pick)]
    names = [labels[i] for i in pick]
    sns.heatmap(sub, ax=axes[1], cmap="viridis", square=True, annot=len(pick) <= 12, fmt=".3f",
                annot_kws={"size": 10}, xticklabels=names, yticklabels=names, cbar=False)
    axes[1].tick_params(labelsize=10)
    plt.setp(axes[1].get_xticklabels(), rotation=45, ha="right", rotation_mode="anchor")
    axes[1].set_title(f"zoom on {len(pick)} random {unit} (seed {seed})")
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig


def image_grid(images, labels=None, nrow=10, title=None):
    """A grid of images (N, 3, H, W) in [-1, 1], with optional per-image captions."""
    images = ((torch.as_tensor(images).clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
    n = len(images)
    ncol, rows = min(nrow, n), -(-n // nrow)
    fig, axes = plt.subplots(rows, ncol, figsize=(1.2 * ncol, 1.35 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, ax in enumerate(axes.flat[:n]):
        ax.imshow(images[i], interpolation="nearest")
        if labels is not None:
            ax.set_title(labels[i], fontsize=6)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig


def level_grid(rows, column_labels=None, title=None):
    """Rows of images (each (n, 3, H, W) in [-1, 1]) from the same noise, one row per pruning level (Figs 7, 8)."""
    names = list(rows)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(names), n, figsize=(1.05 * n + 1.8, 1.1 * len(names) + 0.4), squeeze=False)
    for r, name in enumerate(names):
        images = ((torch.as_tensor(rows[name]).clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).cpu().numpy()
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(images[c], interpolation="nearest")
            if r == 0 and column_labels is not None and c < len(column_labels):
                ax.set_title(column_labels[c], fontsize=7)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig


def dimension_bars(values, title, ylabel):
    """One bar per dimension of c, in dimension order (a per-dimension statistic such as the variance, Figs 26-33)."""
    values = np.asarray(values)
    fig, ax = plt.subplots(figsize=(12, 2.6))
    ax.bar(np.arange(len(values)), values, width=1.0, color="0.25")
    ax.set_xlim(-0.5, len(values) - 0.5)
    ax.set_xlabel("dimension i")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig


def scatter_panels(title, points, labels, captions, names=None):
    """2-D points (name -> (N, 2), e.g. a t-SNE per subset of dimensions) coloured by an integer label, side by side."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    palette = np.array(sns.color_palette("husl", len(classes)))
    fig, axes = plt.subplots(1, len(points), figsize=(3.4 * len(points), 3.6), squeeze=False)
    for ax, (name, xy) in zip(axes[0], points.items()):
        for k, colour in zip(classes, palette):
            pick = labels == k
            ax.scatter(xy[pick, 0], xy[pick, 1], color=colour, s=9, linewidths=0,
                       label=names[k] if names is not None else str(k))
        ax.set_title(captions[name], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig


def share_sweep(points, metrics):
    """Each metric (mean and 95% interval) against the share of c zeroed, one line per series.

    `points` has columns series, share (of D, in [0, 1]), metric, mean, ci95; one panel per metric.
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.6), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = points[points["metric"] == metric]
        for k, (name, line) in enumerate(part.groupby("series", sort=False)):
            line = line.sort_values("share")
            ax.errorbar(100 * line["share"], line["mean"], yerr=line["ci95"].fillna(0), marker="o", ms=3, capsize=2,
                        color=f"C{k % 10}", label=name)
        ax.set_xlabel("share of c's dimensions zeroed (%)")
        ax.set_title(metric)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig
