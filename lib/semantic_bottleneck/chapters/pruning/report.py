"""A pruning study's generated sentences: the baseline and its noise, the schedules, where the sweeps hurt."""
from scipy import stats

from ...condition.prune import closest_reading
from ...judge.metrics import METRIC_NAMES
from ...paper import paper_value
from ..pruning_tables import summary_line
from .rows import PAPER_D
from .tables import label, paper_tables_of, sweep_points


def where_it_hurts(study, metric, agreement_column):
    """Sentences on the every-step sweeps (the rows of `sweep_rows`): the largest tail share whose change in `metric`
    stays within noise below the first that is beyond noise, and the fewest head coordinates that are, with the
    agreement there."""
    points = sweep_points(study)
    base = summary_line(study.summary, "baseline", agreement_column)["mean"]
    lines = []
    for part in ("tail", "head"):
        p = _sweep(points, part, metric)
        if p.empty:
            continue
        quiet, loud = p[p["verdict"] == "within noise"], p[p["verdict"] == "larger than noise"]
        what = "tail (the smallest |c_i|)" if part == "tail" else "head (the largest |c_i|)"
        if loud.empty:
            lines.append(f"- Removing up to {100 * p['removed_fraction'].max():.1f}% of c from the {what} at every step changes "
                         f"{METRIC_NAMES.get(metric, metric)} within noise at every share tried."
                         + _agreement_break(points, part, agreement_column, study.dim))
            continue
        first = loud.iloc[0]
        agree = summary_line(study.summary, first["row"], agreement_column)["mean"]
        below = quiet[quiet["removed_fraction"] < first["removed_fraction"]]
        before = (f"up to {100 * below['removed_fraction'].max():.1f}% stays within noise; "
                  if len(below) else "")
        count = round(first["removed_fraction"] * study.dim)
        lines.append(f"- Removing the {what} at every step: {before}the first share beyond noise is "
                     f"{100 * first['removed_fraction']:.1f}% ({count} of {study.dim}), where "
                     f"{METRIC_NAMES.get(metric, metric)} changes by {first['delta']:+.3g}; "
                     f"{METRIC_NAMES.get(agreement_column, agreement_column)} is {agree:.3f} there against {base:.3f} "
                     "unpruned." + _agreement_break(points, part, agreement_column, study.dim))
    return "\n".join(lines)


def _sweep(points, part, metric):
    """The pruned rows of one part's sweep in one metric, fewest removed first."""
    p = points[(points["part"] == part) & (points["metric"] == metric) & (points["row"] != "baseline")]
    return p.sort_values("removed_fraction")


def _agreement_break(points, part, agreement_column, dim):
    """A clause: where the sweep of `part` first moves the agreement itself beyond noise, or that it never does."""
    p = _sweep(points, part, agreement_column)
    loud = p[p["verdict"] == "larger than noise"]
    name = METRIC_NAMES.get(agreement_column, agreement_column).capitalize()
    if loud.empty:
        return f" {name} stays within noise at every share tried."
    first = loud.iloc[0]
    return (f" {name} itself first moves beyond noise at {round(first['removed_fraction'] * dim)} of {dim} coordinates "
            f"({first['mean']:.3f}).")


def describe(summary, protocol, agreement_column, profile, readings=None, dim=None):
    """Sentences generated from this run's numbers: baseline and noise floor, the tau=0.01 schedules, the extremes."""
    base = summary_line(summary, "baseline", "fid")
    lines = [f"- Baseline: FID-{protocol.samples_per_seed} = {base['mean']:.4g} ± {base['ci95']:.2g} over "
             f"{protocol.seeds} seeds; two unpruned runs on different seeds differ by {base['noise_floor']:.3g} "
             f"(root-mean-square), i.e. {100 * base['noise_floor'] / base['mean']:.1f}% of the baseline. "
             f"{_paper_changes(protocol.model)}"]
    schedules = []
    for row in ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps"):
        h = summary_line(summary, row, "fid")
        if h is not None:
            schedules.append(f"{label(row)}: {h['delta']:+.3g} ({100 * h['delta'] / base['mean']:+.1f}%, {h['verdict']})")
    if schedules:
        lines.append("- Removing the paper's τ=0.01 share of dimensions changes FID by " + "; ".join(schedules) + ".")
    pruned = summary[(summary["metric"] == "fid") & (summary["row"] != "baseline")].sort_values("delta")
    if len(pruned):
        top, best = pruned.iloc[-1], pruned.iloc[0]
        agree = summary_line(summary, top["row"], agreement_column)
        base_agree = summary_line(summary, "baseline", agreement_column)
        lines.append(f"- The most damaging row is {label(top['row'])} (FID {top['mean']:.4g}, {top['mean'] / base['mean']:.1f}x "
                     f"the baseline; {METRIC_NAMES[agreement_column]} {agree['mean']:.3f} against {base_agree['mean']:.3f}); "
                     + (f"{label(best['row'])} improves it most (change {best['delta']:+.3g}, {best['verdict']})."
                        if best['delta'] < 0 else
                        f"the least damaging is {label(best['row'])} (change {best['delta']:+.3g}, {best['verdict']})."))
        verdicts = pruned["verdict"].value_counts()
        lines.append(f"- Of the {len(pruned)} pruned rows, {verdicts.get('larger than noise', 0)} change FID by more than "
                     f"the noise floor and {verdicts.get('within noise', 0)} do not.")
        if protocol.seeds < 3:
            t_crit = stats.t.ppf(0.975, protocol.seeds - 1)
            lines.append(f"- With {protocol.seeds} seeds the 95% interval of a change is {t_crit:.1f} standard errors wide "
                         "on each side, so a verdict of 'within noise' here has little power: it says the change was "
                         "not shown, not that there is none.")
    heads = [summary_line(summary, r, "removed_dims") for r in ("head_tau5.0_every_step", "head_tau1.0_every_step")]
    if all(h is not None for h in heads) and heads[0]["mean"] == heads[1]["mean"]:
        paper_heads = [paper_value("T2", r, "removed_dims") for r in ("head_tau5.0_every_step", "head_tau1.0_every_step")]
        lines.append(f"- The paper's two head rows remove {paper_heads[0]:.0f} and {paper_heads[1]:.0f} of {PAPER_D} "
                     f"dimensions; at d = {dim} both round to "
                     f"{heads[0]['mean']:.0f}, so they are one row here (the head sweep adds larger counts).")
    if readings is not None:
        closest, first = closest_reading(readings), readings.iloc[0]
        if closest[readings.index[0]][1] <= 0.1 * first.iloc[0]:
            lines.append("- Removed dimensions at the paper's thresholds, reading closest to the paper's count: " + "; ".join(
                f"{t}: '{name}' (off by {diff:.1f})" for t, (name, diff) in closest.items()) + ".")
        else:
            lines.append(f"- At τ=0.01 this model zeroes {first.iloc[1]:.0f} of its {dim} coordinates under the global "
                         f"reading and {first.iloc[2]:.1f} per sample at t0: its magnitudes are on another scale than "
                         f"REPA's, so whether the paper's {first.iloc[0]:.0f} is a global or a per-sample count needs the "
                         "real checkpoints.")
        counts = [paper_value(t, r, "removed_dims") for t, r in (("T2", "tail_tau0.01_every_step"),
                  ("T3", "MG/tail_tau0.01_every_step"), ("T3", "LightningDiT/tail_tau0.01_every_step"))]
        if len(set(counts)) == 1:
            lines.append(f"- The paper prints {counts[0]:.0f} of {PAPER_D} at τ=0.01 for REPA, MG and LightningDiT alike: "
                         "one identical count for three different models.")
    if profile != "paper":
        lines.append("- What this scale cannot show: the tiny model's c has another magnitude scale than REPA's, so rows "
                     "are matched by the share of dimensions removed, not by τ; its metrics use the evaluation classifier's "
                     "features, not Inception, and a few hundred samples, not 5,000. It tests whether the effect, and the "
                     "paper's reading of small differences, survive a noise floor; not the paper's values.")
    return "\n".join(lines)


def _paper_changes(model):
    """The paper's FID-5K changes of its three tau=0.01 rows, for the model's own table (REPA's for tiny)."""
    if paper_tables_of(model) is None:
        return "The paper has no pruning numbers for this model."
    table, prefix, _ = paper_tables_of(model)
    name = prefix.rstrip("/") or "REPA"
    base = paper_value(table, prefix + "baseline", "fid")
    rows = ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps")
    return f"The paper's three τ=0.01 rows change {name}'s FID-5K by " + ", ".join(
        f"{paper_value(table, prefix + r, 'fid') - base:+.4f} ({label(r)})" for r in rows) + "."
