"""A pruning study as the paper's tables: our rows beside the paper's numbers, the sweeps, the noise floors and
their power, per-class scores, and the status-page rows."""
import pandas as pd
import torch

from ...condition.prune import SCHEDULE_SYMBOLS
from ...condition.reach import RANKINGS
from ...judge.metrics import METRIC_NAMES
from ...paper import paper_table, paper_value
from ...registry import model as registry_model
from ..pruning_tables import change_text, mean_text, sweep_points as shared_sweep_points
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
    series = {}
    for row, spec in study.specs.items():
        if "@" in row or (spec is not None and spec.schedule != "every_step"):
            continue
        for part in (("tail", "head") if spec is None else (spec.part,)):
            series.setdefault(part, []).append(row)
    return shared_sweep_points(study, series).rename(columns={"series": "part", "share": "removed_fraction"})


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


def paper_tables_of(model):
    """(table, row prefix, Table 6 prefix) of the paper's pruning numbers for a model (the registry's), or None."""
    return registry_model(model).paper_tables


PAPER_METRIC = {"is10": "is", "is": None}  # our metric -> the paper's column (its IS matches 10 splits, not 1)
TABLE_NAMES = {"T2": "Table 2", "T3": "Table 3", "T6": "Table 6"}


def _paper(model, row, metric):
    """(the paper's number, its source, e.g. "REPA, Table 2") for one of our rows and metrics, or (None, None)."""
    column = PAPER_METRIC.get(metric, metric)
    if paper_tables_of(model) is None or column is None:
        return None, None
    table, prefix, t6 = paper_tables_of(model)
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
            entry[f"{name} (ours)"] = mean_text(h)
            if row != "baseline":
                entry[f"Δ{name}"] = change_text(h)
        out.append(entry)
    return pd.DataFrame(out).set_index("row").fillna("")


def status_rows(summary, model, protocol, extractor_name, agreement_column, dim, mapping, reading):
    """This run's numbers for the status page: T2 (T3 for MG/LightningDiT) and T6 rows, row ids as in paper.py.

    None for a model the paper reports no pruning numbers for.
    """
    if paper_tables_of(model) is None:
        return []
    table, prefix, t6 = paper_tables_of(model)
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


def every_step_rows(study):
    """The baseline and the paper's every-step rows of the main reading that this study ran, in Table 2's order."""
    return [row for row in table_rows(study.summary) if row == "baseline" or (
        "@" not in row and study.specs[row] is not None and study.specs[row].schedule == "every_step")]
