"""What every sampling chapter's pruning report shares: the share of c a row removed, a share sweep's points, and
the text of one summary cell (mean ± 95% interval over seeds; paired change from the baseline with its verdict).

`study` is a `study.protocol.Study`; `h` one line of its summary (a row and a metric).
"""
import pandas as pd

POINT_COLUMNS = ("series", "share", "metric", "mean", "ci95")  # what `chapters.figures.share_sweep` reads


def summary_line(summary, row, metric):
    """The line of a study's summary for (row, metric), or None where the study has none."""
    hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def mean_text(h):
    """'mean ± ci95' of one summary line."""
    return f"{h['mean']:.4g} ± {h['ci95']:.2g}"


def change_text(h):
    """'Δ (verdict)' of one summary line: the paired change from the baseline and whether it is beyond noise."""
    return f"{h['delta']:+.3g} ({h['verdict']})"


def removed_shares(study):
    """Row id -> the share of c's width d that its spec removed (the mean over seeds of `removed_dims`, over d)."""
    summary = study.summary
    return summary[summary["metric"] == "removed_dims"].set_index("row")["mean"] / study.dim


def sweep_points(study, series):
    """The points of a share sweep: for each series (name -> its row ids, in order), every metric of each row at the
    share of d it removed. Columns: row, series, share, metric, mean, ci95, delta, verdict."""
    shares, summary = removed_shares(study), study.summary
    return pd.DataFrame([{"row": row, "series": name, "share": shares[row], "metric": h.metric, "mean": h.mean,
                          "ci95": h.ci95, "delta": h.delta, "verdict": h.verdict}
                         for name, rows in series.items() for row in rows
                         for h in summary[summary["row"] == row].itertuples()],
                        columns=["row", "series", "share", "metric", "mean", "ci95", "delta", "verdict"])
