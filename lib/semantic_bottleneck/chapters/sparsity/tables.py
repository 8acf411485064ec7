"""The sparsity section's statistics of c at t0: PR/nPR, counts below/above tau, per-dimension variance.

Shapes: K classes, D width of c. Every statistic is computed on c = y + t at the model's first
denoising step t0, and where the paper does not say which vector it used, on both the mean vector
(over classes) and each class vector (then averaged), each reading named.
"""
import re

import numpy as np
import pandas as pd
import torch

from ...condition.measure import above_tau, below_tau, dimension_variance, dims_for_share, participation_ratio, top_share
from ...paper import paper_numbers, paper_value
from ...registry import paper_column

HEAD_SHARE_FRACTIONS = (0.01, 0.02, 0.05)  # Fig. 9b: the top 1%, 2%, 5% of dimensions
_POINT_ROW = re.compile(r"^(?:(?P<model>[^/]+)/)?(?P<side>tail|head)_tau(?P<tau>[0-9.]+)_")


def first_step_c(embedding):
    """c = y + t (K, D) for every class at the model's first denoising step t0."""
    return embedding.c(embedding.info["t0"])


def sparsity_row(c):
    """PR, nPR (both readings), magnitudes and energy concentration of c (K, D) at t0."""
    d, mean = c.shape[1], c.mean(0)
    return {
        "d": d,
        "pr_mean_over_classes": participation_ratio(c).mean().item(),
        "pr_of_mean_vector": participation_ratio(mean).item(),
        "npr_mean_over_classes": participation_ratio(c).mean().item() / d,
        "npr_of_mean_vector": participation_ratio(mean).item() / d,
        "max_abs": mean.abs().max().item(),
        "median_abs": mean.abs().median().item(),
        **{f"energy_top{round(100 * f)}pct": top_share(mean.double() ** 2, f) for f in HEAD_SHARE_FRACTIONS},
    }


def variance_row(c):
    """Fig. 9 numbers: mean per-dimension variance across classes and the share of it in the top dimensions."""
    var = dimension_variance(c)
    return {"mean_variance": var.mean().item(),
            **{f"variance_top{round(100 * f)}pct": top_share(var, f) for f in HEAD_SHARE_FRACTIONS},
            "dims_for_half_the_variance": dims_for_share(var, 0.5),
            "dims_for_90pct_of_variance": dims_for_share(var, 0.9)}


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


def threshold_curve(c, taus):
    """Fig. 11 in both conventions: fraction of coordinates below and above each tau, for the mean vector and
    averaged over class vectors."""
    mean = c.mean(0)
    return pd.DataFrame([{"tau": float(tau),
                          "below (mean vector)": below_tau(mean, tau).item(),
                          "below (mean over classes)": below_tau(c, tau).mean().item(),
                          "above (mean vector)": above_tau(mean, tau).item(),
                          "above (mean over classes)": above_tau(c, tau).mean().item()} for tau in taus])


def tau_grid(c, points=60):
    """Log-spaced thresholds from below the smallest to above the largest |c_i| (at least 1e-4 .. 10)."""
    magnitudes = c.abs()
    low = min(1e-4, max(magnitudes.min().item(), 1e-6) / 2)
    high = max(10.0, 2 * magnitudes.max().item())
    return np.geomspace(low, high, points)


def matched_tau(mean_vector, side, fraction):
    """The tau at which the mean vector has `fraction` of its coordinates below (or above) it."""
    q = fraction if side == "below" else 1 - fraction
    return torch.quantile(mean_vector.abs().double(), q).item()


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
