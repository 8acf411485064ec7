"""Statistics of c for a continuous condition: Table 1's X-MDPT column, Table 5's y against y + t, Figs 4 and 33,
and what the paper does not measure: how much of c's variation comes from the pose and how much from the person.

c is read where it enters the network: `condition.hooks.CaptureC` on one forward pass at the first sampling step,
over random test pairs (each pair's own source, target pose and noise). Shapes: N pairs, D width of c,
P sources (people) x Q target poses in the two-way design.
"""
import pandas as pd
import torch

from ...condition.hooks import CaptureC
from ...condition.measure import below_tau, dimension_variance, similarity_row
from ...condition.reach import INERT_BELOW
from ...nets.xmdpt import PairEmbedding
from ...paper import paper_table
from ...sampling.conditions import to_device
from ...sampling.generate import input_shape, model_output
from ...sampling.noise import sample_noise

PARTS = ("person", "pose", "interaction")


@torch.no_grad()
def first_step_vectors(loaded, indices, t0, seed=0):
    """(c, y, t_emb) at the first sampling step t0 over the pairs at `indices`: c (N, D) as the first block reads it
    (a forward hook), y (N, D) alone, and t_emb (D,)."""
    network = loaded.network
    device = next(network.parameters()).device
    batch = to_device(loaded.conditions.for_indices(indices), device)
    x = sample_noise(indices, input_shape(network), seed).to(device)
    with CaptureC(network) as capture:
        model_output(network, x, torch.full((len(x),), t0, device=device), batch)
    embedding = PairEmbedding(network, batch)
    return capture.stacked().float().cpu(), embedding.label(), embedding.time([t0])[0]


def statistics_row(c, y, t, tau, tail_share=0.4):
    """Table 1/5 statistics of c and of y alone (`condition.measure.similarity_row`), the share below tau, and the
    share of c's variance across pairs that its `tail_share` smallest |mean c_i| dimensions carry."""
    row = similarity_row(c, y, t)
    variance = dimension_variance(c)
    tail = c.mean(0).abs().argsort()[:round(tail_share * c.shape[1])]
    row.update({"below_tau_mean_over_pairs": below_tau(c, tau).mean().item(),
                "below_tau_of_mean_vector": below_tau(c.mean(0), tau).item(), "tau": tau, "tail_share": tail_share,
                "tail_variance_share": (variance[tail].sum() / variance.sum()).item()})
    return row


def table1_beside_paper(rows, columns):
    """Table 1's X-MDPT column and Table 5's X-MDPT columns beside this build's rows (`rows`: model -> row), one
    column per model, statistics as rows (blank where the paper gives none).

    `columns` maps each model to the paper column it stands beside (its own, or the one it is an analog of).
    """
    t1, t5 = paper_table("T1"), paper_table("T5")
    out = []
    for name in dict.fromkeys(["X-MDPT", *columns.values()]):
        size = "X-MDPT-L" if name == "X-MDPT" else name  # the paper's Table 1 X-MDPT is its largest, L
        out.append({"model": f"{name} (paper)", "d": int(t1.loc["d", "X-MDPT"]) if name == "X-MDPT" else None,
                    "PR": t1.loc["pr", "X-MDPT"] if name == "X-MDPT" else None,
                    "nPR (y+t)": t5.loc["npr_y_plus_t", size], "cosine (y+t)": t5.loc["cosine_y_plus_t", size],
                    "nPR (y only)": t5.loc["npr_y_only", size], "cosine (y only)": t5.loc["cosine_y_only", size]})
    for model, r in rows.items():
        out.append({"model": f"{model} (this build, beside {columns[model]})", "d": r["d"],
                    "PR": r["pr_mean_over_classes"], "nPR (y+t)": r["npr_mean_over_classes"],
                    "cosine (y+t)": r["cosine_mean"], "nPR (y only)": r["y_npr_mean_over_classes"],
                    "cosine (y only)": r["y_cosine_mean"], "cosine (y+t), min pair": r["cosine_min"],
                    "nPR of the mean c": r["npr_of_mean_vector"], "share of |c|^2 along t": r["t_share"],
                    f"below tau={r['tau']:g}: mean over pairs": r["below_tau_mean_over_pairs"],
                    f"below tau={r['tau']:g}: of the mean c": r["below_tau_of_mean_vector"],
                    f"variance share of the {100 * r['tail_share']:.0f}% smallest |mean c_i|": r["tail_variance_share"]})
    return pd.DataFrame(out).set_index("model").T.astype(object).fillna("")  # statistics as rows, models as columns


def two_way_variance(c, sources, poses):
    """Per dimension, the variance of c (P Q, D; p-major) split into person, pose and interaction parts (D,) each.

    A balanced two-way decomposition: with m the grand mean, a_p = mean over poses - m, b_q = mean over people - m,
    c_pq - m = a_p + b_q + e_pq, and the three mean squares add up to the total variance exactly.
    """
    if c.shape[0] != sources * poses or min(sources, poses) < 2:
        raise ValueError(f"c must hold sources x poses = {sources} x {poses} rows (each >= 2); got {c.shape[0]}")
    grid = c.double().reshape(sources, poses, -1)  # (P, Q, D)
    grand = grid.mean((0, 1))
    person, pose = grid.mean(1) - grand, grid.mean(0) - grand  # (P, D), (Q, D)
    interaction = grid - grand - person[:, None] - pose[None]
    return {"person": person.square().mean(0), "pose": pose.square().mean(0),
            "interaction": interaction.square().mean((0, 1)), "total": (grid - grand).square().mean((0, 1))}


def variation_shares(parts, head):
    """Share of c's variance from the person, the pose and their interaction: over all D dimensions, over the
    `head` dimensions and over the rest."""
    total = parts["total"]
    rest = torch.ones_like(total, dtype=torch.bool)
    rest[head] = False
    out = []
    for name, dims in (("all dimensions", slice(None)), (f"head ({len(head)} largest |mean c|)", head),
                       ("the other dimensions", rest)):
        out.append({"dimensions": name, "share of the total variance": (total[dims].sum() / total.sum()).item(),
                    **{f"{part} share": (parts[part][dims].sum() / total[dims].sum()).item() for part in PARTS}})
    return pd.DataFrame(out).set_index("dimensions")


def head_dimensions(c, count):
    """The `count` dimensions with the largest |mean c| (the head), largest first."""
    return c.mean(0).abs().argsort(descending=True)[:count]


def head_attribution(c, parts, head):
    """Per head dimension: mean c, its variance and which part of it the person, the pose and both explain."""
    mean = c.double().mean(0)
    return pd.DataFrame([{"dimension": int(i), "mean c": mean[i].item(), "variance": parts["total"][i].item(),
                          **{f"{part} share": (parts[part][i] / parts["total"][i]).item() for part in PARTS}}
                         for i in head]).set_index("dimension")


REACH_LABELS = {
    "head_dims": "head: coordinates of largest |mean c_i|",
    "inert_head": f"of which inert (mean c_i < {INERT_BELOW:.2f}: SiLU passes < 5%)",
    "head_share_magnitude": "head's share of sum |mean c_i| (the paper's reading)",
    "head_share_silu": "head's share of sum |SiLU(mean c_i)| (what the Linear receives)",
    "head_share_contribution": "head's share of sum |SiLU(mean c_i)| g_i (contribution)",
    "contribution_head_share": "share of the same number of coordinates chosen by contribution",
    "head_overlap": "overlap of the |c|-head and the contribution head",
    "npr_magnitude": "nPR of |c| (mean over pairs)",
    "npr_silu": "nPR of |SiLU(c)|",
    "npr_contribution": "nPR of |SiLU(c)| g",
}


def reach_table(rows):
    """`condition.reach.reach_summary` of each model (model -> its dict) as one column per model, labelled rows."""
    return pd.DataFrame({model: {label: row[key] for key, label in REACH_LABELS.items()}
                         for model, row in rows.items()})
