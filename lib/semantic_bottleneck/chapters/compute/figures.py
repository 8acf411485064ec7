"""The compute chapter's figures (notebooks/06_compute.ipynb): where the modulation layers' share lies (the paper's
Fig. 42 with numbers), and sample quality against the rank r for coordinates and directions."""
import matplotlib.pyplot as plt
import numpy as np

from ..captions import captioned
from ..figures import level_grid
from .study import KINDS, parse_row
from .tables import rank_points


def modulation_shares(costs, profile):
    """The modulation layers' share of each architecture's parameters and of its FLOPs per sample (log scale): the
    dense-against-sparse picture of the paper's Fig. 42, with numbers (`cost.costs_table`; tiny models of `profile`)."""
    labels = list(costs.index)
    y = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(labels) + 1.2))
    for offset, column, colour in ((-0.2, "modulation share of parameters", "C0"),
                                   (0.2, "modulation share of FLOPs", "C3")):
        values = 100 * costs[column].astype(float).to_numpy()
        ax.barh(y + offset, values, height=0.38, color=colour, label=column.replace("modulation share of ", ""))
        for yi, v in zip(y + offset, values):
            ax.text(v * 1.08, yi, f"{v:.2g}%", va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("share held by the adaLN modulation layers (%, log scale)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("what the adaLN modulation layers hold, per architecture", fontsize=9)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, "Fig. 42 of the paper (dense against sparse conditioning), with numbers: the modulation "
                          "layers' share of parameters and of FLOPs per sample; released sizes counted on the meta "
                          f"device (no weights), tiny models of the {profile} profile. X-MDPT's FLOPs include the "
                          "official forward's second pass of every block over the source latent (discarded at "
                          "inference; this build's forward skips it).")


def quality_against_rank(studies, metrics, profile):
    """Each model's metrics (model -> [metric, ...]) against r: r coordinates (global mask) and r principal
    directions, mean and 95% interval over seeds; the grey band is the baseline ± the noise floor."""
    names = list(studies)
    width = max(len(metrics[name]) for name in names)
    fig, axes = plt.subplots(len(names), width, figsize=(4.2 * width, 3.1 * len(names)), squeeze=False)
    for row, name in enumerate(names):
        study = studies[name]
        points = rank_points(study)
        base = study.summary[study.summary["row"] == "baseline"].set_index("metric")
        for col in range(width):
            ax = axes[row, col]
            if col >= len(metrics[name]):
                ax.axis("off")
                continue
            metric = metrics[name][col]
            mean, floor = base.loc[metric, "mean"], np.nan_to_num(base.loc[metric, "noise_floor"])
            ax.axhspan(mean - floor, mean + floor, color="0.85", label="baseline ± noise floor")
            ax.axhline(mean, color="0.5", lw=0.8)
            for k, kind in enumerate(KINDS):
                line = points[(points["kind"] == kind) & (points["metric"] == metric)].sort_values("r")
                ax.errorbar(line["r"], line["mean"], yerr=line["ci95"].fillna(0), marker="o", ms=3, capsize=2,
                            color=f"C{k}", label=f"r {kind}")
            ax.set_xscale("log", base=2)
            ax.set_xlabel(f"r (of D = {study.dim})")
            ax.set_title(f"{name}: {metric}", fontsize=9)
    axes[0][0].legend(fontsize=7)
    protocol = studies[names[0]].protocol
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, f"No figure of the paper (it extends Fig. 42's head-only conditioning): quality against r, "
                          f"c kept on r coordinates or r principal directions; profile {profile}, {protocol.seeds} "
                          f"seeds x {protocol.samples_per_seed} samples per row, base seed {protocol.seed}; grey band "
                          "the baseline ± the noise floor.")


def rank_grid(study, ranks, profile):
    """Same noise, baseline then r coordinates and r directions for each r of `ranks` (images with 3 channels)."""
    rows = {"baseline": study.images["baseline"]}
    for row in study.images:
        parsed = parse_row(row)
        if parsed is not None and parsed[1] in ranks:
            rows[f"{parsed[1]} {parsed[0]}"] = study.images[row]
    fig = level_grid(rows, title=f"{study.model}: same noise, c kept on r coordinates or r directions")
    return captioned(fig, f"No figure of the paper (Fig. 42's head-only conditioning, sampled): {study.model}, "
                          f"{profile} profile, base seed {study.protocol.seed}; each column keeps its noise.")
