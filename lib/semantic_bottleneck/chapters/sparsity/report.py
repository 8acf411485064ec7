"""The sparsity chapter's generated sentences beside its verdicts: the head/tail scores and the training runs."""
from .study import BASELINE, TRIVIAL_SPREAD


def describe_heads(tables, subsets, trivial_spread=TRIVIAL_SPREAD):
    """Sentences beside the scores: how the heads overlap, and where the scores are close to trivial."""
    lines = []
    for name, table in tables.items():
        head = set(subsets[name]["head"].tolist())
        shared = {other: len(head & set(subsets[name][other].tolist()))
                  for other in ("variance head", "contribution head") if other in subsets[name]}
        lines.append(f"- **{name}**: the magnitude head ({len(head)} dims) shares "
                     + " and ".join(f"{n} with the {other}" for other, n in shared.items()) + ".")
        for window, part in table.groupby(level="window"):
            spread = part.droplevel("window")["spread within / between"]["full"]
            if spread < trivial_spread:
                lines.append(
                    f"- **{name}**, timesteps {part['t from'].iloc[0]:g} to {part['t to'].iloc[0]:g}: a class's c "
                    f"moves only {spread:.3f} of the distance between classes, so each class is nearly one point and "
                    "leave-one-timestep-out k-NN is close to trivial (continuous-time families feed t in [0, 1] "
                    "unscaled to DiT's sinusoid): these scores are not comparable with those of integer-time models.")
    return "\n".join(lines)


def describe_dynamics(table, agreement):
    """Sentences beside the verdicts: whether the short runs extend the main run, and what this scale can show."""
    base = table.loc[BASELINE]
    lines = []
    if agreement["steps_compared"]:
        same = "so the main log extends every short run" if agreement["max_abs_difference"] < 1e-4 else \
            "so the short runs are not exact prefixes of the main run here (threads or hardware changed the arithmetic)"
        lines.append(f"- The {int(base['steps'])}-step baseline and the main run's first {int(base['steps'])} steps "
                     f"differ by at most {agreement['max_abs_difference']:.2g} in the logged cosine / nPR over "
                     f"{agreement['steps_compared']} logged steps, {same}.")
    lines.append("- Each variant is one seed. The paper's runs are REPA-B/2 trained on ImageNet on GPUs; these are "
                 "minutes on a CPU, so they can show the direction of the early dynamics, not the paper's end values.")
    return "\n".join(lines)
