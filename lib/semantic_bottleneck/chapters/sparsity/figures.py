"""The sparsity chapter's figures (Figs 5, 6, 9, 11, 12, 13, 43); each function returns one closed Figure."""
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ...condition.measure import dimension_variance
from ..captions import captioned
from .study import HEAD_SHARE_FRACTIONS

sns.set_theme(context="notebook", style="whitegrid")


def _grid(n, width=5.0, height=3.2, cols=3):
    cols = min(cols, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width * cols, height * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, axes.flat


def _done(fig, caption):
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, caption)


def magnitude_histograms(vectors):
    """Fig. 5: histogram of |c_i| over every class vector at t0, log-spaced bins, one panel per model."""
    fig, axes = _grid(len(vectors))
    for ax, (name, c) in zip(axes, vectors.items()):
        values = c.abs().flatten().numpy()
        bins = np.geomspace(max(values.min(), 1e-6), values.max() * 1.01, 50)
        ax.hist(values, bins=bins, color="0.35")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("|c_i| at t0 (all classes)")
        ax.set_ylabel("count")
        ax.set_title(f"{name} (d = {c.shape[1]})")
    return _done(fig, ('Fig. 5 of the paper: histogram of |c_i| over every class vector at t0,'
                 ' one panel per model'))


def raw_vectors(vectors):
    """Fig. 6: the raw c vector (mean over classes at t0) against its dimension index, one panel per model."""
    fig, axes = plt.subplots(len(vectors), 1, figsize=(12, 2.4 * len(vectors)), squeeze=False)
    for ax, (name, c) in zip(axes[:, 0], vectors.items()):
        mean = c.mean(0).numpy()
        ax.bar(np.arange(len(mean)), mean, width=1.0, color="0.25")
        ax.set_xlim(-0.5, len(mean) - 0.5)
        ax.set_ylabel("c_i")
        ax.set_title(f"{name}: mean over classes of c at t0 (1 x {len(mean)})")
    axes[-1, 0].set_xlabel("dimension i")
    return _done(fig, ('Fig. 6 of the paper: the raw c vector (mean over classes at t0) agains'
                 't its dimension index'))


def threshold_curves(curves, points):
    """Fig. 11 in both conventions: fraction below tau (Eq. 2) and above tau (A.3), with the paper's counts marked."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.4))
    for side, ax in zip(("below", "above"), axes):
        for name, frame in curves.items():
            line, = ax.plot(frame["tau"], frame[f"{side} (mean vector)"], label=f"{name}: mean vector")
            ax.plot(frame["tau"], frame[f"{side} (mean over classes)"], ls="--", color=line.get_color(),
                    label=f"{name}: mean over classes")
        mine = points[points["side"] == side]
        for model, part in mine.groupby("model"):
            ax.scatter(part["tau"], part["fraction"], marker="x", s=60, zorder=5, label=f"paper, {model}")
        for p in mine.drop_duplicates(["tau"]).itertuples():
            ax.annotate(f"{p.count}/{p.d}", (p.tau, p.fraction), textcoords="offset points", xytext=(5, 4), fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("tau")
        ax.set_ylabel(f"fraction of coordinates with |c_i| {'<' if side == 'below' else '>'} tau")
        ax.set_title("Eq. 2: counts below tau (tail)" if side == "below" else "Appendix A.3: counts above tau (head)")
        ax.legend(fontsize=7)
    return _done(fig, ("Fig. 11 of the paper: share of c's coordinates below tau (Eq. 2) and a"
                 "bove it (Appendix A.3); crosses: the paper's counts from Tables 2 and 3"))


def variance_profile(vectors):
    """Fig. 9: (a) mean per-dimension variance across classes; (b) the share of it in the top dimensions."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [1, 1.6]})
    means = {name: dimension_variance(c).mean().item() for name, c in vectors.items()}
    axes[0].bar(list(means), list(means.values()), color="0.35")
    axes[0].set_ylabel("mean variance across classes")
    axes[0].set_title("(a) mean per-dimension variance")
    axes[0].tick_params(axis="x", rotation=30)
    for name, c in vectors.items():
        var = np.sort(dimension_variance(c).numpy())[::-1]
        share = np.cumsum(var) / var.sum()
        top = np.arange(1, len(var) + 1) / len(var)
        line, = axes[1].plot(top, share, label=name)
        for f in HEAD_SHARE_FRACTIONS:
            k = int(np.ceil(f * len(var)))
            axes[1].scatter([k / len(var)], [share[k - 1]], color=line.get_color(), s=15, zorder=5)
    for f in HEAD_SHARE_FRACTIONS:
        axes[1].axvline(f, color="0.7", lw=0.8, ls=":")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("fraction of dimensions, largest variance first (dotted: 1%, 2%, 5%)")
    axes[1].set_ylabel("share of total variance")
    axes[1].set_title("(b) where the variance across classes sits")
    axes[1].legend(fontsize=8)
    return _done(fig, ('Fig. 9 of the paper: (a) mean per-dimension variance across classes; ('
                 'b) the share of it in the top dimensions'))


def dimension_variance_bars(name, c):
    """Figs 26-33: per-dimension variance across classes in dimension order, for one model."""
    var = dimension_variance(c).numpy()
    fig, ax = plt.subplots(figsize=(12, 2.6))
    ax.bar(np.arange(len(var)), var, width=1.0, color="0.25")
    ax.set_xlim(-0.5, len(var) - 0.5)
    ax.set_xlabel("dimension i")
    ax.set_ylabel("variance across classes")
    ax.set_title(f"{name}: per-dimension variance of c at t0")
    return _done(fig, ('Figs 26-31 of the paper (one per model): per-dimension variance of c a'
                 'cross classes at t0'))


def tsne_panels(title, embeddings, labels, scores):
    """Fig. 13: t-SNE of the class points in each subset of dimensions, coloured by class, scores in the titles."""
    fig, axes = _grid(len(embeddings), width=3.6, height=3.6, cols=4)
    classes = np.unique(labels)
    palette = sns.color_palette("husl", len(classes))
    colours = np.array(palette)[np.searchsorted(classes, labels)]
    for ax, (name, xy) in zip(axes, embeddings.items()):
        ax.scatter(xy[:, 0], xy[:, 1], c=colours, s=9, linewidths=0)
        s = scores.loc[name]
        ax.set_title(f"{name} ({int(s['dims'])} dims)\nk-NN acc {s['knn_accuracy']:.2f}, silhouette {s['silhouette']:.2f}",
                     fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=10)
    return _done(fig, ('Fig. 13 and Figs 20-25 of the paper: t-SNE of c(t, y) in the head, the'
                 ' tail and the control subsets (and the contribution-ranked head and tail), coloured by class'))


def training_curves(logs, title, baseline=None):
    """Figs 12 / 43: mean pairwise cosine (top) and nPR (bottom) of c at t0 over training, one line per run."""
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.4), sharex=True)
    for name, log in logs.items():
        style = ({"color": "black", "lw": 2.2} if name == baseline else
                 {"color": "0.55", "lw": 1.6} if baseline and name.startswith(f"{baseline}, seed") else {})
        axes[0].plot(log["step"], log["cosine_mean"], label=name, **style)
        line, = axes[1].plot(log["step"], log["npr_mean_over_classes"], label=f"{name}: mean over classes", **style)
        axes[1].plot(log["step"], log["npr_of_mean_vector"], ls=":", color=line.get_color())
    axes[0].set_ylabel("mean pairwise cosine of c")
    axes[1].set_ylabel("nPR of |c| (dotted: of the mean vector)")
    axes[1].set_xlabel("training step")
    axes[0].legend(fontsize=8)
    axes[0].set_title(title)
    return _done(fig, ('Figs 12 and 43 of the paper: mean pairwise cosine (top) and nPR (botto'
                 'm) of c at t0 during training'))
