"""Figures of the pruning chapter: same-noise sample grids (Figs 7, 8), sweeps, changes against the noise floor.

Each figure function takes a `study.protocol.Study` and returns a closed Figure for `display`.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..captions import captioned
from ..figures import level_grid
from .tables import floors, label, sweep_points, table_rows

sns.set_theme(context="notebook", style="whitegrid")


def k_points(study):
    """Last-k-steps rows of the main reading: k, metric, mean, ci95 (k = 0 is the baseline)."""
    out = []
    for row, spec in study.specs.items():
        if spec is None or (spec.schedule == "last_k_steps" and "@" not in row):
            out += [{"row": row, "k": 0 if spec is None else spec.k, "metric": h.metric, "mean": h.mean, "ci95": h.ci95}
                    for h in study.summary[study.summary["row"] == row].itertuples()]
    return pd.DataFrame(out).drop_duplicates(["k", "metric"]).sort_values("k")


def grid_rows(study, part):
    """Same-noise images of the every-step rows pruning `part`, ordered by the share removed (baseline first)."""
    points = sweep_points(study)
    points = points[(points["part"] == part) & (points["metric"] == "fid")].sort_values("removed_fraction")
    names = ["baseline" if r == "baseline" else f"{part} {100 * f:.1f}%"
             for r, f in zip(points["row"], points["removed_fraction"])]
    repeated = {n for n in names if names.count(n) > 1}  # two rows removing the same share keep one line each
    return {(f"{n} [{label(r)}]" if n in repeated else n): study.images[r] for n, r in zip(names, points["row"])}


def pruning_grid(study, part, class_names=None):
    """Fig. 7 (head) / Fig. 8 (tail) analog: the same noise, more and more of c zeroed at every step."""
    rows = grid_rows(study, part)
    n = len(next(iter(rows.values())))
    labels = None if class_names is None else [class_names[i % len(class_names)] for i in range(n)]
    fig = level_grid(rows, labels, title=f"{study.model}: {part} of c zeroed at every step (same noise per column)")
    figure = "Fig. 7" if part == "head" else "Fig. 8"
    return captioned(fig, f"{figure} of the paper (samples as in Figs 34-37): {study.model}, the {part} of c zeroed at "
                          "every step, a larger share on each row; each column keeps its noise and class.")


def _band(ax, centre, floor):
    if floor is not None and np.isfinite(floor):
        ax.axhspan(centre - floor, centre + floor, color="0.85", zorder=0, label="baseline ± noise floor")


def sweep(study, metrics):
    """Each metric (mean and 95% interval over seeds) against the share of dimensions removed, tail and head."""
    points, floor = sweep_points(study), floors(study.summary)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        part = points[points["metric"] == metric]
        for name, colour in (("tail", "C0"), ("head", "C3")):
            p = part[part["part"] == name].sort_values("removed_fraction")
            ax.errorbar(100 * p["removed_fraction"], p["mean"], yerr=p["ci95"].fillna(0), marker="o", ms=4,
                        capsize=3, color=colour, label=f"{name} zeroed")
        base = part[part["row"] == "baseline"]
        if len(base):
            _band(ax, base["mean"].iloc[0], floor.get(metric))
        ax.set_xscale("symlog", linthresh=1)
        if metric in ("fid", "kid"):
            ax.set_yscale("symlog", linthresh=max(1e-6, float(part["mean"].abs().min())))
        ax.set_xlabel("share of c's dimensions zeroed (%)")
        ax.set_title(metric)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, f"No figure of the paper (it reports single rows, Table 2): {study.model}, each metric against "
                          "the share of c zeroed at every step, tail and head; mean and 95% interval over seeds, grey "
                          "band the baseline ± the noise floor.")


def k_sweep(study, metrics):
    """Each metric against k, the number of final steps that prune (k = 0: the baseline)."""
    points, floor = k_points(study), floors(study.summary)
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        p = points[points["metric"] == metric]
        ax.errorbar(p["k"], p["mean"], yerr=p["ci95"].fillna(0), marker="o", ms=4, capsize=3)
        if (p["k"] == 0).any():
            _band(ax, p[p["k"] == 0]["mean"].iloc[0], floor.get(metric))
            ax.legend(fontsize=7)
        ax.set_xlabel("k (last steps pruned)")
        ax.set_title(metric)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, f"No figure of the paper (its k is not given; Table 2's last-k-steps row): {study.model}, "
                          "each metric against k; k = 0 is the baseline, grey band its noise floor.")


def changes(study, metric):
    """Paired change of one metric from the baseline per Table 2 row (95% interval), against the noise floor."""
    rows = [r for r in table_rows(study.summary) if r != "baseline"]
    part = study.summary[study.summary["metric"] == metric].set_index("row").reindex(rows)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(rows) + 1.3))
    y = np.arange(len(rows))
    ax.errorbar(part["delta"], y, xerr=part["delta_ci95"].fillna(0), fmt="none", ecolor="0.4", capsize=3)
    ax.scatter(part["delta"], y, c=["C3" if v == "larger than noise" else "C0" for v in part["verdict"]], zorder=3)
    floor = floors(study.summary).get(metric, float("nan"))
    if np.isfinite(floor):
        ax.axvspan(-floor, floor, color="0.85", zorder=0, label="± noise floor (unpruned vs unpruned)")
        ax.legend(fontsize=7, loc="lower right")
    ax.axvline(0, color="0.3", lw=0.8)
    ax.set_yticks(y, [label(r) for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=floor if np.isfinite(floor) and floor > 0 else 1.0)
    ax.set_xlabel(f"change in {metric} from the baseline, paired seeds (red: larger than the noise floor)")
    ax.set_title(study.model)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, f"No figure of the paper: Table 2's rows for {study.model} as paired changes in {metric} from "
                          "the baseline (95% intervals) against the noise floor (grey).")
