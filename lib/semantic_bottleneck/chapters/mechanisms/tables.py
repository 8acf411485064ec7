"""The mechanisms chapter's tables: the three tiny models side by side (parameters, of which the conditioning
path: the adaLN modulation layers, the condition's cross-attention layers; training record), the paper's own Table 4/5
columns, each mechanism's unpruned quality and each row's paired change, and the status-page rows."""
from dataclasses import asdict

import pandas as pd

from ...condition.prune import count_for_fraction
from ...judge.metrics import METRIC_NAMES
from ...tiny.classes.class_model import tiny_train_config
from ..pruning_tables import mean_text, summary_line
from .study import PAPER_COLUMNS, paper_values, registry_mechanism

PATH_MODULES = ("adaLN_modulation", "cross_attn", "norm_cross")  # the layers a conditioning path adds


def _parameters(network, names=None):
    return sum(p.numel() for n, p in network.named_parameters()
               if names is None or any(part in names for part in n.split(".")))


def model_table(networks, mechanisms, profile):
    """One row per mechanism: registry name, parameters (all, and of the conditioning path), shared training
    configuration, final smoothed training loss."""
    base = asdict(tiny_train_config(profile))
    shared = ", ".join(f"{k} {base[k]}" for k in ("steps", "batch_size", "lr", "seed"))
    rows = []
    for mechanism, loaded in networks.items():
        network = loaded.network
        config = network.config
        log = pd.read_csv(f"{loaded.embedding.info['source']}/training_log.csv")
        rows.append({"mechanism": mechanism, "model": mechanisms[mechanism],
                     "parameters": _parameters(network),
                     "of which the conditioning path": _parameters(network, PATH_MODULES),
                     "width x depth": f"{config.hidden_size} x {config.depth}",
                     "training (shared)": shared, "entering vector width": loaded.dim,
                     "final training loss": float(log["loss"].iloc[-1])})
    return pd.DataFrame(rows).set_index("mechanism")


def paper_mechanism_table_reference():
    """The paper's own Table 4/5 values for UViT, SD3.0 (2B, 8B) and AudioLDM (labelled as the paper's), with the
    registry's mechanism beside the paper's label."""
    return pd.DataFrame([{"paper column": column, "table": table, "paper's label": label,
                          "registry's mechanism": registry_mechanism(column), **paper_values(column),
                          "source": f"the paper, Table {table[1]}"}
                         for column, (table, label) in PAPER_COLUMNS.items()])


def row_label(row, dim=None):
    """A row's name for tables, e.g. 'tail 40%' (with the coordinates it zeroes of a width `dim`)."""
    if row == "baseline":
        return row
    part, share = row.split("_")
    share = float(share.removesuffix("pct")) / 100
    count = f" ({count_for_fraction(share, dim)} of {dim})" if dim else ""
    return f"{part} {100 * share:g}%{count}"


def quality_table(studies, metrics):
    """Each mechanism's unpruned samples: mean over seeds ± 95% half-width of each metric (equal training)."""
    out = {}
    for mechanism, study in studies.items():
        out[mechanism] = {METRIC_NAMES.get(m, m): mean_text(summary_line(study.summary, "baseline", m)) for m in metrics}
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
                h = summary_line(study.summary, row, m)
                mark = "*" if h["verdict"] == "larger than noise" else ""
                entry[f"Δ {METRIC_NAMES.get(m, m)}"] = f"{h['delta']:+.4g} ± {h['delta_ci95']:.2g}{mark}"
                entry[f"floor {METRIC_NAMES.get(m, m)}"] = f"{h['noise_floor']:.2g}"
            rows.append(entry)
    return pd.DataFrame(rows).set_index(["mechanism", "row"])


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
                h = summary_line(study.summary, row, m)
                out.append({"table": NEW_TABLE, "row": f"{mechanism}/{row}", "column": m, "model": study.model,
                            "value": float(h["mean"] if row == "baseline" else h["delta"]),
                            "reading": "mean over seeds" if row == "baseline" else
                            f"paired change over {study.protocol.seeds} seeds ± {h['delta_ci95']:.2g}, noise floor "
                            f"{h['noise_floor']:.2g}: {h['verdict']}"})
    return out
