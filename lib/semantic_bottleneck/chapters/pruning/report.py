"""A pruning study as the paper's tables (ours beside the paper's numbers), status-page rows and sentences."""
import pandas as pd
from scipy import stats
import torch

from ...condition.prune import SCHEDULE_SYMBOLS, closest_reading
from ...condition.reach import RANKINGS
from ...judge.metrics import METRIC_NAMES
from ...paper import paper_table, paper_value
from ...registry import model as registry_model
from .rows import PAPER_D, T6_ROWS, parse_row


def label(row):
    """The paper's way of naming a row, e.g. 'Tail τ=0.01 (t_0)'; sweep rows keep their id."""
    if row.startswith(("sweep_", "k_sweep_")):
        return row
    parsed = parse_row(row.split("@")[0])
    if parsed is None:
        return "Baseline"
    part, tau, schedule = parsed
    variant = row.split("@")[1] if "@" in row else ""
    suffix = {"": "", "conditional": " [conditional branch]"}.get(
        variant, f" [ranked by {variant}]" if variant in RANKINGS else f" [{variant} mask]")
    return f"{part.capitalize()} τ={tau:g} ({SCHEDULE_SYMBOLS[schedule]}){suffix}"


def table_rows(summary):
    """The rows of the Table 2 analog, in order: the paper's rows and their other-reading variants."""
    return [r for r in dict.fromkeys(summary["row"]) if not r.startswith(("sweep_", "k_sweep_"))]


def floors(summary):
    """The noise floor (unpruned vs unpruned, root-mean-square over seed pairs) of every metric."""
    base = summary[summary["row"] == "baseline"]
    return dict(zip(base["metric"], base["noise_floor"]))


def sweep_points(study):
    """Every-step rows of the main reading: part, measured share of d removed, metric, mean, ci95 (baseline in both parts)."""
    summary = study.summary
    removed = summary[summary["metric"] == "removed_dims"].set_index("row")["mean"]
    out = []
    for row, spec in study.specs.items():
        if "@" in row or (spec is not None and spec.schedule != "every_step"):
            continue
        for part in (("tail", "head") if spec is None else (spec.part,)):
            out += [{"row": row, "part": part, "removed_fraction": removed[row] / study.dim, "metric": h.metric,
                     "mean": h.mean, "ci95": h.ci95, "delta": h.delta, "verdict": h.verdict}
                    for h in summary[summary["row"] == row].itertuples()]
    return pd.DataFrame(out)


def sweep_rows(study, part):
    """The baseline and the every-step rows of the main reading that zero `part`, fewest removed first: the rows
    `where_it_hurts` reads, for a table beside its sentences."""
    points = sweep_points(study)
    points = points[points["part"] == part].drop_duplicates("row").sort_values("removed_fraction", kind="stable")
    return list(points["row"])


def ranking_rows(summary):
    """Each every-step paper row that was also ranked otherwise (`rows.ranking_specs`), followed by those rows."""
    ranked = [r for r in dict.fromkeys(summary["row"]) if "@" in r and r.split("@")[1] in RANKINGS]
    out = []
    for row in dict.fromkeys(r.split("@")[0] for r in ranked):
        out += [row, *[r for r in ranked if r.split("@")[0] == row]]
    return out


def where_it_hurts(study, metric, agreement_column):
    """Sentences on the every-step sweeps (the rows of `sweep_rows`): the largest tail share whose change in `metric`
    stays within noise below the first that is beyond noise, and the fewest head coordinates that are, with the
    agreement there."""
    points = sweep_points(study)
    base = _get(study.summary, "baseline", agreement_column)["mean"]
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
        agree = _get(study.summary, first["row"], agreement_column)["mean"]
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


def power(summary, metrics):
    """Per metric: the baseline (mean over seeds), its noise floor, and the floor as a share of the baseline.

    A change is called larger than noise only when it exceeds the floor (and its paired interval excludes 0), so
    the floor is the smallest change this protocol can detect at its sample count.
    """
    base = summary[summary["row"] == "baseline"].set_index("metric")
    return pd.DataFrame([{"metric": METRIC_NAMES.get(m, m), "baseline": base.loc[m, "mean"],
                          "noise floor (smallest detectable change)": base.loc[m, "noise_floor"],
                          "floor / baseline": base.loc[m, "noise_floor"] / abs(base.loc[m, "mean"])}
                         for m in metrics if m in base.index]).set_index("metric")


def per_class(study, column, class_names, rows):
    """Mean per-sample score (e.g. class agreement) of each class (label = index mod K) in the given rows."""
    k = len(class_names)
    out = {}
    for row in rows:
        scores = study.per_sample[row][column]
        labels = torch.arange(len(scores)) % k
        out[label(row)] = [scores[labels == c].mean().item() for c in range(k)]
    return pd.DataFrame(out, index=pd.Index(class_names, name="class"))


def _paper_tables(model):
    """(table, row prefix, Table 6 prefix) of the paper's pruning numbers for a model (the registry's), or None."""
    return registry_model(model).paper_tables


PAPER_METRIC = {"is10": "is", "is": None}  # our metric -> the paper's column (its IS matches 10 splits, not 1)
TABLE_NAMES = {"T2": "Table 2", "T3": "Table 3", "T6": "Table 6"}


def _paper(model, row, metric):
    """(the paper's number, its source, e.g. "REPA, Table 2") for one of our rows and metrics, or (None, None)."""
    column = PAPER_METRIC.get(metric, metric)
    if _paper_tables(model) is None or column is None:
        return None, None
    table, prefix, t6 = _paper_tables(model)
    for tab, pre in ((table, prefix), ("T6", t6)):
        try:
            value = paper_value(tab, pre + row.split("@")[0], column)
        except KeyError:
            continue
        return value, f"{pre.rstrip('/') or 'REPA'}, {TABLE_NAMES[tab]}"
    return None, None


def beside_paper(summary, metrics, model="tiny-class", dim=None, rows=None):
    """Our rows (mean ± 95% interval over seeds, change vs baseline with verdict) beside the paper's numbers."""
    out = []
    for row in rows or table_rows(summary):
        entry = {"row": label(row)}
        for metric in metrics:
            hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
            if hit.empty:
                continue
            h, (paper, source) = hit.iloc[0], _paper(model, row, metric)
            name = METRIC_NAMES.get(metric, metric)
            if metric == "removed_dims":
                entry[f"removed (paper, of {PAPER_D})"] = "" if paper is None else f"{paper:.0f}"
                entry[f"removed (ours{f', of {dim}' if dim else ''})"] = f"{h['mean']:.1f}"
                continue
            if paper is not None:
                entry[f"{name} (paper: {source})"] = f"{paper:.4g}"
            entry[f"{name} (ours)"] = f"{h['mean']:.4g} ± {h['ci95']:.2g}"
            if row != "baseline":
                entry[f"Δ{name}"] = f"{h['delta']:+.3g} ({h['verdict']})"
        out.append(entry)
    return pd.DataFrame(out).set_index("row").fillna("")


def status_rows(summary, model, protocol, extractor_name, agreement_column, dim, mapping, reading):
    """This run's numbers for the status page: T2 (T3 for MG/LightningDiT) and T6 rows, row ids as in paper.py.

    None for a model the paper reports no pruning numbers for.
    """
    if _paper_tables(model) is None:
        return []
    table, prefix, t6 = _paper_tables(model)
    known = set(paper_table(table).index)
    n, s = protocol.samples_per_seed, protocol.seeds
    out = []

    def add(tab, row_id, metric, h):
        """Append one status row with its reading."""
        if metric == "removed_dims":
            text = (f"mean zeroed coordinates per conditional c and pruned step, of d = {dim} ({reading} mask, "
                    f"{mapping} mapping)")
        else:
            on = {"is10": f"the logits of {extractor_name}", "class_agreement": "the evaluation classifier's labels",
                  "clip": "CLIP"}.get(metric, extractor_name)
            text = (f"{METRIC_NAMES[metric]}-{n} on {on}, mean of {s} seeds ± {h.ci95:.2g} (95%)"
                    + ("" if h.row == "baseline" else
                       f"; change vs baseline {h.delta:+.3g}, noise floor {h.noise_floor:.2g}: {h.verdict}"))
        out.append({"table": tab, "row": row_id, "column": PAPER_METRIC.get(metric) or metric, "model": model,
                    "reading": text, "value": h.mean})

    for h in summary.itertuples():
        if prefix + h.row in known and h.metric in ("removed_dims", "fid", "is10", agreement_column):
            add(table, prefix + h.row, h.metric, h)
        if h.row in T6_ROWS and h.metric in ("precision", "recall"):
            add("T6", t6 + h.row, h.metric, h)
    return out


def _get(summary, row, metric):
    hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def describe(summary, protocol, agreement_column, profile, readings=None, dim=None):
    """Sentences generated from this run's numbers: baseline and noise floor, the tau=0.01 schedules, the extremes."""
    base = _get(summary, "baseline", "fid")
    lines = [f"- Baseline: FID-{protocol.samples_per_seed} = {base['mean']:.4g} ± {base['ci95']:.2g} over "
             f"{protocol.seeds} seeds; two unpruned runs on different seeds differ by {base['noise_floor']:.3g} "
             f"(root-mean-square), i.e. {100 * base['noise_floor'] / base['mean']:.1f}% of the baseline. "
             f"{_paper_changes(protocol.model)}"]
    schedules = []
    for row in ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps"):
        h = _get(summary, row, "fid")
        if h is not None:
            schedules.append(f"{label(row)}: {h['delta']:+.3g} ({100 * h['delta'] / base['mean']:+.1f}%, {h['verdict']})")
    if schedules:
        lines.append("- Removing the paper's τ=0.01 share of dimensions changes FID by " + "; ".join(schedules) + ".")
    pruned = summary[(summary["metric"] == "fid") & (summary["row"] != "baseline")].sort_values("delta")
    if len(pruned):
        top, best = pruned.iloc[-1], pruned.iloc[0]
        agree, base_agree = _get(summary, top["row"], agreement_column), _get(summary, "baseline", agreement_column)
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
    heads = [_get(summary, r, "removed_dims") for r in ("head_tau5.0_every_step", "head_tau1.0_every_step")]
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
    if _paper_tables(model) is None:
        return "The paper has no pruning numbers for this model."
    table, prefix, _ = _paper_tables(model)
    name = prefix.rstrip("/") or "REPA"
    base = paper_value(table, prefix + "baseline", "fid")
    rows = ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps")
    return f"The paper's three τ=0.01 rows change {name}'s FID-5K by " + ", ".join(
        f"{paper_value(table, prefix + r, 'fid') - base:+.4f} ({label(r)})" for r in rows) + "."


def every_step_rows(study):
    """The baseline and the paper's every-step rows of the main reading that this study ran, in Table 2's order."""
    return [row for row in table_rows(study.summary) if row == "baseline" or (
        "@" not in row and study.specs[row] is not None and study.specs[row].schedule == "every_step")]
