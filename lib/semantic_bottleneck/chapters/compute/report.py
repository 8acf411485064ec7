"""The compute chapter's tables and generated sentences, and its numbers for the status page.

Every sentence with a number is written here from the run's own tables, so the prose follows the numbers.
"""
from pathlib import Path

import pandas as pd
import torch

from ...cache import cache_root
from ...condition.compress import compressed_index, global_kept
from ...condition.prune import Pruner, PruneSpec
from ...devices import cpu_threads
from ...paper import paper_value
from ...registry import model as registry_model
from ...sampling.generate import generate
from ...sampling.presets import preset
from ...settings.chapters import ComputeSettings
from .cost import state_bytes
from .directions import KINDS, head_to_head, rank_points
from .verdicts import eligible_ranks, rank_outcomes

NEW_TABLE = "compute (new)"  # status-page table of experiments the paper did not run
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


def checkpoint_sentence(compressed, dense):
    """Where the compressed model's checkpoint was read from, its size on disk against the dense network's tensors,
    and what it keeps (`compressed`, `dense`: loaded networks of the registry)."""
    path = Path(compressed.info["checkpoint"])
    shown = path.relative_to(cache_root()) if path.is_relative_to(cache_root()) else path
    return (f"Checkpoint read back through the checkpoint reader: `{shown}` in the model cache, "
            f"{path.stat().st_size / 1e6:.3g} MB on disk against {state_bytes(dense.network) / 1e6:.3g} MB of the dense "
            f"network's tensors; kept coordinates: {compressed.info['kept coordinates']}.")


def cost_sentence(costs):
    """The parameters and FLOPs of the modulation layers, for the first architecture and across all of them."""
    first = costs.iloc[0]
    shares, flops = costs["modulation share of parameters"], costs["modulation share of FLOPs"]
    return (f"In {costs.index[0]} the {int(first['modulation layers'])} adaLN modulation layers hold "
            f"{100 * first['modulation share of parameters']:.1f}% of the {first['parameters (M)']:.1f}M parameters, "
            f"but compute {100 * first['modulation share of FLOPs']:.2f}% of the FLOPs of a forward pass "
            f"({first['modulation MFLOP per sample']:.0f} MFLOP of {first['GFLOP per sample']:.0f} GFLOP per sample): "
            f"they run once per sample, the rest of the network once per token. Across the {len(costs)} architectures "
            f"the share of parameters ranges from {100 * shares.min():.1f}% to {100 * shares.max():.1f}%, the share "
            f"of FLOPs from {100 * flops.min():.2f}% to {100 * flops.max():.2f}%." + _source_pass_clause(costs))


def _source_pass_clause(costs):
    """A sentence on the official X-MDPT forward's second pass of every block over the source latent, if counted."""
    extra = costs["of which source-latent pass (GFLOP)"]
    if not extra.gt(0).any():
        return ""
    counted = ", ".join(f"{name}: {value:.3g} of {costs.loc[name, 'GFLOP per sample']:.3g} GFLOP"
                        for name, value in extra[extra > 0].items())
    return (f" The official X-MDPT forward also runs every block (with its modulation layer) on the source image's "
            f"latent tokens and discards the result at inference; this build's forward does not, so that pass is "
            f"counted on top of it ({counted}).")


def _ms(value):
    """A time in ms with three significant digits, without an exponent."""
    return f"{value:.3g}" if value < 1000 else f"{value:,.0f}"


def time_sentence(times, model, costs):
    """How much of a forward pass the modulation layers cost, in time per batch size (`cost.modulation_time`) and in
    FLOPs and parameters (`costs`: the model's row of `cost.costs_table`)."""
    parts = ", ".join(f"{_ms(row['modulation layers ms'])} ms of {_ms(row['forward ms'])} ms "
                      f"({100 * row['modulation share of time']:.1f}%) at batch {batch}"
                      for batch, row in times.iterrows())
    return (f"In {model} the modulation layers alone take {parts} (this machine, medians), while they hold "
            f"{100 * costs['modulation share of parameters']:.1f}% of the parameters and compute "
            f"{100 * costs['modulation share of FLOPs']:.2f}% of the FLOPs of a forward pass. Compressing them can "
            f"save at most their share of the time.")


def compression_sentence(table, model, repeats, costs):
    """What compressing saves, per compressed row: parameters, checkpoint bytes, forward time per batch size, and the
    share of the forward pass's FLOPs it can remove at most (`costs`: the model's row of `cost.costs_table`)."""
    dense = table.loc["dense"]
    width = int(dense["kept coordinates r"])
    batches = [c.removeprefix("time saved, batch ") for c in table.columns if c.startswith("time saved, batch ")]
    lines = []
    for label, row in table.drop(index="dense").iterrows():
        times = ", ".join(f"{_ms(dense[f'ms, batch {b}'])} -> {_ms(row[f'ms, batch {b}'])} ms at batch {b} "
                          f"({-100 * row[f'time saved, batch {b}']:+.0f}%)" for b in batches)
        flops = costs["modulation share of FLOPs"] * (1 - row["kept coordinates r"] / width)
        lines.append(f"- {label}: {100 * row['parameters saved']:.1f}% fewer parameters "
                     f"({dense['checkpoint (MB)'] - row['checkpoint (MB)']:.3g} MB less checkpoint), "
                     f"{100 * flops:.2f}% fewer FLOPs; forward time {times}.")
    return (f"In {model} the modulation layers hold {100 * costs['modulation share of parameters']:.1f}% of the "
            f"parameters and compute {100 * costs['modulation share of FLOPs']:.2f}% of the FLOPs of a forward pass "
            f"(section 1). Compressing them, measured on this machine (each time a median of {repeats} repeats, "
            f"dense and compressed in turns; the change is against the dense time of the same turns):\n"
            + "\n".join(lines) +
            "\n\nWhat this saves is parameters, memory and the bytes read per step; what it does not save is "
            "arithmetic: the modulation layers run once per sample while attention and the MLPs run once per token, "
            "so deleting columns removes at most the FLOPs share above. A forward pass's time falls by more than that "
            "only where reading the modulation weights, not computing, sets the pace (small batches, large models)."
            + _slower_clause(table.drop(index="dense")[[f"time saved, batch {b}" for b in batches]]))


def _slower_clause(saved):
    """A sentence on the compressed rows that ran slower than the dense network, if any (`saved`: time saved)."""
    slower = int((saved < 0).sum().sum())
    if not slower:
        return ""
    return (f" {slower} of the {saved.size} compressed timings ran slower than the dense network: the gather of c (an "
            f"index_select behind a hook on the modulation layers) adds a fixed cost per forward pass that a small "
            f"network's removed columns do not repay, and differences of a few percent are within this machine's "
            f"noise.")


def _first_within(points, kind, metric):
    """The smallest r whose row stays within noise of the baseline in `metric`, or None."""
    quiet = points[(points["kind"] == kind) & (points["metric"] == metric) & (points["verdict"] == "within noise")]
    return None if quiet.empty else int(quiet["r"].min())


def _fewest(points, metric, largest):
    """'fid: fewest kept within noise of the baseline, coordinates r = 16; directions none up to r = 64'."""
    parts = []
    for kind in KINDS:
        r = _first_within(points, kind, metric)
        parts.append(f"{kind} " + (f"r = {r}" if r is not None else f"none up to r = {largest}"))
    return f"{metric}: fewest kept within noise of the baseline, " + "; ".join(parts)


def directions_sentence(studies, metric):
    """Per model: the fewest coordinates and the fewest directions that keep `metric` and the agreement score within
    noise of the baseline, and, at the eligible ranks only (`verdicts.eligible_ranks`), which of the two is better
    beyond noise (one outcome per rank, over both metrics)."""
    lines = []
    for name, (study, judge) in studies.items():
        metrics = list(dict.fromkeys([metric, judge.agreement.column]))
        points = rank_points(study)
        largest = int(points["r"].max())
        fewest = ". ".join(_fewest(points, m, largest) for m in metrics)
        comparisons = eligible_ranks(study, metrics)
        outcomes = rank_outcomes(comparisons)
        ranks = comparisons["r"].nunique()
        judged = (f"better beyond noise, one outcome per rank over both metrics: "
                  + ", ".join(f"r = {r} {outcome}" for r, outcome in outcomes.items())) if outcomes else \
            "no rank is left to compare"
        protocol = study.protocol
        lines.append(f"- **{name}** (D = {study.dim}; {protocol.seeds} seeds of {protocol.samples_per_seed} "
                     f"samples): {fewest}. {len(outcomes)} of {ranks} ranks are eligible (at least one arm not worse "
                     f"than the baseline beyond noise; where both are, which wreck is less wrecked is not counted); "
                     f"{judged}.")
    return "\n".join(lines)


def status_rows(costs, equal, compression, compressed_model, studies, metric):
    """This run's numbers for the status page: new experiments without paper values, each with its reading."""
    out = [{"table": NEW_TABLE, "row": f"modulation share/{label}", "column": column, "model": label,
            "value": float(row[column]), "reading": f"{column}, counted on the meta device (FlopCounterMode)"}
           for label, row in costs.iterrows() for column in ("modulation share of parameters",
                                                             "modulation share of FLOPs")]
    out.append({"table": NEW_TABLE, "row": "compressed = pruned", "column": "max |pruned - compressed|",
                "model": compressed_model, "value": float(equal["max |pruned - compressed|"].iloc[0]),
                "reading": f"largest pixel difference over {equal.index[0]} samples, same noise (global mask, every "
                           f"step)"})
    for label, row in compression.drop(index="dense").iterrows():
        out.append({"table": NEW_TABLE, "row": f"compressed/{label}", "column": "parameters saved",
                    "model": compressed_model, "value": float(row["parameters saved"]),
                    "reading": "share of the network's parameters removed by compressing its modulation layers"})
    for name, (study, judge) in studies.items():
        for m in dict.fromkeys([metric, judge.agreement.column]):
            for r, h in head_to_head(study, m).iterrows():
                out.append({"table": NEW_TABLE, "row": f"directions - coordinates/r{r}", "column": m, "model": name,
                            "value": float(h["change"]),
                            "reading": f"paired change from r coordinates to r principal directions over "
                                       f"{study.protocol.seeds} seeds ± {h['change_ci95']:.2g}, noise floor "
                                       f"{h['noise_floor']:.2g}: {h['better']}"})
    return out
