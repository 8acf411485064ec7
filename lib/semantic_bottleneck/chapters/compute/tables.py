"""The compute chapter's tables: the energy r coordinates and r directions keep, each rank's quality, the two
head to head, and this run's numbers for the status page."""
import pandas as pd

from ...condition.project import ProjectSpec, kept_energy, principal_directions, vectors_over_steps
from ...condition.prune import global_mask
from ...judge.paired_seeds import summarise
from ...sampling.generate import timesteps
from .study import LOWER_IS_BETTER, parse_row, row_id


def energy_table(studies):
    """Share of c's energy (squared norm over the reference conditions and the sampler's timesteps) that r
    coordinates (the global mask) and r principal directions keep, per model and rank."""
    rows = []
    for name, (study, _) in studies.items():
        vectors = vectors_over_steps(study.embedding, timesteps(study.protocol.sampler))
        for spec in study.specs.values():
            if isinstance(spec, ProjectSpec):
                kept = ~global_mask(study.embedding, study.specs[row_id("coordinates", spec.rank)])
                rows.append({"model": name, "r": spec.rank, "of D": study.dim,
                             "coordinates": kept_energy(vectors, kept.float().diag()[:, kept]),
                             "directions": kept_energy(vectors, principal_directions(vectors, spec.rank))})
    return pd.DataFrame(rows).set_index(["model", "r"])


def rank_points(study):
    """Per row of a study: kind, rank, metric, mean, ci95, change from the baseline and its verdict."""
    out = []
    for h in study.summary.itertuples():
        parsed = parse_row(h.row)
        if parsed is not None and h.metric != "removed_dims":
            out.append({"kind": parsed[0], "r": parsed[1], "metric": h.metric, "mean": h.mean, "ci95": h.ci95,
                        "delta": h.delta, "verdict": h.verdict})
    return pd.DataFrame(out)


def head_to_head(study, metric):
    """Directions against coordinates at each rank, paired over seeds (same noise): both means, the change from
    coordinates to directions with its 95% interval, the noise floor (seed to seed, coordinates row) and which of
    the two is better by more than that floor."""
    long = study.long[study.long["metric"] == metric]
    out = []
    for row, spec in study.specs.items():
        if not isinstance(spec, ProjectSpec):
            continue
        pair = long[long["row"].isin([row_id("coordinates", spec.rank), row])].replace(
            {"row": {row_id("coordinates", spec.rank): "baseline", row: "directions"}})
        h = summarise(pair).set_index("row").loc["directions"]
        better = (h.delta < 0) == (metric in LOWER_IS_BETTER)
        winner = ("directions" if better else "coordinates") if h.verdict == "larger than noise" else "within noise"
        out.append({"r": spec.rank, "coordinates": h["mean"] - h.delta, "directions": h["mean"], "change": h.delta,
                    "change_ci95": h.delta_ci95, "noise_floor": h.noise_floor, "better": winner})
    return pd.DataFrame(out).set_index("r")


NEW_TABLE = "compute (new)"  # status-page table of experiments the paper did not run


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
