"""The hypotheses chapter's figures: H1's scatter, H2's step effects, H3's gains, H4's training curves."""
import matplotlib.pyplot as plt

from ..captions import captioned
from ..figures import level_grid
from .study import BASE


def _done(fig, caption):
    fig.tight_layout()
    plt.close(fig)
    return captioned(fig, caption)


def share_cosine_figure(points, profile):
    """H1: the mean cosine of c against t's share of |c|^2, one colour per model, one point per timestep."""
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    for i, (name, part) in enumerate(points.groupby("model", sort=False)):
        ax.plot(part["t share"], part["cosine_mean"], "o-", color=f"C{i}", ms=4, lw=0.8, label=name)
    ax.set_xlabel("share of |c|^2 along t_emb (mean over conditions)")
    ax.set_ylabel("mean pairwise cosine of c")
    ax.legend(fontsize=8, frameon=False)
    return _done(fig, f"No figure in the paper (its Eq. 3-5 state the mechanism): each point is one model at one "
                      f"timestep t from 0 to 999 (profile {profile}); the line joins a model's timesteps.")


def step_effect_figure(steps, k):
    """H2: relative change of the predicted noise when the tail is zeroed, per step (mean and range over seeds)."""
    by_step = steps.groupby("step")
    mean, low, high = (by_step["relative change"].agg(f) for f in ("mean", "min", "max"))
    t = by_step["t"].first()
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    ax.fill_between(mean.index, low, high, color="0.85", label="range over seed blocks")
    ax.plot(mean.index, mean, "o-", color="C0", label="mean")
    ax.axvspan(-0.5, k - 0.5, color="C2", alpha=0.1, label=f"first {k} steps")
    ax.axvspan(mean.index.max() - k + 0.5, mean.index.max() + 0.5, color="C3", alpha=0.1, label=f"last {k} steps")
    ax.set_xticks(mean.index, [f"{i}\nt={v:g}" for i, v in t.items()], fontsize=7)
    ax.set_xlabel("denoising step")
    ax.set_ylabel("||eps_pruned - eps|| / ||eps||")
    ax.legend(fontsize=7, frameon=False)
    return _done(fig, "No figure in the paper (Eq. 6-7 and A.2 state the hypothesis): the conditional noise "
                      "prediction with the tail of c zeroed against without, on the unpruned trajectory's state at "
                      "each step.")


def schedule_samples_figure(rows, class_names, count=8):
    """H2: the first samples of each row (unpruned, tail zeroed in the first k steps, in the last k)."""
    labels = [class_names[i % len(class_names)] for i in range(count)]  # sample i has label i mod K
    return captioned(level_grid({row: images[:count] for row, images in rows.items()}, labels,
                                "the same noise and labels, pruned at different steps"),
                     "Like the paper's Figs 34-37 (pruned samples): one row per pruning schedule, the same noise.")


def gains_figure(gains, head_fraction):
    """H3: each coordinate's gain against |mean c_i| at t0, one panel per model, the |c|-head marked."""
    fig, axes = plt.subplots(1, len(gains), figsize=(3.2 * len(gains), 3.0), squeeze=False)
    for ax, (name, (magnitude, gain)) in zip(axes.flat, gains.items()):
        k = max(1, round(head_fraction * len(magnitude)))
        head = magnitude.topk(k).indices
        ax.scatter(magnitude, gain, s=8, color="0.5", label="coordinate")
        ax.scatter(magnitude[head], gain[head], s=16, color="C3", label="|c|-head")
        ax.axhline(float(gain.mean()), color="0.3", lw=0.6, ls="--", label="mean gain")
        ax.set_xscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("|mean c_i| at t0")
    axes.flat[0].set_ylabel("gain g_i (column norms, RSS over layers)")
    axes.flat[0].legend(fontsize=7, frameon=False)
    return _done(fig, "No figure in the paper: the gain of input i is the root-sum-square over every modulation Linear "
                      "of the norm of its weight column i (condition.reach); red, the head by |mean c_i|.")


def training_figure(logs, class_log):
    """H4: nPR of c at t0 over training, one panel per cell (every seed), and the class model's run."""
    cells = list(dict.fromkeys(logs["cell"]))
    columns = 4
    rows = -(-(len(cells) + 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.5 * rows), sharey=True, squeeze=False)
    for ax in axes.flat[len(cells) + 1:]:
        ax.axis("off")
    for ax, cell in zip(axes.flat, cells):
        for seed, part in logs[logs["cell"] == cell].groupby("seed"):
            ax.plot(part["step"], part["npr_mean_over_classes"], "o-", ms=2, lw=0.8, label=f"seed {seed}")
        base = logs[(logs["cell"] == BASE)].groupby("step")["npr_mean_over_classes"].mean()
        if cell != BASE:
            ax.plot(base.index, base, color="0.6", lw=0.8, ls="--", label="base (mean)")
        ax.set_title(cell, fontsize=8)
        ax.set_xlabel("step", fontsize=8)
    last = axes.flat[len(cells)]
    last.plot(class_log["step"], class_log["npr_mean_over_classes"], "o-", ms=2, color="k")
    last.set_title("the class model (tiny-class)", fontsize=8)
    last.set_xlabel("step", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("nPR (mean over classes)")
    axes.flat[0].legend(fontsize=6, frameon=False)
    return _done(fig, "Like the paper's Fig. 12 (nPR over training), for each cell of the sweep and the book's class "
                      "model: c at t0 = 999, logged during training.")
