"""The same statistics of each mechanism's conditioning vectors: cosine, nPR, sparsity at tau, variance head.

Each tiny model gives its vectors through the interface of `condition.embedding.ConditionEmbedding` (`c(t)`,
`label()`, `time(t)`; `tiny.mechanism_models.MechanismVectors` for the in-context and cross-attention models). Which
vectors a mechanism has is `readings`: the vector the condition enters the network as, the paper's "y + t" where
the mechanism forms it, and y alone.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...condition.measure import cosine_summary, dimension_variance, fraction_below, npr_readings, top_share
from ..captions import captioned

ENTERING, SUMMED, Y_ONLY = "entering vector", "y + t (sum)", "y only"


def readings(mechanism, vectors, t):
    """{reading: (K, width) vectors} of one mechanism at timestep t.

    adaLN-Zero: c = t + y is both what enters and the paper's "y + t". In-context: the tokens [t; y] enter; their
    sum is the paper's reading of U-ViT's "y + t". Cross-attention: the context tokens enter and are y alone (t
    enters apart, by adaLN-Zero), so it has no "y + t".
    """
    if mechanism == "adaLN-Zero":
        return {ENTERING: vectors.c(t), SUMMED: vectors.c(t), Y_ONLY: vectors.label()}
    if mechanism == "in-context":
        return {ENTERING: vectors.c(t), SUMMED: vectors.summed(t), Y_ONLY: vectors.label()}
    if mechanism == "cross-attention":
        return {ENTERING: vectors.c(t), Y_ONLY: vectors.label()}
    raise ValueError(f"mechanism must be one of adaLN-Zero, in-context, cross-attention; got {mechanism!r}")


def vector_row(vectors, taus, head_fraction):
    """Cosine (mean, min over distinct pairs), nPR (mean over rows, of the mean row), sparsity of the mean row at each
    tau, and the share of the per-dimension variance across classes held by the top `head_fraction` of dimensions."""
    mean = vectors.mean(0)
    return {"width": vectors.shape[1], **cosine_summary(vectors), **npr_readings(vectors),
            **{f"below tau={tau:g}": fraction_below(mean, tau) for tau in taus},
            f"variance share of top {100 * head_fraction:g}%": top_share(dimension_variance(vectors), head_fraction)}


def statistics_table(embeddings, taus, head_fraction):
    """One row per (mechanism, reading) of `embeddings` ({mechanism: vectors object}), each at its t0."""
    rows = []
    for mechanism, vectors in embeddings.items():
        for reading, v in readings(mechanism, vectors, float(vectors.info["t0"])).items():
            rows.append({"mechanism": mechanism, "reading": reading, **vector_row(v, taus, head_fraction)})
    return pd.DataFrame(rows).set_index(["mechanism", "reading"])


def statistics_figure(stats):
    """Mean cosine and nPR (mean over classes) of every (mechanism, reading), as Fig. 1's bars."""
    labels = [f"{m}\n{r}" for m, r in stats.index]
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(1.2 + 1.25 * len(labels), 3.6))
    ax.bar(x - 0.2, stats["cosine_mean"], 0.4, color="white", edgecolor="0.2", label="mean cosine between classes")
    ax.bar(x + 0.2, stats["npr_mean_over_classes"], 0.4, color="0.6", label="nPR (mean over classes)")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylim(min(0.0, float(stats["cosine_mean"].min()) - 0.05), 1.05)
    ax.axhline(0, color="0.3", lw=0.6)
    ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title("the same statistics of each mechanism's vectors (t0 = 999)")
    fig.tight_layout()
    plt.close(fig)
    return captioned(fig, "Fig. 1 of the paper, per mechanism: white, the mean pairwise cosine of the vectors over the "
                          "classes; grey, their nPR (mean over classes). Tiny models trained here, profile as stated "
                          "in the table above.")
