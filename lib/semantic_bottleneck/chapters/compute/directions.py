"""A few coordinates or a few directions: the rows, the judges and the comparisons of section 3.

At each rank r a study runs two rows on the baseline's noise: `coordinates_r<r>` keeps the r largest coordinates of
the mean c at t0 (the global mask, as the compressed network of section 2) and `directions_r<r>` projects c onto
its top r principal directions over the model's reference conditions and the sampler's timesteps
(`condition.project`). Both are rank-r orthogonal projections of c; they differ only in which subspace they keep.
"""
import pandas as pd

from ...condition.project import ProjectSpec, kept_energy, principal_directions, vectors_over_steps
from ...condition.prune import PruneSpec, global_mask
from ...devices import cpu_threads
from ...judge.paired_seeds import summarise
from ...registry import load_network
from ...sampling.generate import timesteps
from ...study.judges import build_judge, judge_entry
from ...study.protocol import run_study
from ...settings.chapters import ComputeSettings

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


def run_studies(settings: ComputeSettings, progress=True):
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
