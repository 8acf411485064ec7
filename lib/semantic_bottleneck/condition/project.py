"""A few directions instead of a few coordinates: project c onto its top r principal directions while sampling.

Keeping r coordinates of c (the global mask of `prune`) is one rank-r orthogonal projection of c, onto r axes.
`Projector` applies another, onto the r directions that hold the most of c's energy over a set of conditions and the
sampler's timesteps (the top right singular vectors of those c, uncentred, so that the mean direction, which the
cosine > 0.99 of the paper says c lies near, is among them): c -> V V^T c, at every step, with hooks on the same
layers as `prune.Pruner`, so no model is forked. By construction (Eckart-Young) no r coordinates keep more of that
set's energy than these r directions; whether the network cares about the same thing is what sampling tells.
`ProjectSpec` is a study row (`study.protocol.run_rows`), and `row_hooks` picks the operator of any row.
Shapes: M vectors, D width of c, r kept directions.
"""
from dataclasses import dataclass
from typing import ClassVar

import torch

from .compress import replace_c
from .prune import Pruner, global_mask
from .reach import modulation_gains


@dataclass(frozen=True)
class ProjectSpec:
    """A study row: project c onto its top `rank` principal directions at every step (conditional and CFG rows)."""

    rank: int
    schedule: ClassVar[str] = "every_step"  # the only schedule a projection row has

    def __post_init__(self):
        if int(self.rank) != self.rank or self.rank < 1:
            raise ValueError(f"rank must be a positive integer; got {self.rank!r}")

    @property
    def label(self):
        """A short human-readable name, e.g. 'top 4 principal directions'."""
        return f"top {self.rank} principal direction{'s' if self.rank > 1 else ''}"


def principal_directions(vectors, rank):
    """The top `rank` right singular vectors (D, r) of `vectors` (M, D), uncentred; orthonormal columns."""
    vectors = torch.as_tensor(vectors).double()
    if vectors.ndim != 2 or not 1 <= rank <= min(vectors.shape):
        raise ValueError(f"rank must be in [1, min(M, D) = {min(vectors.shape) if vectors.ndim == 2 else '?'}] for "
                         f"vectors (M, D); got rank {rank!r} and shape {tuple(vectors.shape)}")
    _, _, vh = torch.linalg.svd(vectors, full_matrices=False)
    return vh[:rank].T.float()  # (D, r)


def vectors_over_steps(embedding, step_timesteps):
    """c of every condition of an embedding at every timestep of a sampler, stacked (steps x conditions, D)."""
    return torch.cat([embedding.c(float(t)) for t in step_timesteps])


def kept_energy(vectors, basis):
    """The share of the total squared norm of `vectors` (M, D) that their projection onto `basis` (D, r) keeps."""
    vectors = torch.as_tensor(vectors).double()
    basis = torch.as_tensor(basis).double()
    return ((vectors @ basis).square().sum() / vectors.square().sum()).item()


class Projector:
    """Replace c by its projection V V^T c onto the columns of `basis` (D, r) while in a `with` block.

    Takes the sampler's callbacks as `prune.Pruner` does (`__call__(i, t)`, `set_conditional_rows(n)`), and keeps
    `records` in its format: D - r dimensions removed per conditional row, once per forward pass.
    """

    def __init__(self, model, basis):
        self.model = model
        self.basis = torch.as_tensor(basis).float()
        self.step = None
        self.records = []
        self._handles = []

    @classmethod
    def fit(cls, model, embedding, step_timesteps, rank):
        """A projector onto the top `rank` directions of c over the embedding's conditions and the given timesteps."""
        return cls(model, principal_directions(vectors_over_steps(embedding, step_timesteps), rank))

    @property
    def rank(self):
        """Number r of directions kept."""
        return self.basis.shape[1]

    def __call__(self, i, t):
        """The sampler's step callback: step i (0-based) with timestep t is about to run."""
        self.step = int(i)

    def set_conditional_rows(self, n):
        """The sampler's rows callback: one forward pass with n conditional rows is about to run."""
        self.records.append((self.step, (self.basis.shape[0] - self.rank) * int(n), int(n)))

    def apply(self, c):
        """c (N, D) projected onto the basis: (c V) V^T."""
        basis = self.basis.to(device=c.device, dtype=c.dtype)
        return (c @ basis) @ basis.T

    def __enter__(self):
        self._handles = replace_c(self.model, self.apply)
        return self

    def __exit__(self, *exc):
        while self._handles:
            self._handles.pop().remove()
        return False


def row_hooks(model, spec, num_steps, embedding, step_timesteps):
    """The operator that applies one study row: a `Projector` for a `ProjectSpec` (fitted on the embedding's
    conditions at the sampler's timesteps), else a `Pruner` for a `prune.PruneSpec` (its global mask from the
    embedding when the reading is global)."""
    if isinstance(spec, ProjectSpec):
        return Projector.fit(model, embedding, step_timesteps, spec.rank)
    if spec.reading != "global":
        return Pruner(model, spec, num_steps)
    gains = modulation_gains(model) if spec.ranking == "contribution" else None
    return Pruner(model, spec, num_steps, mask=global_mask(embedding, spec, gains=gains))
