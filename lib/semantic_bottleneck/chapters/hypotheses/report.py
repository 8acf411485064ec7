"""The hypotheses chapter's generated sentences: which factor of the sweep moves nPR beyond the seed noise."""
import math

from .study import BASE


def _gain(value):
    """The label gain in words (undefined where the null label was never trained)."""
    return ("label gain undefined (no label dropout: the null label was never trained)" if math.isnan(value)
            else f"label gain {value:.3f}")


def describe_sweep(effects):
    """One sentence per cell: whether its nPR change from the base (every seed) exceeds the seed noise, and how its
    class use compares."""
    noise = effects.loc[BASE, "nPR seed noise"]
    lines = [f"- Seed noise: two seeds of one cell end at most {noise:.3f} apart in nPR; a change counts when every "
             "seed's paired change exceeds it."]
    for cell, row in effects.drop(index=[BASE]).iterrows():
        changes = row["nPR changes per seed"]
        moved = all(abs(d) > noise for d in changes) and len({d > 0 for d in changes}) == 1
        what = ("moves nPR beyond the seed noise" if moved else "does not move nPR beyond the seed noise")
        lines.append(f"- **{cell}** ({row['factor']}) {what}: "
                     f"{', '.join(f'{d:+.3f}' for d in changes)} per seed; {_gain(row['label gain'])} against the "
                     f"base's {effects.loc[BASE, 'label gain']:.3f}.")
    return "\n".join(lines)
