"""The pose-guided chapter's generated sentences: statistics, variation, calibration and the pruning studies."""
from ...paper import paper_numbers, paper_value
from ..pruning_tables import summary_line
from .study import COPY, REAL
from .tables import T7_METRICS, metric_labels


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
        h = summary_line(summary, "baseline", column)
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
                   if (h := summary_line(summary, row, m)) is not None]
        removed = summary_line(summary, row, "removed_dims")
        lines.append(f"- **{sampler}**: our row for Table 7's pruned row ({row}, {removed['mean']:.1f} of {study.dim} "
                     f"coordinates zeroed) changes " + "; ".join(changes) + ".")
        pruned = summary[(summary["metric"] == first) & (summary["row"] != "baseline")].sort_values("delta")
        counts = pruned["verdict"].value_counts()
        worst = pruned.iloc[-1]
        floor = summary_line(summary, "baseline", first)["noise_floor"]
        lines.append(f"  Of its {len(pruned)} pruned rows, {counts.get('larger than noise', 0)} change "
                     f"{names[first]} by more than the noise floor ({floor:.3g}); the largest "
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
