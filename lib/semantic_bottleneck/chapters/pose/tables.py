"""The pose-guided chapter's tables: how it reads its judge (`study.judges`: tiny-eval, inception-lpips or
pixels; the metric labels, FID's caveat, the protocol table), Tables 1, 5 and 7 beside the paper, what reaches the
modulation, the pruning table and the status-page rows."""
import pandas as pd

from ...condition.reach import INERT_BELOW
from ...paper import paper_table, paper_value
from ...registry import paper_column
from ...tiny.people.pose_eval import FeatureDistance
from ..pruning_tables import change_text, mean_text
from .rows import PAPER_T7_ROW

UNREPORTED = ("IS", "precision / recall")  # computed by every Judge, never shown by this chapter


def feature_width(judge):
    """The dimension of the judge's FID/KID features."""
    return int(judge.reference.mu.shape[0])


def fid_caveat(samples, width):
    """Why FID is not meaningful at `samples` per seed in `width`-d features (samples <= width: a singular sample
    covariance), or "" when it is."""
    if samples <= width:
        return f"not meaningful: {samples} samples per seed <= {width}-d features, a singular covariance"
    return ""


def uses_lpips_stand_in(judge):
    """Whether the judge's `lpips` column is the tiny profile's stand-in (`tiny.people.pose_eval.FeatureDistance`)."""
    return any(isinstance(scorer, FeatureDistance) for scorer in judge.scorers)


def metric_names(judge, samples):
    """Each metric's label as this judge measures it: the LPIPS stand-in named as such, FID marked where it is not
    meaningful at `samples` per seed."""
    width = feature_width(judge)
    return {"lpips": "LPIPS stand-in" if uses_lpips_stand_in(judge) else "LPIPS",
            "fid": f"FID (not meaningful: {samples} per seed <= {width}-d)" if fid_caveat(samples, width) else "FID"}


def headline_metrics(judge, samples):
    """The metrics read first, in Table 7's order: FID, or KID where FID is not meaningful, then SSIM, LPIPS, PSNR
    (those this judge scores)."""
    columns = {scorer.column for scorer in judge.scorers}
    first = "kid" if fid_caveat(samples, feature_width(judge)) else "fid"
    return (first, *(m for m in ("ssim", "lpips", "psnr") if m in columns))


def protocol_table(protocol, judge):
    """The study's protocol table as this chapter reports it: the reference set named, FID's caveat and KID's role
    stated, and the metrics it never shows (IS, precision/recall) left out."""
    table = protocol.table(judge).drop(index=list(UNREPORTED), errors="ignore")
    caveat = fid_caveat(protocol.samples_per_seed, feature_width(judge))
    table.loc["reference"] = (f"{judge.reference.name} ({judge.reference.count} images): the target images of the "
                              "very pairs the samples are made for, not a training set")
    if caveat:
        table.loc["FID"] = f"{table.loc['FID', 'value']}; {caveat}: KID is the headline"
    if uses_lpips_stand_in(judge):
        table.loc["LPIPS"] = "a stand-in, not LPIPS (see agreement)"
    return table


NAMES = {"removed_dims": "removed", "fid": "FID", "ssim": "SSIM", "lpips": "LPIPS", "psnr": "PSNR", "kid": "KID",
         "pose_accuracy": "pose accuracy", "person_preservation": "person preservation"}
T7_METRICS = ("fid", "ssim", "lpips", "psnr")


def metric_labels(names=None):
    """The chapter's metric labels, with a judge's own (`metric_names`: the LPIPS stand-in, FID caveat)."""
    return {**NAMES, **(names or {})}


def t5_column(model):
    """The paper's Table 5 column a model stands beside: its own (X-MDPT-L/B/S), else X-MDPT-L (Table 1's X-MDPT)."""
    return paper_column(model) or "X-MDPT-L"


def _cell(hit, baseline):
    """'mean ± ci95' and, off the baseline, 'Δ (verdict)' of one summary row."""
    text = {"ours": mean_text(hit)}
    if not baseline:
        text["Δ"] = change_text(hit)
    return text


def pruning_table(summary, metrics, dim, rows=None, names=None):
    """Every row: share of d removed, each metric's mean ± 95% interval over seeds, and its change with a verdict;
    metrics labelled by `names` (`metric_labels`)."""
    names, out = metric_labels(names), []
    for row in rows or list(dict.fromkeys(summary["row"])):
        entry = {"row": row}
        for metric in metrics:
            hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
            if hit.empty:
                continue
            h = hit.iloc[0]
            if metric == "removed_dims":
                entry[f"removed (of d = {dim})"] = f"{h['mean']:.1f} ({100 * h['mean'] / dim:.0f}%)"
                continue
            for key, text in _cell(h, row == "baseline").items():
                entry[f"{names.get(metric, metric)} {key}"] = text
        out.append(entry)
    return pd.DataFrame(out).set_index("row").fillna("")


def table7_beside_paper(summary, row, metrics=T7_METRICS, names=None):
    """Table 7 analog: the baseline and our row for the paper's pruned row, each metric beside the paper's value
    ("not in Table 7" for a metric the paper does not report, e.g. KID); metrics labelled by `names`."""
    names, out = metric_labels(names), []
    for ours, paper_row in (("baseline", "baseline"), (row, PAPER_T7_ROW)):
        entry = {"row": f"{paper_row} (ours: {ours})"}
        for metric in metrics:
            hit = summary[(summary["row"] == ours) & (summary["metric"] == metric)]
            entry[f"{names[metric]} (paper)"] = (f"{paper_value('T7', paper_row, metric):.4g}" if metric in T7_METRICS
                                                 else "not in Table 7")
            if not hit.empty:
                for key, text in _cell(hit.iloc[0], ours == "baseline").items():
                    entry[f"{names[metric]} {key}"] = text
        out.append(entry)
    return pd.DataFrame(out).set_index("row")


def statistics_status_rows(rows):
    """Status-page rows of the statistics (model -> `study.statistics_row`): Table 1 (X-MDPT is its L) and 5."""
    out = []
    for model, r in rows.items():
        column = t5_column(model)
        values = [("T5", "cosine_y_plus_t", "mean over pairs", r["cosine_mean"]),
                  ("T5", "npr_y_plus_t", "mean over pairs", r["npr_mean_over_classes"]),
                  ("T5", "cosine_y_only", "mean over pairs", r["y_cosine_mean"]),
                  ("T5", "npr_y_only", "mean over pairs", r["y_npr_mean_over_classes"])]
        if column == "X-MDPT-L":
            values += [("T1", "pr", "mean over pairs", r["pr_mean_over_classes"]),
                       ("T1", "npr", "mean over pairs", r["npr_mean_over_classes"]),
                       ("T1", "npr", "of the mean vector", r["npr_of_mean_vector"]),
                       ("T1", "cosine", "mean over pairs", r["cosine_mean"]),
                       ("T1", "cosine", "min over pairs", r["cosine_min"])]
        for table, row, reading, value in values:
            out.append({"table": table, "row": row, "column": "X-MDPT" if table == "T1" else column, "model": model,
                        "reading": f"c at t0 over {r['pairs']} random test pairs, {reading}", "value": value})
    return out


def pruning_status_rows(summary, model, protocol, extractor_name, row, names=None):
    """Status-page rows of Table 7: the baseline and our row for the paper's pruned row, each metric, labelled by
    `names` (the LPIPS stand-in named as such, FID's caveat where it is not meaningful)."""
    names = metric_labels(names)
    removed = summary[(summary["row"] == row) & (summary["metric"] == "removed_dims")]["mean"]
    out = []
    for ours, paper_row in (("baseline", "baseline"), (row, PAPER_T7_ROW)):
        for metric in T7_METRICS:
            hit = summary[(summary["row"] == ours) & (summary["metric"] == metric)]
            if hit.empty:
                continue
            h = hit.iloc[0]
            what = {"fid": f"{names['fid']}, FID-{protocol.samples_per_seed} on {extractor_name}"}.get(metric,
                                                                                                    names[metric])
            text = (f"{what}; our row {ours}" + (f" ({removed.iloc[0]:.1f} dims zeroed on average)" if len(removed) and
                                                 ours != "baseline" else "")
                    + f"; {protocol.sampler.name}; mean of {protocol.seeds} seeds ± {h['ci95']:.2g} (95%)"
                    + ("" if ours == "baseline" else f"; change {h['delta']:+.3g}, noise floor "
                                                     f"{h['noise_floor']:.2g}: {h['verdict']}"))
            out.append({"table": "T7", "row": paper_row, "column": metric, "model": model, "reading": text,
                        "value": h["mean"]})
    return out


def table1_beside_paper(rows, columns):
    """Table 1's X-MDPT column and Table 5's X-MDPT columns beside this build's rows (`rows`: model -> row), one
    column per model, statistics as rows (blank where the paper gives none).

    `columns` maps each model to the paper column it stands beside (its own, or the one it is an analog of).
    """
    t1, t5 = paper_table("T1"), paper_table("T5")
    out = []
    for name in dict.fromkeys(["X-MDPT", *columns.values()]):
        size = "X-MDPT-L" if name == "X-MDPT" else name  # the paper's Table 1 X-MDPT is its largest, L
        out.append({"model": f"{name} (paper)", "d": int(t1.loc["d", "X-MDPT"]) if name == "X-MDPT" else None,
                    "PR": t1.loc["pr", "X-MDPT"] if name == "X-MDPT" else None,
                    "nPR (y+t)": t5.loc["npr_y_plus_t", size], "cosine (y+t)": t5.loc["cosine_y_plus_t", size],
                    "nPR (y only)": t5.loc["npr_y_only", size], "cosine (y only)": t5.loc["cosine_y_only", size]})
    for model, r in rows.items():
        out.append({"model": f"{model} (this build, beside {columns[model]})", "d": r["d"],
                    "PR": r["pr_mean_over_classes"], "nPR (y+t)": r["npr_mean_over_classes"],
                    "cosine (y+t)": r["cosine_mean"], "nPR (y only)": r["y_npr_mean_over_classes"],
                    "cosine (y only)": r["y_cosine_mean"], "cosine (y+t), min pair": r["cosine_min"],
                    "nPR of the mean c": r["npr_of_mean_vector"], "share of |c|^2 along t": r["t_share"],
                    f"below tau={r['tau']:g}: mean over pairs": r["below_tau_mean_over_pairs"],
                    f"below tau={r['tau']:g}: of the mean c": r["below_tau_of_mean_vector"],
                    f"variance share of the {100 * r['tail_share']:.0f}% smallest |mean c_i|": r["tail_variance_share"]})
    return pd.DataFrame(out).set_index("model").T.astype(object).fillna("")  # statistics as rows, models as columns


REACH_LABELS = {
    "head_dims": "head: coordinates of largest |mean c_i|",
    "inert_head": f"of which inert (mean c_i < {INERT_BELOW:.2f}: SiLU passes < 5%)",
    "head_share_magnitude": "head's share of sum |mean c_i| (the paper's reading)",
    "head_share_silu": "head's share of sum |SiLU(mean c_i)| (what the Linear receives)",
    "head_share_contribution": "head's share of sum |SiLU(mean c_i)| g_i (contribution)",
    "contribution_head_share": "share of the same number of coordinates chosen by contribution",
    "head_overlap": "overlap of the |c|-head and the contribution head",
    "npr_magnitude": "nPR of |c| (mean over pairs)",
    "npr_silu": "nPR of |SiLU(c)|",
    "npr_contribution": "nPR of |SiLU(c)| g",
}


def reach_table(rows):
    """`condition.reach.reach_summary` of each model (model -> its dict) as one column per model, labelled rows."""
    return pd.DataFrame({model: {label: row[key] for key, label in REACH_LABELS.items()}
                         for model, row in rows.items()})
