"""Prune the conditioning vector c while sampling: zero its tail (|c_i| < tau) or its head (|c_i| > tau).

`Pruner` is a context manager that hooks the layers that receive c, so no model is forked:
forward pre-hooks on every `adaLN_modulation` (official DiT/SiT/REPA/MG/MDT layout and this
project's tiny DiT), or forward hooks on every `transformer_blocks[i].norm1.emb` of diffusers'
`DiTTransformer2DModel` (there c is that module's output; block 0's copy also feeds the final layer).
Which rows are pruned is a third reading: `both` (every c the network sees, the conditional and the unconditional
(CFG) rows alike) or `conditional` (the conditional rows only; the sampler says how many lead the batch). The paper
says it modifies "only the conditional vector c", which may mean either. Removed dimensions are counted over the
conditional rows only.

The paper leaves the mask granularity open, so both readings are implemented and named:
`per_sample` (each row's own c at each step) and `global` (one mask from the mean c over classes
at the first denoising step t0, then fixed). Which coordinates are "small" or "large" is a fourth: the paper
ranks by |c_i| (`ranking="magnitude"`); `condition.reach` names the SiLU-aware rankings (`silu`, `contribution`).
Shapes: N rows of c, D width of c.
"""
from dataclasses import dataclass

import torch

from .hooks import hook_points
from .reach import check_ranking, modulation_gains, ranking_scores

PARTS = ("tail", "head")
READINGS = ("per_sample", "global")
SCHEDULES = ("every_step", "first_step", "last_k_steps")
SCHEDULE_SYMBOLS = {"every_step": "t_i", "first_step": "t_0", "last_k_steps": "t_{n-k,n}"}
BRANCHES = ("both", "conditional")


@dataclass(frozen=True)
class PruneSpec:
    """What to zero (tail or head; by threshold `tau` or by `fraction` of D, ranked by `ranking`), which mask
    reading, when, in which rows."""

    part: str = "tail"
    tau: float | None = None
    fraction: float | None = None
    reading: str = "per_sample"
    schedule: str = "every_step"
    k: int = 1
    branch: str = "both"
    ranking: str = "magnitude"

    def __post_init__(self):
        if self.part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)}; got {self.part!r}")
        if (self.tau is None) == (self.fraction is None):
            raise ValueError(f"give exactly one of tau or fraction; got tau={self.tau!r}, fraction={self.fraction!r}")
        if self.tau is not None and not self.tau > 0:
            raise ValueError(f"tau must be > 0; got {self.tau!r}")
        if self.fraction is not None and not 0 <= self.fraction <= 1:
            raise ValueError(f"fraction must be in [0, 1]; got {self.fraction!r}")
        if self.reading not in READINGS:
            raise ValueError(f"reading must be one of {', '.join(READINGS)}; got {self.reading!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {self.schedule!r}")
        if int(self.k) != self.k or self.k < 1:
            raise ValueError(f"k must be a positive integer; got {self.k!r}")
        if self.branch not in BRANCHES:
            raise ValueError(f"branch must be one of {', '.join(BRANCHES)}; got {self.branch!r}")
        check_ranking(self.ranking)

    @property
    def label(self):
        """A short human-readable name, e.g. 'tail 38.9% (per_sample, t_{n-k,n}, k=4)'."""
        what = f"tau={self.tau:g}" if self.tau is not None else f"{100 * self.fraction:.1f}% of D"
        when = SCHEDULE_SYMBOLS[self.schedule] + (f", k={self.k}" if self.schedule == "last_k_steps" else "")
        rows = ", conditional branch" if self.branch == "conditional" else ""
        by = "" if self.ranking == "magnitude" else f" by {self.ranking}"
        return f"{self.part} {what}{by} ({self.reading}, {when}{rows})"


def count_for_fraction(fraction, dim):
    """How many of `dim` coordinates a fraction removes: rounded, at least 1 if fraction > 0, at most dim - 1 if < 1."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be in [0, 1]; got {fraction!r}")
    count = round(fraction * dim)
    if fraction > 0:
        count = max(count, 1)
    if fraction < 1:
        count = min(count, dim - 1)
    return count


def prune_mask(c, part, tau=None, count=None):
    """Boolean mask of the coordinates to zero, same shape as c (..., D), chosen along the last axis.

    With `tau`: |c_i| < tau (tail) or |c_i| > tau (head). With `count`: the `count` smallest (tail)
    or largest (head) |c_i| of each row. (Pass scores >= 0 as c to rank by them instead of |c_i|.)
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {', '.join(PARTS)}; got {part!r}")
    magnitude = c.detach().abs()
    if tau is not None:
        return magnitude < tau if part == "tail" else magnitude > tau
    if count is None or not 0 <= count <= c.shape[-1]:
        raise ValueError(f"count must be in [0, {c.shape[-1]}] when tau is not given; got {count!r}")
    mask = torch.zeros_like(magnitude, dtype=torch.bool)
    if count:
        chosen = magnitude.topk(int(count), dim=-1, largest=part == "head").indices
        mask.scatter_(-1, chosen, True)
    return mask


def spec_mask(c, spec, gains=None):
    """The mask `spec` selects on c (..., D): by its threshold, or by its fraction of D, of its ranking's scores
    (`gains`, (D,), for the contribution ranking: `condition.reach.modulation_gains(model)`)."""
    scores = ranking_scores(c, spec.ranking, gains)
    if spec.tau is not None:
        return prune_mask(scores, spec.part, tau=spec.tau)
    return prune_mask(scores, spec.part, count=count_for_fraction(spec.fraction, c.shape[-1]))


def global_mask(embedding, spec, t=None, gains=None):
    """The `global` reading: one mask (D,) from the mean over classes of c at t (default the model's t0)."""
    t = embedding.info["t0"] if t is None else t
    return spec_mask(embedding.c(float(t)).mean(0), spec, gains)


def active_steps(schedule, num_steps, k=1):
    """The step indices (0 = first denoising step) at which a schedule prunes."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}; got {schedule!r}")
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1; got {num_steps!r}")
    if schedule == "every_step":
        return frozenset(range(num_steps))
    if schedule == "first_step":
        return frozenset({0})
    if not 1 <= k <= num_steps:
        raise ValueError(f"k must be in [1, num_steps={num_steps}]; got {k!r}")
    return frozenset(range(num_steps - k, num_steps))


class Pruner:
    """Zero the coordinates of c a `PruneSpec` selects, at the steps its schedule names, while in a `with` block.

    Pass the pruner as the sampler's `step_callback(i, t)`: it learns the step index there, and
    computes one mask per step (from the first forward pass of that step), not one per layer.
    Outside any step (no callback yet) only `every_step` applies, with a mask per forward call.
    `mask` is required for the `global` reading (see `global_mask`). Every hook is removed on exit,
    also when the body raises.
    """

    def __init__(self, model, spec, num_steps, mask=None):
        if spec.reading == "global" and mask is None:
            raise ValueError("mask must be given for the global reading (use prune.global_mask(embedding, spec))")
        if spec.reading == "per_sample" and mask is not None:
            raise ValueError("mask must be None for the per_sample reading (it is computed from each step's c)")
        self.model, self.spec, self.num_steps = model, spec, num_steps
        self.active = active_steps(spec.schedule, num_steps, spec.k)
        self.fixed_mask = None if mask is None else torch.as_tensor(mask, dtype=torch.bool)
        self.gains = modulation_gains(model) if spec.ranking == "contribution" and mask is None else None
        self.step = None
        self.conditional_rows = None  # how many leading rows of the next forward are conditional (the sampler says)
        self.mask_computations = 0
        self.records = []  # (step, zeroed coordinates summed over the conditional rows, those rows) per mask computed
        self._mask = None
        self._handles = []

    def __call__(self, i, t):
        """The sampler's step callback: step i (0-based) with timestep t is about to run."""
        self.step, self._mask = int(i), None

    def set_conditional_rows(self, n):
        """The sampler's rows callback: the next forward's first n rows are conditional (the rest CFG-unconditional)."""
        self.conditional_rows = int(n)

    def __enter__(self):
        kind, modules = hook_points(self.model)
        for module in modules:
            if kind == "input":
                handle = module.register_forward_pre_hook(lambda m, args: (self.apply(args[0]), *args[1:]))
            else:
                handle = module.register_forward_hook(lambda m, args, out: self.apply(out))
            self._handles.append(handle)
        return self

    def __exit__(self, *exc):
        while self._handles:
            self._handles.pop().remove()
        return False

    def is_active(self):
        """Whether the current step prunes."""
        if self.step is None:
            if self.spec.schedule != "every_step":
                raise RuntimeError(f"schedule {self.spec.schedule} needs the sampler's step_callback to know the step")
            return True
        return self.step in self.active

    def apply(self, c):
        """c (N, D) with the selected coordinates zeroed (c itself at steps that do not prune)."""
        if not self.is_active():
            return c
        mask = self.mask_for(c)
        if self.spec.branch == "conditional":
            if self.conditional_rows is None:
                raise RuntimeError("branch conditional needs the sampler's rows_callback to know the conditional rows")
            mask = mask.clone()
            mask[self.conditional_rows:] = False
        return c.masked_fill(mask, 0.0)

    def mask_for(self, c):
        """The mask for this step (computed on the step's first call, then reused)."""
        if self._mask is not None and self._mask.shape == c.shape and self.step is not None:
            return self._mask
        if self.fixed_mask is not None:
            mask = self.fixed_mask.to(c.device).expand_as(c)
        else:
            gains = None if self.gains is None else self.gains.to(c.device)
            mask = spec_mask(c, self.spec, gains)
        self.mask_computations += 1
        rows = mask[: self.conditional_rows]
        self.records.append((self.step, int(rows.sum()), rows.shape[0]))
        self._mask = mask
        return mask

    def removed_dims(self):
        """Mean number of zeroed coordinates per conditional row over every mask computed (0 if none was)."""
        return removed_per_row(self.records)


def removed_per_row(records):
    """Zeroed coordinates per conditional row over `Pruner.records` (of one pruner, or several pruners' together),
    exact whatever the batches were (0 if no mask was computed)."""
    rows = sum(r[2] for r in records)
    return sum(r[1] for r in records) / rows if rows else 0.0


def count_readings(embedding, thresholds, step_timesteps, paper_column="paper"):
    """How many coordinates each (part, tau, paper count) threshold removes, under each mask reading.

    `global`: of the mean c over classes at t0; `per sample at t0`: each class's own c at t0 (mean, min,
    max over classes); `per sample over the steps`: each class's c at every sampler step, averaged.
    """
    import pandas as pd

    c0 = embedding.c(float(embedding.info["t0"]))
    out = []
    for part, tau, paper in thresholds:
        spec = PruneSpec(part, tau=tau)
        at_t0 = spec_mask(c0, spec).sum(-1).float()
        over_steps = torch.stack([spec_mask(embedding.c(float(t)), spec).sum(-1).float() for t in step_timesteps])
        out.append({"threshold": f"{part} τ={tau:g}", paper_column: paper,
                    "global: mean c over classes at t0": int(spec_mask(c0.mean(0), spec).sum()),
                    "per sample at t0: mean": at_t0.mean().item(), "per sample at t0: min": at_t0.min().item(),
                    "per sample at t0: max": at_t0.max().item(), "per sample over the steps: mean": over_steps.mean().item()})
    return pd.DataFrame(out).set_index("threshold")


def closest_reading(readings):
    """For each threshold of `count_readings`, the reading closest to the paper's count: (name, |difference|)."""
    paper_col = readings.columns[0]
    names = [c for c in readings.columns[1:] if not c.endswith(("min", "max"))]
    out = {}
    for threshold, r in readings.iterrows():
        best = min(names, key=lambda c: abs(r[c] - r[paper_col]))
        out[threshold] = (best, abs(r[best] - r[paper_col]))
    return out
