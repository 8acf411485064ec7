"""The sparsity chapter's tables: PR/nPR and the counts below/above tau beside the paper, the per-dimension
variance, the head/tail subsets, the training runs, what reaches the modulation, and the status-page rows.
"""
import re

import pandas as pd

from ...condition.measure import above_tau, below_tau
from ...condition.reach import INERT_BELOW
from ...condition.separation import SUBSET_RULES
from ...paper import paper_numbers, paper_value
from ...registry import paper_column
from .study import BASELINE, end_of_run_row, matched_tau, variance_row

_POINT_ROW = re.compile(r"^(?:(?P<model>[^/]+)/)?(?P<side>tail|head)_tau(?P<tau>[0-9.]+)_")


def npr_beside_paper(rows):
    """Eq. 1 / Table 1: PR and nPR of |c|, both readings, this build beside the paper's six ImageNet models."""
    paper = [{"model": col, "source": "paper", "d": int(paper_value("T1", "d", col)), "PR": paper_value("T1", "pr", col),
              "nPR": paper_value("T1", "npr", col)} for col in ("DiT", "SiT", "MDT", "LightningDiT", "MG", "REPA")]
    ours = [{"model": name, "source": "this build", "d": r["d"], "PR": r["pr_mean_over_classes"],
             "nPR": r["npr_mean_over_classes"], "PR (of mean vector)": r["pr_of_mean_vector"],
             "nPR (of mean vector)": r["npr_of_mean_vector"], "max |c_i|": r["max_abs"],
             "median |c_i|": r["median_abs"], "share of ‖c‖² in top 2%": r["energy_top2pct"]}
            for name, r in rows.items()]
    return pd.DataFrame(paper + ours).set_index(["model", "source"])


def paper_threshold_points():
    """The paper's sparsity counts (Table 2, Table 3 removed_dims) as points: model, side, tau, count, fraction.

    `side` is "below" for tail rows (|c_i| < tau, Eq. 2) and "above" for head rows (|c_i| > tau, A.3);
    tau is read from the row name, d from Table 1.
    """
    numbers = paper_numbers()
    part = numbers[numbers["table"].isin(["T2", "T3"]) & (numbers["column"] == "removed_dims")]
    out = []
    for r in part.itertuples():
        match = _POINT_ROW.match(r.row)
        if match is None:
            continue
        model = match["model"] or "REPA"
        d = paper_value("T1", "d", model)
        out.append({"model": model, "table": r.table, "row": r.row, "side": "below" if match["side"] == "tail" else "above",
                    "tau": float(match["tau"]), "count": int(r.value), "d": int(d), "fraction": r.value / d})
    return pd.DataFrame(out)


def distinct_points(points):
    """One paper point per (model, side, tau): the schedule variants of a row share their count."""
    return points.drop_duplicates(["model", "side", "tau"]).reset_index(drop=True)


def counts_beside_paper(vectors):
    """Each paper sparsity count beside this build's count at the same tau (both readings) and the matched tau.

    `vectors` maps model name -> c (K, D) at t0. The matched tau is where this model's mean vector reaches
    the paper's fraction: it says how the tau scale transfers to a model with other magnitudes.
    """
    out = []
    for p in distinct_points(paper_threshold_points()).itertuples():
        for name, c in vectors.items():
            count = below_tau if p.side == "below" else above_tau
            out.append({"paper model": p.model, "count": f"|c_i| {'<' if p.side == 'below' else '>'} {p.tau:g}",
                        "paper": f"{p.count}/{p.d} = {p.fraction:.4f}", "model": name,
                        "this build (mean vector)": count(c.mean(0), p.tau).item(),
                        "this build (mean over classes)": count(c, p.tau).mean().item(),
                        "d": c.shape[1], "matched tau": matched_tau(c.mean(0), p.side, p.fraction)})
    return pd.DataFrame(out).set_index(["paper model", "count", "paper", "model"])


def variance_beside_each_other(vectors):
    """Fig. 9 table: mean variance across classes and the variance share of the top 1/2/5% of dimensions."""
    return pd.DataFrame({name: variance_row(c) for name, c in vectors.items()}).T


def status_rows(rows, vectors):
    """The T1 PR row of the mean vector, and T2 (T3 for MG / LightningDiT) `removed_dims` counts for the status page.

    The other T1 readings come from the similarity chapter. A count is of the D coordinates of this model at t0,
    under two readings; the status page compares it with the paper's only for the paper's own model.
    """
    out = [{"table": "T1", "row": "pr", "column": paper_column(name) or name, "model": name,
            "reading": "of the mean vector", "value": r["pr_of_mean_vector"]} for name, r in rows.items()]
    points = paper_threshold_points()
    for name, c in vectors.items():
        column = paper_column(name) or name
        wanted = points[(points["table"] == "T2") | (points["model"] == column)]
        for p in wanted.drop_duplicates(["table", "model", "side", "tau"]).itertuples():
            count = below_tau if p.side == "below" else above_tau
            d, symbol = c.shape[1], "<" if p.side == "below" else ">"
            for reading, value in [("mean vector", count(c.mean(0), p.tau).item() * d),
                                   ("mean over class vectors", count(c, p.tau).mean().item() * d)]:
                out.append({"table": p.table, "row": p.row, "column": "removed_dims", "model": name,
                            "reading": f"count of |c_i| {symbol} {p.tau:g} at t0 of d={d}, {reading}", "value": value})
    return out


def figure_claims(vectors, variances, main_log):
    """The paper's figure and prose numbers (table TEXT of the numbers file) beside this build's, per model."""
    text = paper_numbers()
    text = text[text["table"] == "TEXT"].set_index("row")

    def _span(low, high):
        return f"{text.loc[low, 'printed']} to {text.loc[high, 'printed']}"

    out = []
    for name, c in vectors.items():
        mean, var = c.mean(0).abs(), variances.loc[name]
        d = c.shape[1]
        out += [
            {"claim": "mean per-dimension variance across classes (Fig. 9a)", "paper": _span(
                "fig9a_mean_variance_low", "fig9a_mean_variance_high") + " (six models)", "model": name,
             "this build": f"{var['mean_variance']:.4f}"},
            {"claim": "dimensions holding the across-class variance (Fig. 9b)", "paper": _span(
                "fig9b_variance_head_dims_low", "fig9b_variance_head_dims_high") + " of 1152", "model": name,
             "this build": f"{int(var['dims_for_90pct_of_variance'])} of {d} hold 90%, "
                           f"{int(var['dims_for_half_the_variance'])} hold half"},
            {"claim": "dimensions of the mean c above 0.1 / above 1 (Sec. 2.5)", "paper": _span(
                "sec2_5_dims_above_0.1_low", "sec2_5_dims_above_0.1_high") + f" / {text.loc['sec2_5_dims_above_1', 'printed']}"
             " of 1152", "model": name, "this build": f"{int((mean > 0.1).sum())} / {int((mean > 1).sum())} of {d}"},
            {"claim": "share of the mean c below 0.01 (Fig. 11)", "paper": text.loc["fig11_fraction_below_0.01", "printed"],
             "model": name, "this build": f"{(mean < 0.01).float().mean().item():.1%}"},
        ]
    first, last = main_log.iloc[0], main_log.iloc[-1]
    out.append({"claim": "nPR of c early -> late in training (Fig. 12)", "paper": f"{text.loc['fig12_npr_early', 'printed']}"
                f" -> {text.loc['fig12_npr_late', 'printed']} (REPA-B/2, 200k steps)", "model": "tiny-class main run",
                "this build": f"{first['npr_mean_over_classes']:.1%} (step {int(first['step'])}) -> "
                              f"{last['npr_mean_over_classes']:.1%} (step {int(last['step'])})"})
    return pd.DataFrame(out).set_index(["claim", "model"])


RULES = {**SUBSET_RULES,
         "contribution head": "the k dimensions with the largest contribution |SiLU(mean c_i)| * g_i at t0 "
                              "(g_i: the modulation Linears' gain of input i; condition.reach)",
         "contribution tail": "every other dimension (the D - k that reach the modulation least)"}


def subsets_table(subsets, c):
    """The rule, size and overlap with the magnitude head of each subset."""
    head = set(subsets["head"].tolist())
    return pd.DataFrame([{"subset": name, "rule": RULES[name], "dims": len(idx),
                          "shared with head": len(head & set(idx.tolist())),
                          "mean |c_i| at t0 (mean vector)": c.mean(0).abs()[idx].mean().item()}
                         for name, idx in subsets.items()]).set_index("subset")


def runs_table(configs):
    """What each run changes with respect to the baseline, and its length."""
    base = configs[BASELINE]
    return pd.DataFrame([{"run": name, "steps": c.steps, "training timesteps": c.num_train_timesteps,
                          "weight decay": c.weight_decay, "lr": c.lr, "seed": c.seed,
                          "changed": "nothing" if c == base else ", ".join(
                              k for k in ("num_train_timesteps", "weight_decay", "seed") if getattr(c, k) != getattr(base, k))}
                         for name, c in configs.items()]).set_index("run")


def end_of_run_table(runs):
    """One row per run: final loss, cosine, nPR (both readings), and head concentration of c and its variance."""
    rows = {}
    for name, (model, log, seconds) in runs.items():
        r = end_of_run_row(model)
        rows[name] = {"steps": int(log["step"].iloc[-1]), "loss": log["loss"].iloc[-1], "cosine (mean)": r["cosine_mean"],
                      "nPR (mean over classes)": r["npr_mean_over_classes"], "nPR (mean vector)": r["npr_of_mean_vector"],
                      "‖c‖² share, top 2%": r["energy_top2pct"], "‖c‖² share, top 5%": r["energy_top5pct"],
                      "variance share, top 2%": r["variance_top2pct"], "variance share, top 5%": r["variance_top5pct"],
                      "max |c_i|": r["max_abs"], "median |c_i|": r["median_abs"], "train seconds": seconds}
    return pd.DataFrame(rows).T


COLUMNS = {
    "head_dims": "head dims k (largest |mean c_i|)",
    "npr_magnitude": "nPR of |c| (paper)",
    "npr_silu": "nPR of |SiLU(c)|",
    "npr_contribution": "nPR of the contribution",
    "head_share_magnitude": "|c|-head's share of |c|",
    "head_share_silu": "|c|-head's share of |SiLU(c)|",
    "head_share_contribution": "|c|-head's share of the contribution",
    "contribution_head_share": "contribution head's share of the contribution",
    "head_overlap": "share of the |c|-head in the contribution head",
    "inert_head": f"inert |c|-head dims (mean c_i < {INERT_BELOW:.2f})",
}


def reach_table(rows):
    """One row per model: nPR under each ranking and what the |c|-head carries of each, named for the reader."""
    return pd.DataFrame({name: {label: r[key] for key, label in COLUMNS.items()} for name, r in rows.items()}).T
