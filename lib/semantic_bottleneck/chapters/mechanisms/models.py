"""The three tiny models side by side: what their conditioning paths cost, how they were trained, what they show.

`model_table` counts each network's parameters (all, and those of its conditioning path: the adaLN modulation
layers, the condition's cross-attention layers) and reads its training record; `describe_statistics` turns the
statistics table of `statistics.statistics_table` into sentences.
"""
from dataclasses import asdict

import pandas as pd

from ...tiny.class_model import tiny_train_config
from .statistics import ENTERING, SUMMED, Y_ONLY

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


def describe_statistics(stats):
    """Sentences on the statistics table: cosine and nPR of each mechanism's vectors, y + t against y alone."""
    lines = []
    for mechanism in stats.index.get_level_values(0).unique():
        part = stats.loc[mechanism]
        enter = part.loc[ENTERING]
        text = (f"- **{mechanism}**: the entering vector (width {int(enter['width'])}) has mean cosine "
                f"{enter['cosine_mean']:.3f} (min {enter['cosine_min']:.3f}) between classes and nPR "
                f"{100 * enter['npr_mean_over_classes']:.1f}% (mean over classes)")
        if SUMMED in part.index and mechanism != "adaLN-Zero":
            s = part.loc[SUMMED]
            text += f"; the sum t + y: cosine {s['cosine_mean']:.3f}, nPR {100 * s['npr_mean_over_classes']:.1f}%"
        y = part.loc[Y_ONLY]
        text += (f"; y alone: cosine {y['cosine_mean']:.3f}, nPR {100 * y['npr_mean_over_classes']:.1f}%.")
        lines.append(text)
    with_t = stats.drop(index=[(m, r) for m, r in stats.index if r == Y_ONLY or m == "cross-attention"])
    without_t = stats.drop(index=with_t.index)
    lines.append(f"- Vectors that carry t (adaLN's c, the in-context tokens and their sum) have mean cosine "
                 f"{with_t['cosine_mean'].min():.3f} to {with_t['cosine_mean'].max():.3f} between classes; "
                 f"vectors of y alone (every y-only row and the cross-attention context, where t never enters) "
                 f"{without_t['cosine_mean'].min():.3f} to {without_t['cosine_mean'].max():.3f}.")
    return "\n".join(lines)
