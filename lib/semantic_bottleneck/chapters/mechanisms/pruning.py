"""The same pruning operator where each mechanism's condition enters, judged as the tiny pruning chapter judges.

Rows zero a share of the entering vector's coordinates, per sample, at every step, in the conditional and CFG rows
alike: the tail (smallest |v_i|) and the head (largest). `condition.hooks.hook_points` puts the hooks on every
`adaLN_modulation` (adaLN-Zero) or on the `condition_entry` layer (in-context, cross-attention), so one `Pruner`
serves all three. Every model runs the same protocol, so its baseline row is also its sample quality at equal
training.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...condition.prune import PruneSpec, count_for_fraction
from ...judge.metrics import METRIC_NAMES
from ...settings.chapters import MechanismSettings
from ..captions import captioned
from ..figures import level_grid


def row_id(part, share):
    """A row's id, e.g. `tail_40pct`."""
    return f"{part}_{100 * share:g}pct"


def row_label(row, dim=None):
    """A row's name for tables, e.g. 'tail 40%' (with the coordinates it zeroes of a width `dim`)."""
    if row == "baseline":
        return row
    part, share = row.split("_")
    share = float(share.removesuffix("pct")) / 100
    count = f" ({count_for_fraction(share, dim)} of {dim})" if dim else ""
    return f"{part} {100 * share:g}%{count}"


def mechanism_specs(settings: MechanismSettings, dim):
    """The chapter's rows: the tail at each of `tail_shares`, the head at each of `head_shares` (per sample)."""
    return {**{row_id("tail", s): PruneSpec("tail", fraction=s) for s in settings.tail_shares},
            **{row_id("head", s): PruneSpec("head", fraction=s) for s in settings.head_shares}}


def _get(study, row, metric):
    return study.summary[(study.summary["row"] == row) & (study.summary["metric"] == metric)].iloc[0]


def quality_table(studies, metrics):
    """Each mechanism's unpruned samples: mean over seeds ± 95% half-width of each metric (equal training)."""
    out = {}
    for mechanism, study in studies.items():
        out[mechanism] = {METRIC_NAMES.get(m, m): f"{_get(study, 'baseline', m)['mean']:.4g} ± "
                                                 f"{_get(study, 'baseline', m)['ci95']:.2g}" for m in metrics}
    return pd.DataFrame(out).T.rename_axis("mechanism (unpruned)")


def change_table(studies, metrics):
    """Per mechanism and row: the paired change from its baseline of each metric, with its verdict against the floor."""
    rows = []
    for mechanism, study in studies.items():
        for row in study.specs:
            if row == "baseline":
                continue
            entry = {"mechanism": mechanism, "row": row_label(row, study.dim)}
            for m in metrics:
                h = _get(study, row, m)
                mark = "*" if h["verdict"] == "larger than noise" else ""
                entry[f"Δ {METRIC_NAMES.get(m, m)}"] = f"{h['delta']:+.4g} ± {h['delta_ci95']:.2g}{mark}"
                entry[f"floor {METRIC_NAMES.get(m, m)}"] = f"{h['noise_floor']:.2g}"
            rows.append(entry)
    return pd.DataFrame(rows).set_index(["mechanism", "row"])


def changes_figure(studies, metric):
    """Paired change of `metric` per row, one colour per mechanism, with each mechanism's noise floor as a band."""
    rows = [r for r in next(iter(studies.values())).specs if r != "baseline"]
    fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(rows), 3.6))
    width = 0.8 / len(studies)
    for i, (mechanism, study) in enumerate(studies.items()):
        x = np.arange(len(rows)) + (i - (len(studies) - 1) / 2) * width
        h = [_get(study, r, metric) for r in rows]
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


def describe(studies, metric, agreement):
    """Generated sentences: per row, which mechanisms change beyond the noise in `metric` and in `agreement`."""
    first = next(iter(studies.values()))
    quality = ", ".join(f"{mechanism} {_get(study, 'baseline', agreement)['mean']:.3f} ± "
                        f"{_get(study, 'baseline', agreement)['ci95']:.2g}" for mechanism, study in studies.items())
    lines = [f"- Unpruned, at equal training, the three models' samples reach class agreement {quality} (mean over "
             f"{first.protocol.seeds} seeds ± 95% half-width): a mechanism whose samples agree less learned the task "
             "less well, and its pruning rows start from a weaker model."]
    for row in first.specs:
        if row == "baseline":
            continue
        parts = []
        for mechanism, study in studies.items():
            h, a = _get(study, row, metric), _get(study, row, agreement)
            base = _get(study, "baseline", agreement)["mean"]
            parts.append(f"{mechanism} {METRIC_NAMES.get(metric, metric)} {h['delta']:+.4g} ({h['verdict']}), "
                         f"agreement {a['mean']:.3f} against {base:.3f} ({a['verdict']})")
        lines.append(f"- **{row_label(row)}** of the entering vector: " + "; ".join(parts) + ".")
    return "\n".join(lines)


NEW_TABLE = "mechanisms (new)"  # status-page table of experiments the paper did not run


def status_rows(studies, stats, metric, agreement):
    """This run's numbers for the status page: each mechanism's cosine and nPR, and each row's change."""
    out = [{"table": NEW_TABLE, "row": f"{mechanism}/{reading}", "column": column, "model": studies[mechanism].model,
            "value": float(stats.loc[(mechanism, reading), column]),
            "reading": f"{column} of the {reading} at t0 over the classes"}
           for mechanism, reading in stats.index for column in ("cosine_mean", "npr_mean_over_classes")]
    for mechanism, study in studies.items():
        for row in study.specs:
            for m in dict.fromkeys([metric, agreement]):
                h = _get(study, row, m)
                out.append({"table": NEW_TABLE, "row": f"{mechanism}/{row}", "column": m, "model": study.model,
                            "value": float(h["mean"] if row == "baseline" else h["delta"]),
                            "reading": "mean over seeds" if row == "baseline" else
                            f"paired change over {study.protocol.seeds} seeds ± {h['delta_ci95']:.2g}, noise floor "
                            f"{h['noise_floor']:.2g}: {h['verdict']}"})
    return out
