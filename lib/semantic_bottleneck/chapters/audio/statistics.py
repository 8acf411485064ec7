"""c of a video-to-audio model over clips: Tables 1 and 5's MDSGen columns, Fig. 32's variance, head against tail.

A class model has one c per class; here every clip has its own, so the statistics are over clips (the paper:
"random test samples"). c is read in the live network with `condition.hooks.CaptureC` at the sampler's first step,
and checked against y + t_emb computed from the network's own layers. `reach_table` and the `contribution head`
subset read c as the modulation Linears receive it (`condition.reach`: through SiLU, weighed by each column's gain).
Shapes: K clips, D width of c.
"""
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits
import torch

from ...condition.hooks import CaptureC
from ...condition.measure import dimension_variance, similarity_row, top_share
from ...condition.reach import INERT_BELOW, ranking_scores, reach_summary
from ...condition.separation import SUBSET_RULES, dimension_subsets, head_size, separation_scores
from ...paper import paper_value
from ...sampling.conditions import to_device
from ...sampling.generate import input_shape, model_output, timesteps
from ...sampling.noise import sample_noise

PAPER_COLUMN = "MDSGen"
TOP_FRACTIONS = (0.01, 0.02, 0.05)
CONTRIBUTION_HEAD, CONTRIBUTION_TAIL = "contribution head", "contribution tail"
CONTRIBUTION_RULES = {CONTRIBUTION_HEAD: "the k dimensions with the largest |SiLU(mean c_i)| x gain_i at t0 (what "
                                         "reaches the modulation Linears), k as the head's",
                      CONTRIBUTION_TAIL: "every other dimension (the D - k with a smaller contribution)"}
REACH_READINGS = {"head_dims": "head size k (largest |mean c_i|)",
                  "npr_magnitude": "nPR of |c| (the paper's), mean over clips",
                  "npr_silu": "nPR of |SiLU(c)|, mean over clips",
                  "npr_contribution": "nPR of |SiLU(c)| x gain, mean over clips",
                  "head_share_magnitude": "share of sum |mean c| in the |c|-head",
                  "head_share_silu": "share of sum |SiLU(mean c)| in the |c|-head",
                  "head_share_contribution": "share of the contribution in the |c|-head",
                  "contribution_head_share": "share of the contribution in the contribution-ranked head (same k)",
                  "head_overlap": "share of the |c|-head inside the contribution-ranked head",
                  "inert_head": f"|c|-head dimensions with mean c_i < {INERT_BELOW:.2f} (SiLU passes < 5%)"}


@dataclass
class FirstStep:
    """c, y (K, D) and t_emb (D,) of K conditions at the sampler's first step t0, read in the live network."""

    c: torch.Tensor
    y: torch.Tensor
    t: torch.Tensor
    t0: float
    indices: list


@torch.no_grad()
def first_step(network, conditions, config, count, seed=0, batch_size=256):
    """c of conditions 0..count-1 at the first step of sampler `config`, captured at the first `adaLN_modulation`.

    c does not depend on the noisy input, which is per-index noise here; y and t_emb come from the network's
    own condition path and timestep embedder, and c = y + t_emb is checked (float32 rounding).
    """
    count = min(count, getattr(conditions, "size", count))
    if count < 2:
        raise ValueError(f"count must cover at least 2 distinct conditions; got {count}")
    device = next(network.parameters()).device
    t0 = timesteps(config)[0]
    cs, ys = [], []
    for start in range(0, count, batch_size):
        indices = range(start, min(count, start + batch_size))
        batch = to_device(conditions.for_indices(indices), device)
        x = sample_noise(indices, input_shape(network), seed).to(device)
        with CaptureC(network) as capture:
            model_output(network, x, torch.full((len(x),), t0, device=device), batch)
        cs.append(capture.stacked()[:len(x)].float().cpu())
        ys.append(network.embed_condition(batch).float().cpu())
    c, y = torch.cat(cs), torch.cat(ys)
    t = network.t_embedder(torch.tensor([t0], device=device)).float().cpu()[0]
    if not torch.allclose(c, y + t, atol=1e-4 * max(1.0, c.abs().max().item())):
        raise RuntimeError("the captured c is not y + t_emb: the hook point does not receive c")
    return FirstStep(c, y, t, float(t0), list(range(count)))


# (paper table, paper row, statistic, key of `similarity_row`, reading); Table 5 repeats Table 1's y + t cells
READINGS = [("T1", "d", "d", "d", "width of c"),
            ("T1", "pr", "PR", "pr_mean_over_classes", "mean over clips"),
            ("T1", "npr", "nPR", "npr_mean_over_classes", "mean over clips"),
            ("T1", "npr", "nPR", "npr_of_mean_vector", "of the mean vector"),
            ("T1", "cosine", "cosine", "cosine_mean", "mean over pairs of clips"),
            ("T1", "cosine", "cosine", "cosine_min", "min over pairs of clips"),
            ("T5", "cosine_y_only", "cosine (y only)", "y_cosine_mean", "mean over pairs of clips"),
            ("T5", "cosine_y_only", "cosine (y only)", "y_cosine_min", "min over pairs of clips"),
            ("T5", "npr_y_only", "nPR (y only)", "y_npr_mean_over_classes", "mean over clips"),
            ("T5", "npr_y_only", "nPR (y only)", "y_npr_of_mean_vector", "of the mean vector")]
Y_PLUS_T = {"cosine": "cosine_y_plus_t", "npr": "npr_y_plus_t"}  # Table 5's names of Table 1's two cells


def beside_paper(step, model):
    """Table 1's and Table 5's MDSGen cells beside this build's, every reading named."""
    r = similarity_row(step.c, step.y, step.t)
    rows = [{"table": table, "statistic": name, "reading": reading, "paper (MDSGen)": paper_value(table, row, PAPER_COLUMN),
             f"this build ({model})": r[key]} for table, row, name, key, reading in READINGS]
    rows.append({"table": "", "statistic": "share of |c|² along t_emb", "reading": "mean over clips",
                 "paper (MDSGen)": None, f"this build ({model})": r["t_share"]})
    return pd.DataFrame(rows).set_index(["table", "statistic", "reading"])


def status_rows(step, model):
    """The statistics as status-page rows: Table 1's and Table 5's MDSGen cells, each reading."""
    r = similarity_row(step.c, step.y, step.t)
    out = []
    for table, row, _, key, reading in READINGS[1:]:
        for t, name in [(table, row)] + ([("T5", Y_PLUS_T[row])] if row in Y_PLUS_T else []):
            out.append({"table": t, "row": name, "column": PAPER_COLUMN, "model": model, "value": r[key],
                        "reading": f"{reading}, {len(step.indices)} clips at t0 = {step.t0:g}"})
    return out


def variance_summary(step):
    """Per-dimension variance of c across clips (population): its mean and the share held by the top dimensions."""
    variance = dimension_variance(step.c)
    return pd.DataFrame({"value": {"mean variance across clips": variance.mean().item(),
                                   **{f"share of the variance in the top {100 * f:g}% of dimensions":
                                      top_share(variance, f) for f in TOP_FRACTIONS}}})


def reach_table(step, gains, head_fraction):
    """`condition.reach.reach_summary` of c at t0 over the clips, one named reading per line (with the extremes
    of mean c in the |c|-head)."""
    summary = reach_summary(step.c, gains, head_fraction)
    mean = step.c.mean(0)
    head = mean.abs().topk(summary["head_dims"]).indices
    values = {REACH_READINGS[key]: value for key, value in summary.items()}
    values["most negative mean c_i in the |c|-head"] = mean[head].min().item()
    values["largest mean c_i in the |c|-head"] = mean[head].max().item()
    return pd.DataFrame({"value": values})


def separation(step, labels, head_fraction, folds=5, neighbours=5, seed=0, gains=None):
    """Leave-one-group-out k-NN accuracy and silhouette of clips by each label set, in each subset of dimensions.

    `labels` maps a name (e.g. event class) to one integer per clip; the groups are clip index mod `folds`, so
    every clip is classified by clips of the other folds. The subsets are `condition.separation`'s: head, tail
    and controls, from c at t0, and with `gains` (D,) the contribution head and tail (`CONTRIBUTION_RULES`). Scores
    are None when there are no labels (CAVP files).
    """
    subsets = dimension_subsets(step.c, head_fraction, seed)
    if gains is not None:
        k = head_size(step.c.shape[1], head_fraction)
        order = ranking_scores(step.c.mean(0), "contribution", gains).argsort(descending=True)
        subsets[CONTRIBUTION_HEAD], subsets[CONTRIBUTION_TAIL] = order[:k].sort().values, order[k:].sort().values
    if not labels:
        return None, subsets
    groups = np.asarray(step.indices) % folds
    points = step.c.numpy()
    rules = {**SUBSET_RULES, **CONTRIBUTION_RULES}
    rows = [{"labels": name, "subset": subset, "dims": len(idx), "rule": rules[subset],
             **separation_scores(points[:, idx.numpy()], np.asarray(values), groups, neighbours)}
            for name, values in labels.items() for subset, idx in subsets.items()]
    return pd.DataFrame(rows).set_index(["labels", "subset"]), subsets


def tsne(step, subsets, seed=0, perplexity=30.0):
    """2-D t-SNE of the clips' c in each subset of dimensions: name -> (K, 2)."""
    points = step.c.numpy()
    perplexity = min(perplexity, (len(points) - 1) / 3)
    with threadpool_limits(limits=1, user_api="openmp"):  # OpenMP threads make Barnes-Hut far slower on a busy CPU
        return {name: TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
            points[:, idx.numpy()]) for name, idx in subsets.items()}


def describe(step, model, scores, variance, reach=None):
    """Sentences generated from the numbers of the tables above: the cosine and nPR beside the paper's, y alone,
    variance, what reaches the modulation (`reach`: a `reach_table`), head against tail."""
    r = similarity_row(step.c, step.y, step.t)
    paper = {k: paper_value(t, k, PAPER_COLUMN) for t, k in (("T1", "cosine"), ("T1", "npr"), ("T5", "cosine_y_only"),
                                                               ("T5", "npr_y_only"))}
    lines = [f"- Over {len(step.indices)} clips at t0 = {step.t0:g}, the mean pairwise cosine of c is "
             f"{r['cosine_mean']:.4f} (minimum {r['cosine_min']:.4f}; the paper's MDSGen: {paper['cosine']:.4f}) and "
             f"nPR is {100 * r['npr_mean_over_classes']:.2f}% averaged over clips, {100 * r['npr_of_mean_vector']:.2f}% "
             f"of the mean vector (paper: {100 * paper['npr']:.2f}%), with d = {r['d']}.",
             f"- y alone: cosine {r['y_cosine_mean']:.4f} and nPR {100 * r['y_npr_mean_over_classes']:.2f}% (paper: "
             f"{paper['cosine_y_only']:.4f} and {100 * paper['npr_y_only']:.2f}%); t_emb carries "
             f"{100 * r['t_share']:.1f}% of |c|² on average.",
             f"- The variance across clips averages {variance.loc['mean variance across clips', 'value']:.3g} per "
             f"dimension; the top 2% of dimensions hold "
             f"{100 * variance.loc['share of the variance in the top 2% of dimensions', 'value']:.0f}% of it."]
    if reach is not None:
        v = reach["value"].rename(index={text: key for key, text in REACH_READINGS.items()})
        lines.append(f"- Through SiLU: {v['inert_head']:.0f} of the {v['head_dims']:.0f} |c|-head dimensions have "
                     f"mean c_i below {INERT_BELOW:.2f} (the most negative "
                     f"{v['most negative mean c_i in the |c|-head']:.3g}); the |c|-head holds "
                     f"{100 * v['head_share_magnitude']:.1f}% of sum |mean c| but "
                     f"{100 * v['head_share_contribution']:.1f}% of the contribution, against "
                     f"{100 * v['contribution_head_share']:.1f}% for the contribution-ranked head of the same size; "
                     f"nPR is {100 * v['npr_magnitude']:.1f}% by |c|, {100 * v['npr_contribution']:.1f}% by "
                     "contribution.")
    if scores is not None:
        event = scores.loc["event class"]
        lines.append(f"- Clips grouped by event class: k-NN accuracy {event.loc['full', 'knn_accuracy']:.2f} with all "
                     f"{len(step.c[0])} dimensions, {event.loc['head', 'knn_accuracy']:.2f} with the "
                     f"{int(event.loc['head', 'dims'])}-dimension head, {event.loc['tail', 'knn_accuracy']:.2f} with "
                     f"the tail and {event.loc['random', 'knn_accuracy']:.2f} with as many random dimensions (chance "
                     f"{event.loc['full', 'chance']:.2f})"
                     + (f"; {event.loc[CONTRIBUTION_HEAD, 'knn_accuracy']:.2f} with the contribution head and "
                        f"{event.loc[CONTRIBUTION_TAIL, 'knn_accuracy']:.2f} with its complement."
                        if CONTRIBUTION_HEAD in event.index else "."))
    return "\n".join(lines)
