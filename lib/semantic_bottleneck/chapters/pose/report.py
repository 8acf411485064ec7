"""The pose-guided chapter's tables beside the paper (Tables 1, 5, 7), the guidance interaction, status-page rows and
generated sentences."""
import pandas as pd

from ...judge.paired_seeds import summarise
from ...paper import paper_numbers, paper_value
from ...registry import paper_column
from .judge_tables import COPY, REAL
from .rows import PAPER_T7_ROW

NAMES = {"removed_dims": "removed", "fid": "FID", "ssim": "SSIM", "lpips": "LPIPS", "psnr": "PSNR", "kid": "KID",
         "pose_accuracy": "pose accuracy", "person_preservation": "person preservation"}
T7_METRICS = ("fid", "ssim", "lpips", "psnr")


def metric_labels(names=None):
    """The chapter's metric labels, with a judge's own (`judge_tables.metric_names`: the LPIPS stand-in, FID caveat)."""
    return {**NAMES, **(names or {})}


def t5_column(model):
    """The paper's Table 5 column a model stands beside: its own (X-MDPT-L/B/S), else X-MDPT-L (Table 1's X-MDPT)."""
    return paper_column(model) or "X-MDPT-L"


def _cell(hit, baseline):
    """'mean ± ci95' and, off the baseline, 'Δ (verdict)' of one summary row."""
    text = {"ours": f"{hit['mean']:.4g} ± {hit['ci95']:.2g}"}
    if not baseline:
        text["Δ"] = f"{hit['delta']:+.3g} ({hit['verdict']})"
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


def guidance_interaction(guided, unguided, metric, names=None):
    """Does a row's change depend on guidance? Per seed, its change with guidance minus its change without.

    `guided` and `unguided` are the two studies' long frames (same rows, seeds and noise). The difference is
    summarised with `judge.paired_seeds.summarise`: mean, 95% interval, and a verdict against the seed-to-seed
    spread of the unguided change (its noise floor).
    """
    def changes(long):
        """Each row's per-seed change of `metric` from the baseline."""
        part = long[long["metric"] == metric].pivot(index="replicate", columns="row", values="value")
        part = part[list(dict.fromkeys(long["row"]))]  # the study's row order
        return part.sub(part["baseline"], axis=0).drop(columns="baseline")

    with_guidance, without = changes(guided), changes(unguided)
    frame = pd.concat([pd.DataFrame({"row": name, "replicate": table.index.to_numpy(), "metric": row,
                                     "value": table[row].to_numpy()})
                       for row in with_guidance.columns if row in without.columns
                       for name, table in (("baseline", without), ("guided", with_guidance))])
    summary = summarise(frame)
    summary = summary[summary["row"] == "guided"].set_index("metric")
    label = metric_labels(names)[metric]
    return pd.DataFrame({f"Δ{label} without guidance": without.mean(), f"Δ{label} with guidance":
                         with_guidance.mean(), "difference (with - without)": summary["delta"],
                         "95% interval": summary["delta_ci95"], "seed-to-seed spread": summary["noise_floor"],
                         "verdict": summary["verdict"].str.replace("noise", "seed spread")}).dropna(subset=["verdict"])


def statistics_status_rows(rows):
    """Status-page rows of the statistics (model -> `statistics.statistics_row`): Table 1 (X-MDPT is its L) and 5."""
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


def _h(summary, row, metric):
    """The summary row of (row, metric), or None."""
    hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def _printed(name):
    """The paper's printed text of one X-MDPT number of its prose and figures (table TEXT of the numbers file)."""
    numbers = paper_numbers()
    hit = numbers[(numbers["table"] == "TEXT") & (numbers["row"] == name) & (numbers["column"] == "X-MDPT")]
    if hit.empty:
        raise KeyError(f"the paper has no number at TEXT/{name}/X-MDPT")
    return hit["printed"].iloc[0]


def describe_statistics(row, column):
    """Sentences on c's statistics at t0, generated from this run's numbers, beside the paper's for `column`."""
    return (f"- At the first sampling step, c over {row['pairs']} random test pairs has mean pairwise cosine "
            f"{row['cosine_mean']:.5f} (minimum {row['cosine_min']:.5f}); the paper reports "
            f"{paper_value('T5', 'cosine_y_plus_t', column):.5g} for {column}. y alone: {row['y_cosine_mean']:.4f} "
            f"(paper {paper_value('T5', 'cosine_y_only', column):.4g}), and {100 * row['t_share']:.1f}% of ‖c‖² lies along "
            f"t_emb on average. nPR of c is {100 * row['npr_mean_over_classes']:.2f}% (paper "
            f"{100 * paper_value('T5', 'npr_y_plus_t', column):.2f}%), of y alone {100 * row['y_npr_mean_over_classes']:.2f}% "
            f"(paper {100 * paper_value('T5', 'npr_y_only', column):.2f}%). A share of "
            f"{100 * row['below_tau_mean_over_pairs']:.1f}% of each pair's coordinates lies below τ = {row['tau']:g} "
            f"({100 * row['below_tau_of_mean_vector']:.1f}% of the mean c); for X-MDPT the paper says "
            f"{_printed('table7_below_tau_0.1')} (Table 7) and {_printed('fig4_below_tau_0.1')} (Fig. 4). "
            f"The {100 * row['tail_share']:.0f}% of coordinates with the smallest |mean c_i| carry "
            f"{100 * row['tail_variance_share']:.1f}% of c's variance across the pairs.")


def describe_variation(shares, grid):
    """A sentence on how c's variance splits into person, pose and interaction, from this run's numbers."""
    all_dims, head = shares.iloc[0], shares.iloc[1]
    return (f"- Over {grid} (sources x target poses), the source (person) explains {100 * all_dims['person share']:.0f}% "
            f"of c's variance across inputs, the target pose {100 * all_dims['pose share']:.0f}% and their interaction "
            f"{100 * all_dims['interaction share']:.0f}%; the {shares.index[1]} hold "
            f"{100 * head['share of the total variance']:.1f}% of it, split {100 * head['person share']:.0f}% / "
            f"{100 * head['pose share']:.0f}% / {100 * head['interaction share']:.0f}%.")


def describe_calibration(calibration, summary, names=None):
    """A sentence setting the unpruned samples' per-sample scores between copying the source and the real answers."""
    names, parts = metric_labels(names), []
    for column in calibration.columns:
        h = _h(summary, "baseline", column)
        if h is not None:
            parts.append(f"{names.get(column, column)} {h['mean']:.3g} ± {h['ci95']:.2g} (the real answers "
                         f"{calibration.loc[REAL, column]:.3g}; the source copied {calibration.loc[COPY, column]:.3g})")
    return "- Unpruned samples (the first preset) score " + "; ".join(parts) + "."


def describe_pruning(studies, row, interactions, profile, metrics=T7_METRICS, names=None):
    """Sentences on the pruning studies (one per sampler preset), read on `metrics` (the first counts the rows
    beyond noise), and their interaction with guidance."""
    names, lines = metric_labels(names), []
    first = metrics[0]
    for sampler, study in studies.items():
        summary = study.summary
        changes = [f"{names[m]} {h['delta']:+.3g} ({h['verdict']})" for m in metrics
                   if (h := _h(summary, row, m)) is not None]
        removed = _h(summary, row, "removed_dims")
        lines.append(f"- **{sampler}**: our row for Table 7's pruned row ({row}, {removed['mean']:.1f} of {study.dim} "
                     f"coordinates zeroed) changes " + "; ".join(changes) + ".")
        pruned = summary[(summary["metric"] == first) & (summary["row"] != "baseline")].sort_values("delta")
        counts = pruned["verdict"].value_counts()
        worst = pruned.iloc[-1]
        lines.append(f"  Of its {len(pruned)} pruned rows, {counts.get('larger than noise', 0)} change "
                     f"{names[first]} by more than the noise floor ({_h(summary, 'baseline', first)['noise_floor']:.3g}); the largest "
                     f"rise is {worst['row']} ({names[first]} {worst['mean']:.4g}, change {worst['delta']:+.3g}).")
    for metric, table in interactions.items():
        beyond = int((table["verdict"] == "larger than seed spread").sum())
        lines.append(f"- Guidance and pruning: for {beyond} of {len(table)} rows the change in {names[metric]} with "
                     "guidance differs from the change without it by more than the seed-to-seed spread.")
    if profile != "paper":
        lines.append("- What this scale cannot show: a tiny X-MDPT on 24 x 24 procedural people, with small trained "
                     "stand-ins for the SD-VAE and DINOv2, an evaluation network for Inception and an unweighted "
                     "feature distance for LPIPS (the LPIPS stand-in), tests whether the effects appear and how they "
                     "compare with the seed noise, not the paper's values; those need the `paper` profile (X-MDPT-L "
                     "and DeepFashion).")
    return "\n".join(lines)
