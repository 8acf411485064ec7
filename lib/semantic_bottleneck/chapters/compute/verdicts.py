"""The compute chapter's closing verdicts, computed from its tables (`chapters.verdicts.Verdict` rows).

The paper's Fig. 42 draws dense against sparse conditioning and claims lower computation and a faster runtime for
the sparse vector, without numbers. Its claim is read three ways here: parameters, FLOPs and time. A share of the
whole below `NEGLIGIBLE` counts as no saving (this chapter's rule: the paper gives none); time is judged by the
quartiles of the paired per-turn savings (`cost.saving_quartiles`). Directions against coordinates is judged per
model, only at ranks r where at least one arm is not worse than the unpruned baseline beyond noise (`eligible_ranks`):
where both arms are destroyed, which of two wrecks is less wrecked says nothing about the semantics.
"""
import pandas as pd

from ...devices import resolve_device
from ...paper import paper_value
from ...settings.chapters import ComputeSettings
from ..verdicts import SEED_SCOPE, Verdict
from .study import LOWER_IS_BETTER
from .tables import head_to_head, rank_points

NEGLIGIBLE = 0.01  # a share of a network's parameters or FLOPs below this counts as no saving
FLOAT_TOLERANCE = 1e-4  # largest pixel difference (per unit of the largest |pixel|) that is float rounding
FIG_42 = ("Fig. 42 (no numbers): sparse conditioning lowers the computation overhead and runs faster; the paper "
          "ends on 'opportunities for more efficient conditioning mechanisms'")


def _range(values, scale=100, digits=3):
    """'a-b%' of a series of shares (one value when they agree to the digits shown)."""
    low, high = (f"{scale * v:.{digits}g}" for v in (min(values), max(values)))
    return f"{low}%" if low == high else f"{low}-{high}%"


def _official(costs, tiny):
    """The rows of `costs` that are official layouts (the others are the tiny models named in `tiny`)."""
    return costs.drop(index=[name for name in tiny if name in costs.index])


def cost_verdicts(costs, tiny, profile):
    """Parameters and FLOPs (`cost.costs_table`; `tiny`: the tiny models' row names): is there a share to save?"""
    official, small = _official(costs, tiny), costs.loc[[name for name in tiny if name in costs.index]]
    model = (f"{len(official)} official layouts at their released sizes (counted on the meta device, no weights); "
             f"the tiny models of the {profile} profile")
    shares, flops = official["modulation share of parameters"], official["modulation share of FLOPs"]
    source = official["of which source-latent pass (GFLOP)"]
    source_text = (f"; X-MDPT's counts include the official forward's second pass of every block over the source "
                   f"latent ({_gflop(source)} GFLOP per sample)" if source.gt(0).any() else "")
    rule = f"counts (no noise); a share below {100 * NEGLIGIBLE:g}% of the network counts as no saving (our rule)"
    return [
        Verdict("sparse conditioning saves parameters", FIG_42,
                f"the adaLN modulation layers hold {_range(shares)} of the parameters (tiny models: "
                f"{_range(small['modulation share of parameters'])}); head-only conditioning deletes the zeroed share "
                "of their input columns", "reproduced" if shares.min() >= NEGLIGIBLE else "not reproduced", rule,
                model),
        Verdict("sparse conditioning saves computation", FIG_42,
                f"the modulation layers compute {_range(flops, digits=2)} of the FLOPs of a forward pass (tiny models: "
                f"{_range(small['modulation share of FLOPs'], digits=2)}): they run once per sample, the rest once per "
                f"token, so deleting their columns removes at most that share{source_text}",
                "reproduced" if flops.max() >= NEGLIGIBLE else "not reproduced", rule, model)]


def _gflop(series):
    """The non-zero values of a series of GFLOP, joined by their row names."""
    return ", ".join(f"{name} {value:.3g}" for name, value in series[series > 0].items())


def equality_verdict(equal, model, profile, seed):
    """The compressed network against the pruned sampler (`study.pruned_against_compressed`'s one-row table)."""
    row = equal.iloc[0]
    difference, scale = float(row["max |pruned - compressed|"]), max(1.0, float(row["max |pixel|"]))
    return Verdict("zeroing the tail equals deleting it",
                   "implied by Fig. 42's sparse vector (SiLU(0) = 0, so a zeroed coordinate adds nothing to any "
                   "modulation layer); not measured in the paper",
                   f"largest pixel difference {difference:.3g} between {model} under the pruner and its compressed "
                   f"network (kept {row['kept coordinates r']}), {equal.index[0]} samples on the same noise "
                   f"(largest |pixel| {row['max |pixel|']:.3g})",
                   "reproduced" if difference <= FLOAT_TOLERANCE * scale else "not reproduced",
                   f"float rounding: at most {FLOAT_TOLERANCE:g} x the largest |pixel| (our rule)",
                   f"{model}, profile {profile}, seed {seed}")


def _batches(table):
    return [c.removeprefix("time saved, batch ") for c in table.columns if c.startswith("time saved, batch ")]


def time_verdict(compression, rows, model, profile, machine):
    """Forward time of the compressed `rows` of `cost.compression_table` against the dense network, per batch size:
    faster (or slower) beyond noise when the quartiles of the paired per-turn savings lie above (below) zero.
    Reproduced when most timings are faster and none slower; inverted when most are slower and none faster."""
    faster, slower, parts = 0, 0, []
    for label in rows:
        for b in _batches(compression):
            row = compression.loc[label]
            low, high = row[f"time saved q25, batch {b}"], row[f"time saved q75, batch {b}"]
            faster, slower = faster + int(low > 0), slower + int(high < 0)
            parts.append(f"{label}, batch {b}: {100 * row[f'time saved, batch {b}']:+.0f}% between median times, "
                         f"paired per-turn savings {100 * low:+.0f}% to {100 * high:+.0f}% (quartiles)")
    cells = len(parts)
    most = cells // 2 + 1
    verdict = ("reproduced" if faster >= most and not slower else "inverted" if slower >= most and not faster
               else "not reproduced")
    return Verdict("sparse conditioning runs faster", FIG_42,
                   f"forward time saved by the compressed network at Table 2's kept shares: {'; '.join(parts)}; "
                   f"faster beyond noise in {faster} of {cells}, slower in {slower}",
                   verdict, "quartiles of the paired per-turn savings (dense and compressed in turns): beyond noise "
                            "when both lie on one side of zero", f"{model}, profile {profile}, {machine}")


def _not_worse(point):
    """Whether a rank row is within noise of the baseline or better than it beyond noise."""
    if point["verdict"] == "within noise":
        return True
    return point["verdict"] == "larger than noise" and (point["delta"] < 0) == (point["metric"] in LOWER_IS_BETTER)


def eligible_ranks(study, metrics):
    """Per rank r and metric: which arms are not worse than the baseline beyond noise, whether the comparison is
    eligible (at least one is), and which arm `head_to_head` finds better beyond noise."""
    points = rank_points(study)
    rows = []
    for metric in metrics:
        for r, h in head_to_head(study, metric).iterrows():
            arms = points[(points["r"] == r) & (points["metric"] == metric)]
            alive = [p["kind"] for _, p in arms.iterrows() if _not_worse(p)]
            rows.append({"r": r, "metric": metric, "not worse than baseline": ", ".join(alive) or "neither",
                         "eligible": bool(alive), "better": h["better"]})
    return pd.DataFrame(rows)


def rank_outcomes(comparisons):
    """One outcome per eligible rank of `eligible_ranks`' table: the arm better beyond noise in some eligible metric
    and worse in none ("directions", "coordinates"), "mixed", or "within noise"; nested r and the two metrics are not
    counted as independent wins."""
    out = {}
    for r, group in comparisons[comparisons["eligible"]].groupby("r"):
        winners = set(group["better"]) - {"within noise"}
        out[int(r)] = winners.pop() if len(winners) == 1 else "mixed" if winners else "within noise"
    return out


def direction_verdict(name, study, metrics, profile):
    """One verdict per model: do r coordinates keep c's semantics as well as r principal directions?"""
    comparisons = eligible_ranks(study, metrics)
    outcomes = rank_outcomes(comparisons)
    ranks = sorted(int(r) for r in comparisons["r"].unique())
    judged = ", ".join(f"r = {r}: {outcome}" for r, outcome in outcomes.items())
    this_build = (f"{len(outcomes)} of {len(ranks)} ranks eligible (r = {', '.join(map(str, ranks))}; eligible where "
                  f"at least one arm is not worse than the unpruned baseline beyond noise in {' or '.join(metrics)})"
                  + (f"; better beyond noise: {judged}" if outcomes else ""))
    if not outcomes:
        verdict = "not testable here"
    elif "directions" in outcomes.values() or "mixed" in outcomes.values():
        verdict = "not reproduced"
    else:
        verdict = "reproduced"
    cosine = paper_value("T1", "cosine", "REPA")
    return Verdict("r coordinates keep the semantics as well as r directions",
                   f"the paper keeps coordinates only (the head of |c_i|) and never compares them with principal "
                   f"directions; it reads its cosine (REPA {cosine:.4f}, Table 1) as c lying near one direction",
                   this_build, verdict,
                   f"paired over {study.protocol.seeds} seeds: a difference counts beyond the noise floor with a 95% "
                   f"interval excluding zero; {SEED_SCOPE}",
                   f"{name}, profile {profile}, base seed {study.protocol.seed}")


def verdicts(costs, tiny, equal, compression, paper_rows, studies, metric, settings: ComputeSettings):
    """Every closing verdict of the chapter, in the order of its sections: `costs` (`cost.costs_table`; `tiny` its
    tiny rows), `equal` (`study.pruned_against_compressed`), `compression` (`cost.compression_table`; `paper_rows`
    its rows at Table 2's kept shares), `studies` (`study.run`), `metric` beside each agreement, and the
    notebook's `settings` (compress_model, profile, seed, device, threads)."""
    model, profile = settings.compress_model, settings.profile
    machine = f"timed on {resolve_device(settings.device)}, CPU threads: {settings.threads or 'torch default'}"
    rows = [*cost_verdicts(costs, tiny, profile), equality_verdict(equal, model, profile, settings.seed),
            time_verdict(compression, paper_rows, model, profile, machine)]
    for name, (study, judge) in studies.items():
        rows.append(direction_verdict(name, study, list(dict.fromkeys([metric, judge.agreement.column])), profile))
    return rows
