"""The compute chapter's generated sentences.

Every sentence with a number is written here from the run's own tables, so the prose follows the numbers.
"""
from pathlib import Path

from ...cache import cache_root
from .cost import state_bytes
from .study import KINDS
from .tables import rank_points
from .verdicts import eligible_ranks, rank_outcomes


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
