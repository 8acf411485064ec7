"""Figures of the pose-guided chapter (Figs 4, 10, 33, 38-41 and the person/pose split); each returns a closed Figure."""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ...condition.measure import below_tau, dimension_variance
from ...condition.reach import INERT_BELOW, ranking_scores
from ..captions import captioned
from ..figures import level_grid, share_sweep
from ..pruning_tables import POINT_COLUMNS, sweep_points as shared_sweep_points
from .study import PARTS

sns.set_theme(context="notebook", style="whitegrid")


def _done(fig, caption):
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, caption)


def example_pairs(shown, title=None):
    """Source, target pose and answer of a few test pairs, one column each (what the model gets and must make)."""
    grid = level_grid(shown, [f"pair {i}" for i in range(len(next(iter(shown.values()))))], title)
    return captioned(grid, "No figure of the paper: the test pairs, as the model receives them (source and target "
                           "pose) and as it should answer")


def sparsity_at_tau(c, tau, name):
    """Fig. 4 (a, b): |c_i| of the mean c sorted, with tau; and the share of each pair's c below tau."""
    mean = c.mean(0).abs().sort(descending=True).values.numpy()
    shares = below_tau(c, tau).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6))
    axes[0].plot(np.arange(len(mean)), mean, color="0.25")
    axes[0].axhline(tau, color="C3", ls="--", label=f"tau = {tau:g}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("dimension, largest |mean c_i| first")
    axes[0].set_ylabel("|mean c_i| at t0")
    axes[0].legend()
    axes[0].set_title(f"{name}: (a) magnitudes of the mean c")
    axes[1].hist(100 * shares, bins=20, color="0.45")
    axes[1].axvline(100 * below_tau(c.mean(0), tau).item(), color="C3", ls="--", label="the mean c")
    axes[1].set_xlabel(f"share of c's coordinates with |c_i| < {tau:g} (%)")
    axes[1].set_ylabel("pairs")
    axes[1].legend()
    axes[1].set_title(f"(b) below tau, per pair ({len(shares)} pairs)")
    return _done(fig, ('Fig. 4 (a, b) of the paper: magnitudes of the mean c against tau, and '
                 "each pair's share of c below tau"))


def variance_profile(c, name, top=(0.02, 0.1)):
    """Fig. 33: per-dimension variance of c across pairs, largest first, and the share the top dimensions carry."""
    variance = dimension_variance(c).sort(descending=True).values.numpy()
    fig, ax = plt.subplots(figsize=(12, 3.4))
    ax.bar(np.arange(len(variance)), variance, width=1.0, color="0.3")
    ax.set_yscale("log")
    ax.set_xlabel("dimension, largest variance first")
    ax.set_ylabel("variance across pairs")
    shares = ", ".join(f"top {100 * f:g}%: {100 * variance[:max(1, round(f * len(variance)))].sum() / variance.sum():.0f}%"
                       for f in top)
    ax.set_title(f"{name}: per-dimension variance of c at t0 (mean {variance.mean():.2g}; share of the total in {shares})")
    return _done(fig, ('Fig. 33 of the paper: per-dimension variance of c across pairs at t0, '
                 'largest first'))


def reach(c, gains, head_dims, name):
    """Each coordinate's mean c_i against what it sends to the modulation, |SiLU(mean c_i)| g_i, with the |c|-head
    (the `head_dims` largest |mean c_i|) marked and the line below which SiLU passes under 5%."""
    mean = c.mean(0)
    contribution = ranking_scores(mean, "contribution", gains).numpy()
    head = np.zeros(len(mean), dtype=bool)
    head[mean.abs().argsort(descending=True)[:head_dims].numpy()] = True
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.scatter(mean.numpy()[~head], contribution[~head], s=12, color="0.5", label="the other coordinates")
    ax.scatter(mean.numpy()[head], contribution[head], s=16, color="C3",
               label=f"|c|-head ({head_dims} largest |mean c_i|)")
    ax.axvline(INERT_BELOW, color="C0", ls="--", label=f"SiLU passes < 5% left of {INERT_BELOW:.2f}")
    ax.set_xlabel("mean c_i at t0")
    ax.set_ylabel("|SiLU(mean c_i)| x gain g_i")
    ax.set_title(f"{name}: what each coordinate of c sends to the modulation")
    ax.legend(fontsize=8)
    return _done(fig, "No figure of the paper (its Eq. 5 and 7 rank by |c_i| and omit the SiLU): each coordinate's "
                      "mean value against its contribution to the modulation, |c|-head marked")


def variation_split(shares, attribution, name):
    """How much of c's variance the person, the pose and their interaction explain: by group of dimensions
    (left) and for each head dimension (right)."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1, 1.6]})
    colours = dict(zip(PARTS, ("C0", "C1", "0.7")))
    for ax, frame, title in ((axes[0], shares, "by group of dimensions"),
                             (axes[1], attribution, "each head dimension (largest |mean c| first)")):
        bottom = np.zeros(len(frame))
        labels = [str(i) for i in frame.index]
        for part in PARTS:
            values = frame[f"{part} share"].to_numpy()
            ax.bar(labels, values, bottom=bottom, color=colours[part], label=part)
            bottom += values
        ax.set_ylim(0, 1)
        ax.set_ylabel("share of the variance")
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=20)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{name}: what c's variation across pairs comes from")
    return _done(fig, ("No figure of the paper (its question, answered here): the shares of c'"
                 's variance due to the person, the pose and their interaction'))


def level_samples(study, shown, rows, grid_samples):
    """Figs 10, 38-41 analog: source, target pose and answer, then the samples of each row from the same noise."""
    top = {name: images[:grid_samples] for name, images in shown.items()}
    grid = level_grid({**top, **{row: study.images[row][:grid_samples] for row in rows if row in study.images}},
                      [f"pair {i}" for i in range(grid_samples)],
                      f"{study.model}, {study.protocol.sampler.name}: same noise in each column")
    return captioned(grid, "Fig. 10 and Figs 38-41 of the paper: samples from the same noise as more of c is zeroed")


def sweep_points(studies):
    """Every share row as a sweep point (the baseline at share 0): one series per part, reading and sampler."""
    frames = []
    for sampler, study in studies.items():
        series = {}
        for row, spec in study.specs.items():
            if spec is not None and spec.fraction is not None:
                ranked = "" if spec.ranking == "magnitude" else f", by {spec.ranking}"
                series.setdefault(f"{spec.part} ({spec.reading}{ranked}), {sampler}", ["baseline"]).append(row)
        frames.append(shared_sweep_points(study, series)[list(POINT_COLUMNS)])
    return pd.concat(frames, ignore_index=True)


def sweep(studies, metrics):
    """Each metric against the share of c zeroed, tail and head, each mask reading and ranking, with and without
    guidance."""
    return captioned(share_sweep(sweep_points(studies), metrics),
                     "No figure of the paper (its Table 7 as curves): each metric against the share of c zeroed")
