"""The similarity chapter's figures (Figs 1 and A.2's cosine across timesteps); each returns one closed Figure."""
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..captions import captioned

sns.set_theme(context="notebook", style="whitegrid")


def bars_beside_paper(table1):
    """Cosine and nPR per model, the paper's models beside this build (the paper's Fig. 1)."""
    frame = table1.reset_index()[["model", "source", "cosine", "nPR"]].melt(
        id_vars=["model", "source"], var_name="statistic", value_name="value")
    frame["label"] = frame["model"] + np.where(frame["source"] == "paper", " (paper)", " (this build)")
    fig, ax = plt.subplots(figsize=(12, 4))
    sns.barplot(frame, x="label", y="value", hue="statistic", ax=ax, palette=["0.85", "0.35"], edgecolor="black")
    ax.set_xlabel("")
    ax.set_ylabel("cosine / nPR")
    ax.tick_params(axis="x", rotation=35)
    for tick in ax.get_xticklabels():
        if "this build" in tick.get_text():
            tick.set_fontweight("bold")
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, "Fig. 1 of the paper: pairwise cosine (light) and nPR (dark) of c per model, the paper's "
                        "models beside this build's (bold)")


def cosine_over_timesteps(frames):
    """Mean and minimum pairwise cosine of c against t, one line per model (Appendix A.2)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, frame in frames.items():
        line, = ax.plot(frame["t"], frame["cosine_mean"], label=f"{name}: mean over pairs")
        ax.plot(frame["t"], frame["cosine_min"], ls="--", color=line.get_color(), label=f"{name}: min over pairs")
    ax.set_xlabel("timestep t (as the model receives it)")
    ax.set_ylabel("pairwise cosine of c")
    ax.legend(fontsize=8)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, "Appendix A.2 of the paper (a claim of its text, drawn here): mean and minimum pairwise "
                        "cosine of c across the denoising schedule")
