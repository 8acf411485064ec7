"""The sparsity chapter's closing verdicts, computed from this run's statistics, scores and training runs.

Thresholds are the paper's, read from the numbers file (Table 1's nPR, Sec. 2.5's and Fig. 11's magnitudes, Fig. 9b's
head size); where the paper gives a direction without a number the row names the reading used. Separation scores are
judged against their binomial 95% interval, training changes against the spread between seeds (`study.seed_spread`).
"""
import math

import torch

from ...paper import paper_value
from ...registry import paper_column
from ..verdicts import Verdict
from .study import BASELINE, TRIVIAL_SPREAD, seed_spread

IMAGENET = ("DiT", "SiT", "MDT", "LightningDiT", "MG", "REPA")
TEXT_MODELS = "six ImageNet models"
DETERMINISTIC = "none: a deterministic function of the trained weights (one model; no seed spread measured here)"
NPR = "nPR (mean over classes)"


def _rule(difference, noise):
    """reproduced / inverted / not reproduced for a difference whose claimed sign is positive, beyond `noise`."""
    return "reproduced" if difference > noise else "inverted" if difference < -noise else "not reproduced"


# ----------------------------------------------------------------------------- statistics at t0

def npr_verdict(name, row, label):
    """Low nPR (Table 1): at most the largest nPR of the paper's six ImageNet models."""
    paper = {m: paper_value("T1", "npr", m) for m in IMAGENET}
    text = f"Table 1: nPR {100 * min(paper.values()):.2f}-{100 * max(paper.values()):.2f}% over six ImageNet models"
    if paper_column(name) in paper:
        text += f"; {paper_column(name)}: {100 * paper[paper_column(name)]:.2f}%"
    npr = row["npr_mean_over_classes"]
    return Verdict("c is sparse in magnitude: low nPR (Eq. 1, Table 1)", text,
                   f"nPR {100 * npr:.2f}% (mean over classes; {100 * row['npr_of_mean_vector']:.2f}% of the mean "
                   f"vector), d = {row['d']}",
                   "reproduced" if npr <= max(paper.values()) else "not reproduced", DETERMINISTIC, label)


def _row_threshold(row):
    """The tau written at the end of a TEXT row's name (e.g. 0.01 in fig11_fraction_below_0.01)."""
    return float(row.rsplit("_", 1)[1])


def magnitude_contrast_claim():
    """Sec. 2.5 and Fig. 11 from the file: (share of d above the large tau, share below the small tau, their ratio)."""
    high, low = "sec2_5_dims_above_1", "fig11_fraction_below_0.01"
    head = paper_value("TEXT", high, TEXT_MODELS) / paper_value("T1", "d", "REPA")
    tail = paper_value("TEXT", low, "mean conditional vector")
    return head, tail, _row_threshold(high) / _row_threshold(low)


def magnitude_contrast_verdict(c, label):
    """Head large, tail tiny: the paper's head-share largest |mean c_i| over its tail quantile, against its ratio."""
    head, tail, ratio = magnitude_contrast_claim()
    magnitudes = c.mean(0).abs().double()
    k = math.ceil(head * len(magnitudes))
    large = magnitudes.topk(k).values[-1].item()
    small = torch.quantile(magnitudes, tail).item()
    ours = large / small if small > 0 else math.inf
    return Verdict(
        "the head holds large values, the tail tiny ones (Figs 5, 6, 11; Sec. 2.5)",
        f"Sec. 2.5 and Fig. 11: about {100 * head:.1f}% of the mean c's coordinates above "
        f"{_row_threshold('sec2_5_dims_above_1'):g}, over {100 * tail:.0f}% below "
        f"{_row_threshold('fig11_fraction_below_0.01'):g}: the head at least {ratio:g}x the tail",
        f"the {'largest' if k == 1 else f'{k}th largest'} |mean c_i| (of {len(magnitudes)}) {large:.3g} against the "
        f"{100 * tail:.0f}th percentile {small:.3g}: {ours:.3g}x",
        "reproduced" if ours >= ratio else "not reproduced", DETERMINISTIC, label)


def variance_verdict(variance, d, label):
    """Across-class variance in a few head dimensions (Fig. 9b): 90% of it within the paper's head size."""
    high = paper_value("TEXT", "fig9b_variance_head_dims_high", TEXT_MODELS)
    low = paper_value("TEXT", "fig9b_variance_head_dims_low", TEXT_MODELS)
    paper_d = paper_value("T1", "d", "REPA")
    k = math.ceil(high / paper_d * d)
    held = int(variance["dims_for_90pct_of_variance"])
    return Verdict(
        "the variance across classes sits in a few head dimensions (Fig. 9b)",
        f"Fig. 9b: in about {low:g}-{high:g} of {paper_d:g} dimensions, the others barely vary (read here: 90% of "
        f"it within {high:g}/{paper_d:g} of d)",
        f"90% of the variance in {held} of {d} dims (half in {int(variance['dims_for_half_the_variance'])}); "
        f"{high:g}/{paper_d:g} of d is {k} dims here",
        "reproduced" if held <= k else "not reproduced", DETERMINISTIC, label)


def statistics_verdicts(rows, vectors, variances, labels):
    """nPR, magnitude contrast and variance concentration, model by model."""
    return [v for name in rows for v in (
        npr_verdict(name, rows[name], labels[name]), magnitude_contrast_verdict(vectors[name], labels[name]),
        variance_verdict(variances.loc[name], rows[name]["d"], labels[name]))]


# ----------------------------------------------------------------------------- head against tail, SiLU-aware

def separation_verdict(scores, head, tail, label):
    """Head keeps classes apart, tail does not: k-NN accuracy of `head` above `tail` beyond a binomial 95% interval.

    `scores` is one window of `study.separation_table` (indexed by subset).
    """
    h, t = scores.loc[head], scores.loc[tail]
    n = int(h["points"])
    noise = 1.96 * math.sqrt((h["knn_accuracy"] * (1 - h["knn_accuracy"]) + t["knn_accuracy"] * (1 - t["knn_accuracy"]))
                             / n)
    ranking = "|c|, the paper's" if head == "head" else "contribution to the modulation"
    trivial = "" if scores.loc["full", "spread within / between"] >= TRIVIAL_SPREAD else \
        "; each class is nearly one point over these timesteps, so the scores are close to trivial"
    return Verdict(
        f"the head keeps the classes apart, the tail does not (Fig. 13; head ranked by {ranking})",
        "Fig. 13 and Figs 20-25: head-only t-SNE keeps the class clusters, tail-only ones collapse (pictures, "
        "no score)",
        f"leave-one-timestep-out k-NN accuracy {h['knn_accuracy']:.2f} with the {int(h['dims'])} head dims, "
        f"{t['knn_accuracy']:.2f} with the {int(t['dims'])} tail dims (chance {h['chance']:.2f}; t = "
        f"{h['t from']:g} to {h['t to']:g})",
        _rule(h["knn_accuracy"] - t["knn_accuracy"], noise),
        f"±{noise:.2f}: 95% interval of a difference of two accuracies over {n} points{trivial}", label)


def reach_verdict(reach, label):
    """The |c|-head is what reaches the modulation: it carries most of the contribution; inverted below its size."""
    k, d = reach["head_dims"], reach["d"]
    share = reach["head_share_contribution"]
    verdict = "reproduced" if share > 0.5 else "inverted" if share < k / d else "not reproduced"
    return Verdict(
        "the |c|-head is what reaches the modulation (SiLU-aware reading)",
        "not examined: the paper ranks by |c_i| (Eq. 5 and 7 omit the SiLU) and takes that head for what conditions "
        "the network (read here: the |c|-head carries most of |SiLU(c_i)| g_i; inverted below its share k/d)",
        f"the |c|-head ({k} of {d} dims) carries {100 * reach['head_share_magnitude']:.1f}% of |c| but "
        f"{100 * share:.1f}% of the contribution (the top {k} by contribution: "
        f"{100 * reach['contribution_head_share']:.1f}%; k/d {100 * k / d:.1f}%); {reach['inert_head']} of its {k} "
        f"dims are inert; {100 * reach['head_overlap']:.0f}% of it is in the contribution head",
        verdict, DETERMINISTIC, label)


def head_verdicts(separation, reach, window, labels):
    """Head against tail under both rankings (in the `window` of the schedule) and the reach verdict, per model."""
    out = []
    for name, table in separation.items():
        scores = table.loc[window]
        out.append(separation_verdict(scores, "head", "tail", labels[name]))
        if "contribution head" in scores.index:
            out.append(separation_verdict(scores, "contribution head", "contribution tail", labels[name]))
        out.append(reach_verdict(reach[name], labels[name]))
    return out


# ----------------------------------------------------------------------------- training dynamics

def dynamics_noise(end, tolerance):
    """(noise, its text): the end-of-run nPR spread between the baseline and its other-seed copies, or `tolerance`."""
    spread = seed_spread(end)
    steps = int(end.loc[BASELINE, "steps"])
    if spread is None:
        return tolerance, f"±{100 * tolerance:.1f} points: a fixed tolerance (no other-seed copy ran; not a noise)"
    return spread, f"±{100 * spread:.1f} points: the baseline against its other-seed copies after {steps} steps"


def _run_label(config, what):
    return f"tiny-class {what}, {config.steps} steps, training seed {config.seed}"


def training_verdict(log, config, noise, what="main run"):
    """Sparsity grows over training (Fig. 12): nPR falls from the first to the last logged step beyond the noise."""
    first, last = log["npr_mean_over_classes"].iloc[[0, -1]]
    return Verdict(
        "sparsity grows over training (Fig. 12)",
        f"Fig. 12: nPR from {paper_value('TEXT', 'fig12_npr_early', 'REPA-B/2'):.0%} early to under "
        f"{paper_value('TEXT', 'fig12_npr_late', 'REPA-B/2'):.0%} at the end of REPA-B/2's run, still falling",
        f"nPR {100 * first:.1f}% at step {int(log['step'].iloc[0])} -> {100 * last:.1f}% at step "
        f"{int(log['step'].iloc[-1])}",
        _rule(first - last, noise[0]), noise[1], _run_label(config, what))


def variant_verdict(name, end, config, noise):
    """Weight decay drives sparsity (A.3): the variant ends with a lower nPR than the baseline beyond the noise."""
    delta = end.loc[name, NPR] - end.loc[BASELINE, NPR]
    return Verdict(
        f"{name} makes c sparser (Appendix A.3)",
        "Appendix A.3: weight decay and optimisation drive the sparsity (no ablation, no number)",
        f"nPR {100 * end.loc[name, NPR]:.1f}% against the baseline's {100 * end.loc[BASELINE, NPR]:.1f}% at equal "
        f"steps: {100 * delta:+.1f} points",
        _rule(-delta, noise[0]), noise[1], _run_label(config, f"run '{name}'"))


def timesteps_verdict(name, log, end, config, noise):
    """Fig. 43: with few training timesteps nPR still falls over the run; the difference to the baseline is stated."""
    verdict = training_verdict(log, config, noise, f"run '{name}'")
    delta = end.loc[name, NPR] - end.loc[BASELINE, NPR]
    return Verdict(
        f"with {name} of training, c still grows sparser (Fig. 43)",
        "Fig. 43 (rebuttal): the same dynamics as Fig. 12 with a few limited numbers of training timesteps (curves, "
        "no number)",
        f"{verdict.this_build}; {100 * delta:+.1f} points against the baseline at the end",
        verdict.verdict, noise[1], verdict.model)


def dynamics_verdicts(main_log, main_config, runs, configs, end, tolerance):
    """Fig. 12 on the main run, Fig. 43 per timestep count, A.3 per weight decay, all against the seed spread."""
    noise = dynamics_noise(end, tolerance)
    out = [training_verdict(main_log, main_config, noise)]
    out += [timesteps_verdict(n, runs[n][1], end, configs[n], noise) for n in configs if n.endswith(" timesteps")]
    out += [variant_verdict(n, end, configs[n], noise) for n in configs if n.startswith("weight decay")]
    return out
