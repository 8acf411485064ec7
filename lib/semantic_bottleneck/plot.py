"""Seaborn figures shared by the notebooks; each function draws one figure and returns it."""
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


def bars_beside_paper(table1):
    """Cosine and nPR per model, the paper's models beside this build (the paper's Fig. 1)."""
    frame = table1.reset_index()[["model", "source", "cosine", "nPR"]].melt(
        id_vars=["model", "source"], var_name="statistic", value_name="value")
    frame["label"] = frame["model"] + np.where(frame["source"] == "paper", " (paper)", " (this build)")
    fig, ax = plt.subplots(figsize=(12, 4))
    sns.barplot(frame, x="label", y="value", hue="statistic", ax=ax, palette=["0.85", "0.35"], edgecolor="black")
    ax.set_xlabel("")
    ax.set_ylabel("cosine / nPR")
    ax.tick_params(axis="x", rotation=35)
    for tick in ax.get_xticklabels():
        if "this build" in tick.get_text():
            tick.set_fontweight("bold")
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return fig


def cosine_over_timesteps(frames):
    """Mean and minimum pairwise cosine of c against t, one line per model (Appendix A.2)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, frame in frames.items():
        line, = ax.plot(frame["t"], frame["cosine_mean"], label=f"{name}: mean over pairs")
        ax.plot(frame["t"], frame["cosine_min"], ls="--", color=line.get_color(), label=f"{name}: min over pairs")
    ax.set_xlabel("timestep t (as the model receives it)")
    ax.set_ylabel("pairwise cosine of c")
    ax.legend(fontsize=8)
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
