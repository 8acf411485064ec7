"""Scores over paired seeds: mean and 95% interval, change from the baseline, noise floor, verdict.

Each metric gets a mean and 95% t-interval over seeds, a paired change from the baseline (with its own
95% interval), and a noise floor: the root-mean-square difference between two unpruned runs on
different seeds. A change counts as larger than the noise only when it exceeds the floor and its
paired interval excludes zero.
"""
import math

import pandas as pd
from scipy import stats


def _interval(values):
    """Mean and 95% t-interval half-width of a list (NaN half-width with fewer than 2 values)."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))


def noise_floor(values):
    """Root-mean-square difference between two unpruned runs over all pairs of seeds (NaN with one seed)."""
    values = [float(v) for v in values]
    pairs = [(a - b) ** 2 for i, a in enumerate(values) for b in values[i + 1:]]
    return math.sqrt(sum(pairs) / len(pairs)) if pairs else float("nan")


def summarise(long):
    """Per row and metric: mean, 95% interval, paired change vs the baseline (with interval), noise floor, verdict."""
    out = []
    base = long[long["row"] == "baseline"]
    for (row, metric), group in long.groupby(["row", "metric"], sort=False):
        group = group.sort_values("replicate")
        b = base[base["metric"] == metric].sort_values("replicate")["value"].tolist()
        mean, half = _interval(group["value"])
        delta, delta_half = _interval([v - w for v, w in zip(group["value"], b)])
        floor = noise_floor(b)
        if row == "baseline":
            verdict = "baseline"
        elif math.isnan(floor) or metric == "removed_dims":
            verdict = ""
        else:
            tiny = 1e-9 * max(1.0, abs(mean))  # a float-rounding change never counts, even over a zero floor
            excludes_zero = not abs(delta) <= delta_half  # NaN half-width (one seed) cannot exclude zero
            verdict = "larger than noise" if abs(delta) > max(floor, tiny) and excludes_zero else "within noise"
        out.append({"row": row, "metric": metric, "mean": mean, "ci95": half, "delta": delta, "delta_ci95": delta_half,
                    "noise_floor": floor, "verdict": verdict, "seeds": len(group)})
    return pd.DataFrame(out)
