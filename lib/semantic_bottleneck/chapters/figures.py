"""Figures shared by several chapters (cosine heatmaps, image grids, same-noise grids across pruning levels);
each draws one figure and returns it."""
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

sns.set_theme(context="notebook", style="whitegrid")


def cosine_heatmaps(matrix, labels, zoom=10, seed=0, title="c = y + t"):
    """Full cosine matrix and a zoom on `zoom` random classes, side by side (the paper's Fig. 3)."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    pick = np.sort(np.random.default_rng(seed).choice(k, size=min(zoom, k), replace=False))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5), gridspec_kw={"width_ratios": [1.15, 1]})
    sns.heatmap(matrix, ax=axes[0], cmap="viridis", square=True, xticklabels=False, yticklabels=False,
                cbar_kws={"label": "cosine"})
    axes[0].set_title(f"{title}: all {k} classes")
    sub = matrix[np.ix_(pick, pick)]
    names = [labels[i] for i in pick]
    sns.heatmap(sub, ax=axes[1], cmap="viridis", square=True, annot=len(pick) <= 12, fmt=".3f",
                annot_kws={"size": 7}, xticklabels=names, yticklabels=names, cbar=False)
    axes[1].set_title(f"zoom on {len(pick)} random classes (seed {seed})")
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
