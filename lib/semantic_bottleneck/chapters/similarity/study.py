"""What the similarity notebook computes: the statistics of c (and of y alone, and of SiLU(c)) at each model's
t0, and the cosine of c across timesteps (Appendix A.2)."""
import numpy as np
import pandas as pd
import torch.nn.functional as F

from ...condition.measure import cosine_summary, npr_readings, similarity_row


def first_step_row(embedding):
    """d, PR, nPR (both readings), cosine (both reductions) of c and of y alone, at the model's t0."""
    t0 = embedding.info["t0"]
    return similarity_row(embedding.c(t0), embedding.label(), embedding.time([t0])[0])


def silu_row(embedding):
    """Cosine (both reductions) and nPR (both readings) of SiLU(c) at t0: what every modulation Linear receives."""
    passed = F.silu(embedding.c(embedding.info["t0"]).double())
    return {**cosine_summary(passed), **npr_readings(passed)}


def cosine_across_timesteps(embedding, timesteps):
    """Mean/min pairwise cosine and nPR of c at each timestep (Appendix A.2)."""
    out = []
    for t in timesteps:
        c = embedding.c(float(t))
        out.append({"t": float(t), **cosine_summary(c), **npr_readings(c)})
    return pd.DataFrame(out)


def timestep_grid(embedding, points=25):
    """Timesteps spanning the model's schedule: 0..999 for integer-t families, [0, 1] for continuous t."""
    if embedding.info["t0"] > 1:
        return np.unique(np.linspace(0, 999, points).round())
    return np.linspace(0.0, 1.0, points)


def by_time_convention(embeddings):
    """Group model names into integer-t and continuous-t families."""
    groups = {}
    for name, e in embeddings.items():
        key = "integer DDPM timesteps" if e.info["t0"] > 1 else "continuous t in [0, 1]"
        groups.setdefault(key, []).append(name)
    return groups
