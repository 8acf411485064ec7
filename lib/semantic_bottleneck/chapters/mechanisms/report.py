"""The mechanisms chapter's generated sentences: on the statistics table and on the pruning rows."""
from ...judge.metrics import METRIC_NAMES
from ..pruning_tables import summary_line
from .study import ENTERING, SUMMED, Y_ONLY
from .tables import row_label


def describe_statistics(stats):
    """Sentences on the statistics table: cosine and nPR of each mechanism's vectors, y + t against y alone."""
    lines = []
    for mechanism in stats.index.get_level_values(0).unique():
        part = stats.loc[mechanism]
        enter = part.loc[ENTERING]
        text = (f"- **{mechanism}**: the entering vector (width {int(enter['width'])}) has mean cosine "
                f"{enter['cosine_mean']:.3f} (min {enter['cosine_min']:.3f}) between classes and nPR "
                f"{100 * enter['npr_mean_over_classes']:.1f}% (mean over classes)")
        if SUMMED in part.index and mechanism != "adaLN-Zero":
            s = part.loc[SUMMED]
            text += f"; the sum t + y: cosine {s['cosine_mean']:.3f}, nPR {100 * s['npr_mean_over_classes']:.1f}%"
        y = part.loc[Y_ONLY]
        text += (f"; y alone: cosine {y['cosine_mean']:.3f}, nPR {100 * y['npr_mean_over_classes']:.1f}%.")
        lines.append(text)
    with_t = stats.drop(index=[(m, r) for m, r in stats.index if r == Y_ONLY or m == "cross-attention"])
    without_t = stats.drop(index=with_t.index)
    lines.append(f"- Vectors that carry t (adaLN's c, the in-context tokens and their sum) have mean cosine "
                 f"{with_t['cosine_mean'].min():.3f} to {with_t['cosine_mean'].max():.3f} between classes; "
                 f"vectors of y alone (every y-only row and the cross-attention context, where t never enters) "
                 f"{without_t['cosine_mean'].min():.3f} to {without_t['cosine_mean'].max():.3f}.")
    return "\n".join(lines)


def describe_pruning(studies, metric, agreement):
    """Generated sentences: per row, which mechanisms change beyond the noise in `metric` and in `agreement`."""
    first = next(iter(studies.values()))
    bases = {mechanism: summary_line(study.summary, "baseline", agreement) for mechanism, study in studies.items()}
    quality = ", ".join(f"{mechanism} {h['mean']:.3f} ± {h['ci95']:.2g}" for mechanism, h in bases.items())
    lines = [f"- Unpruned, at equal training, the three models' samples reach class agreement {quality} (mean over "
             f"{first.protocol.seeds} seeds ± 95% half-width): a mechanism whose samples agree less learned the task "
             "less well, and its pruning rows start from a weaker model."]
    for row in first.specs:
        if row == "baseline":
            continue
        parts = []
        for mechanism, study in studies.items():
            h, a = summary_line(study.summary, row, metric), summary_line(study.summary, row, agreement)
            base = summary_line(study.summary, "baseline", agreement)["mean"]
            parts.append(f"{mechanism} {METRIC_NAMES.get(metric, metric)} {h['delta']:+.4g} ({h['verdict']}), "
                         f"agreement {a['mean']:.3f} against {base:.3f} ({a['verdict']})")
        lines.append(f"- **{row_label(row)}** of the entering vector: " + "; ".join(parts) + ".")
    return "\n".join(lines)
