"""A few coordinates or a few directions: the rows, the judges and the comparisons of section 3.

At each rank r a study runs two rows on the baseline's noise: `coordinates_r<r>` keeps the r largest coordinates of
the mean c at t0 (the global mask, as the compressed network of section 2) and `directions_r<r>` projects c onto
its top r principal directions over the model's reference conditions and the sampler's timesteps
(`condition.project`). Both are rank-r orthogonal projections of c; they differ only in which subspace they keep.

Section 2's pruned sampler against the compressed network: the kept shares of Table 2's tau = 0.01 and 0.02
rows (`paper_kept_shares`), their kept coordinates (`kept_masks`), and the samples of both from the same noise
(`pruned_against_compressed`).
"""
import pandas as pd
import torch

from ...condition.compress import compressed_index, global_kept
from ...condition.project import ProjectSpec
from ...condition.prune import PruneSpec, Pruner
from ...devices import cpu_threads
from ...paper import paper_value
from ...registry import load_network, model as registry_model
from ...sampling.generate import generate
from ...sampling.presets import preset
from ...settings.chapters import ComputeSettings
from ...study.judges import build_judge, judge_entry
from ...study.protocol import run_study

KINDS = ("coordinates", "directions")
LOWER_IS_BETTER = ("fid", "kid")


def row_id(kind, rank):
    """The id of one row, e.g. `directions_r4`."""
    return f"{kind}_r{rank}"


def parse_row(row):
    """(kind, rank) of a row id; None for the baseline."""
    if row == "baseline":
        return None
    kind, rank = row.rsplit("_r", 1)
    return kind, int(rank)


def rank_specs(settings: ComputeSettings, dim):
    """Every row: for each rank r < D of `settings.ranks`, r coordinates (global mask) and r principal directions."""
    specs = {"baseline": None}
    for rank in sorted(r for r in settings.ranks if r < dim):
        specs[row_id("coordinates", rank)] = PruneSpec("tail", fraction=(dim - rank) / dim, reading="global")
        specs[row_id("directions", rank)] = ProjectSpec(rank)
    return specs


def load_models(names, profile, threads, progress=True):
    """The registry's models (name -> loaded network, on the CPU), trained on first use with `threads` CPU threads
    (0: torch's setting; 1 avoids contention on a shared CPU)."""
    with cpu_threads(threads):
        return {name: load_network(name, profile, "cpu", progress) for name in names}


def run(settings: ComputeSettings, progress=True):
    """One study per model of `settings.direction_models`, each scored by the judge `settings.judges` names for it
    (`study.judges`; given the model loaded on the CPU where the judge needs it): model -> (`Study`, judge)."""
    missing = [name for name in settings.direction_models if name not in settings.judges]
    if missing:
        raise ValueError(f"judges must name a judge for every direction model; it names none for {', '.join(missing)}")
    entries = {name: judge_entry(settings.judges[name]) for name in settings.direction_models}  # every name, first
    out = {}
    for name, entry in entries.items():
        needs_model = "loaded" in entry.needs  # the pose judges: the model's pairs
        loaded = load_models([name], settings.profile, settings.threads, progress)[name] if needs_model else None
        judge = build_judge(entry.name, settings, model=name, loaded=loaded, progress=progress)
        out[name] = run_study(name, settings, judge, rank_specs, progress), judge
    return out


PAPER_ROWS = ("tail_tau0.01_every_step", "tail_tau0.02_every_step")  # Table 2's rows whose kept shares section 2 uses


def paper_kept_shares():
    """The share of REPA's c that Table 2's tail rows at tau 0.01 and 0.02 keep: row -> share."""
    d = paper_value("T1", "d", "REPA")
    return {row: 1 - paper_value("T2", row, "removed_dims") / d for row in PAPER_ROWS}


def kept_masks(embedding, shares):
    """The global reading's kept coordinates for each kept share, largest first (label "keep 50% (r = 64)" -> mask (D,))."""
    out = {}
    for share in sorted(shares, reverse=True):
        kept = global_kept(embedding, share)
        out[f"keep {100 * share:.3g}% (r = {int(kept.sum())})"] = kept
    return out


@torch.no_grad()
def pruned_against_compressed(loaded, compressed, settings: ComputeSettings):
    """Samples of `settings.compress_model` (`loaded`) under the pruner (global mask, every step) and of its compressed
    network on the same noise and conditions: their largest absolute difference (one-row table). From `settings`:
    `equality_samples`, `seed`, `samplers` (default: the registry's), `threads`."""
    sampler = settings.samplers.get(settings.compress_model) or registry_model(settings.compress_model).sampler
    with cpu_threads(settings.threads):
        return _pruned_against_compressed(loaded, compressed, preset(sampler), settings.equality_samples, settings.seed)


def _pruned_against_compressed(loaded, compressed, config, count, seed):
    index, dim = compressed_index(compressed), loaded.dim
    zeroed = torch.ones(dim, dtype=torch.bool)
    zeroed[index] = False
    spec = PruneSpec("tail", fraction=(dim - len(index)) / dim, reading="global")
    common = {"conditions": loaded.conditions, "decode": loaded.decode, "progress": False}
    with Pruner(loaded.network, spec, config.num_steps, mask=zeroed) as pruner:
        pruned = generate(loaded.network, range(count), seed, config, step_callback=pruner,
                          rows_callback=pruner.set_conditional_rows, **common).images
    small = generate(compressed, range(count), seed, config, **common).images
    return pd.DataFrame({"samples": [count], "sampler": [config.name], "kept coordinates r": [f"{len(index)} of {dim}"],
                         "max |pruned - compressed|": [(pruned - small).abs().max().item()],
                         "max |pixel|": [pruned.abs().max().item()]}).set_index("samples")
