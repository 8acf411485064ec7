"""The mechanisms chapter's figures: the statistics as Fig. 1's bars, each row's change, the samples."""
import matplotlib.pyplot as plt
import numpy as np

from ...judge.metrics import METRIC_NAMES
from ..captions import captioned
from ..figures import level_grid
from ..pruning_tables import summary_line
from .tables import row_label


def statistics_figure(stats):
    """Mean cosine and nPR (mean over classes) of every (mechanism, reading), as Fig. 1's bars."""
    labels = [f"{m}\n{r}" for m, r in stats.index]
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(1.2 + 1.25 * len(labels), 3.6))
    ax.bar(x - 0.2, stats["cosine_mean"], 0.4, color="white", edgecolor="0.2", label="mean cosine between classes")
    ax.bar(x + 0.2, stats["npr_mean_over_classes"], 0.4, color="0.6", label="nPR (mean over classes)")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylim(min(0.0, float(stats["cosine_mean"].min()) - 0.05), 1.05)
    ax.axhline(0, color="0.3", lw=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("the same statistics of each mechanism's vectors (t0 = 999)")
    fig.tight_layout()
    plt.close(fig)
    return captioned(fig, "Fig. 1 of the paper, per mechanism: white, the mean pairwise cosine of the vectors over the "
                          "classes; grey, their nPR (mean over classes). Tiny models trained here, profile as stated "
                          "in the table above.")


def changes_figure(studies, metric):
    """Paired change of `metric` per row, one colour per mechanism, with each mechanism's noise floor as a band."""
    rows = [r for r in next(iter(studies.values())).specs if r != "baseline"]
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(rows), 3.6))
    width = 0.8 / len(studies)
    for i, (mechanism, study) in enumerate(studies.items()):
        x = np.arange(len(rows)) + (i - (len(studies) - 1) / 2) * width
        h = [summary_line(study.summary, r, metric) for r in rows]
        colour = f"C{i}"
        ax.errorbar(x, [v["delta"] for v in h], yerr=[v["delta_ci95"] for v in h], fmt="o", color=colour,
                    capsize=3, label=mechanism)
        floor = h[0]["noise_floor"]
        for xi in x:
            ax.fill_between([xi - width / 2, xi + width / 2], -floor, floor, color=colour, alpha=0.15, lw=0)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(np.arange(len(rows)), [row_label(r) for r in rows])
    name = METRIC_NAMES.get(metric, metric)
    ax.set_ylabel(f"Δ {name} (pruned − unpruned)")
    ax.set_title(f"{name}: change when the same share of the entering vector is zeroed")
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    plt.close(fig)  # returned for display; an open figure would be drawn a second time at the end of the cell
    return captioned(fig, f"No paper figure (the paper has no such ablation): the paired change of {name} from each "
                          "model's own unpruned samples (same noise), mean over seeds with its 95% interval; the "
                          "shaded band is that model's noise floor (RMS difference between unpruned seeds).")


def samples_figure(studies, class_names):
    """The first samples of every row, one panel row per (mechanism, row), on the same noise per column."""
    rows = {f"{mechanism}: {row_label(row)}": study.images[row]
            for mechanism, study in studies.items() for row in study.specs}
    n = len(next(iter(rows.values())))
    labels = [class_names[i % len(class_names)] for i in range(n)]
    fig = level_grid(rows, labels, title="the same noise and class per column; rows: mechanism and pruning row")
    return captioned(fig, "No paper figure (cf. Figs 7 and 8): samples of the three tiny models, unpruned and with the "
                          "tail or head of their entering vector zeroed at every step; each column keeps its noise and "
                          "class.")
