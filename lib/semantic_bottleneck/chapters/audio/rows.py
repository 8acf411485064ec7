"""The video-to-audio pruning rows, which the paper never ran: tail and head, by share and by tau, both mask readings.

Row ids: `tail_share0.5` (the 50% of c's coordinates with the smallest |c_i|, per sample), `head_dims2` (the 2
largest), `tail_tau0.05` / `head_tau1` (by threshold), and `<row>@global` (one mask from the mean c over the
conditions of the model's embedding at t0). Every row prunes at every step. Without guidance is a second study on
the sampler's `-no-cfg` twin preset, with the per-sample share rows only.
"""
from dataclasses import replace

from ...condition.prune import PruneSpec
from ...profiles import Params
from ...registry import model as registry_model
from ...sampling.presets import PRESETS


def share_specs(params, dim):
    """The per-sample rows by share: a share of the tail, a number of head dimensions."""
    specs = {f"tail_share{f:g}": PruneSpec("tail", fraction=f) for f in params.tail_shares}
    specs.update({f"head_dims{n}": PruneSpec("head", fraction=n / dim) for n in params.head_dims})
    return specs


def guided_specs(params, dim):
    """Every row of the guided study: the share rows, the tau rows, and the share rows with the global mask."""
    specs = share_specs(params, dim)
    specs.update({f"tail_tau{tau:g}": PruneSpec("tail", tau=tau) for tau in params.tail_taus})
    specs.update({f"head_tau{tau:g}": PruneSpec("head", tau=tau) for tau in params.head_taus})
    if params.global_rows:
        specs.update({f"{row}@global": replace(spec, reading="global") for row, spec in share_specs(params, dim).items()})
    return specs


def sampler_of(params):
    """The sampler preset the notebook's model samples with (`samplers`, else the registry's)."""
    return params.samplers.get(params.model) or registry_model(params.model).sampler


def unguided_params(params):
    """The notebook's parameters with the model's sampler switched to its `-no-cfg` twin (guidance scale 1)."""
    name = f"{sampler_of(params)}-no-cfg"
    if name not in PRESETS:
        raise ValueError(f"sampler {sampler_of(params)!r} has no guidance-free twin {name!r} in sampling.presets")
    return Params({**params.as_dict(), "samplers": {**params.samplers, params.model: name}})


def label(row):
    """A row id in words, e.g. 'tail 50% (per sample)', 'head 2 dims (global)', 'tail τ=0.05'."""
    if row == "baseline":
        return "baseline"
    base, _, reading = row.partition("@")
    part, rest = base.split("_", 1)
    if rest.startswith("share"):
        what = f"{100 * float(rest[5:]):g}%"
    elif rest.startswith("dims"):
        what = f"{rest[4:]} dims"
    else:
        what = f"τ={rest[3:]}"
    return f"{part} {what} ({reading or 'per sample'})"
