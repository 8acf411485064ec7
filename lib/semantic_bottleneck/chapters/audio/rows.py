"""The video-to-audio pruning rows, which the paper never ran: tail and head, by share and by tau, both mask readings.

Row ids: `tail_share0.5` (the 50% of c's coordinates with the smallest |c_i|, per sample), `head_dims2` (the 2
largest), `tail_tau0.05` / `head_tau1` (by threshold), and `<row>@global` (one mask from the mean c over the
conditions of the model's embedding at t0). `tail_contribution_share0.5` / `head_contribution_dims4` rank the
coordinates by what reaches the modulation instead of |c_i| (`condition.reach`: |SiLU(c_i)| times the gain of the
modulation Linears' column i), per sample. Every row prunes at every step. Without guidance is a second study on
the sampler's `-no-cfg` twin preset, with the per-sample share rows by |c_i| only.
"""
from dataclasses import replace

from ...condition.prune import PruneSpec
from ...registry import model as registry_model
from ...sampling.presets import PRESETS
from ...settings.chapters import AudioSettings


def share_specs(settings: AudioSettings, dim):
    """The per-sample rows by share: a share of the tail, a number of head dimensions."""
    specs = {f"tail_share{f:g}": PruneSpec("tail", fraction=f) for f in settings.tail_shares}
    specs.update({f"head_dims{n}": PruneSpec("head", fraction=n / dim) for n in settings.head_dims})
    return specs


def contribution_specs(settings: AudioSettings, dim):
    """The per-sample rows ranked by contribution: a share of the tail, a number of head dimensions."""
    specs = {f"tail_contribution_share{f:g}": PruneSpec("tail", fraction=f, ranking="contribution")
             for f in settings.contribution_tail_shares}
    specs.update({f"head_contribution_dims{n}": PruneSpec("head", fraction=n / dim, ranking="contribution")
                  for n in settings.contribution_head_dims})
    return specs


def guided_specs(settings: AudioSettings, dim):
    """Every row of the guided study: the share rows (by |c_i|, then by contribution), the tau rows, and the share
    rows by |c_i| with the global mask."""
    specs = {**share_specs(settings, dim), **contribution_specs(settings, dim)}
    specs.update({f"tail_tau{tau:g}": PruneSpec("tail", tau=tau) for tau in settings.tail_taus})
    specs.update({f"head_tau{tau:g}": PruneSpec("head", tau=tau) for tau in settings.head_taus})
    if settings.global_rows:
        specs.update({f"{row}@global": replace(spec, reading="global")
                      for row, spec in share_specs(settings, dim).items()})
    return specs


def sampler_of(settings: AudioSettings):
    """The sampler preset the notebook's model samples with (`samplers`, else the registry's)."""
    return settings.samplers.get(settings.model) or registry_model(settings.model).sampler


def unguided_settings(settings: AudioSettings):
    """The settings with the model's sampler switched to its `-no-cfg` twin (guidance scale 1)."""
    name = f"{sampler_of(settings)}-no-cfg"
    if name not in PRESETS:
        raise ValueError(f"sampler {sampler_of(settings)!r} has no guidance-free twin {name!r} in sampling.presets")
    return replace(settings, samplers={**settings.samplers, settings.model: name})


def ranking_of(row):
    """The ranking a row id prunes by: 'contribution' for `*_contribution_*` rows, else 'magnitude' (|c_i|)."""
    return "contribution" if "_contribution_" in row else "magnitude"


def label(row):
    """A row id in words, e.g. 'tail 50% (per sample)', 'head 2 dims (global)', 'tail τ=0.05 (per sample)',
    'head 4 dims by contribution (per sample)'."""
    if row == "baseline":
        return "baseline"
    base, _, reading = row.partition("@")
    part, rest = base.replace("_contribution_", "_").split("_", 1)
    if rest.startswith("share"):
        what = f"{100 * float(rest[5:]):g}%"
    elif rest.startswith("dims"):
        what = f"{rest[4:]} dims"
    else:
        what = f"τ={rest[3:]}"
    by = " by contribution" if ranking_of(row) == "contribution" else ""
    return f"{part} {what}{by} ({reading or 'per sample'})"
