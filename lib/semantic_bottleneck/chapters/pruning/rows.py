"""Table 2's rows as pruning specs: the paper's thresholds and schedules, mapped onto any model, plus sweeps.

A paper row id such as "tail_tau0.01_first_step" names what is zeroed, the threshold and the schedule; the
removed count of REPA's row (of d = 1152) gives the share of dimensions a `fraction` mapping removes.
"""
from dataclasses import replace

from ...condition.prune import PruneSpec, count_readings
from ...condition.reach import RANKINGS, check_ranking
from ...paper import paper_table, paper_value
from ...settings.chapters import PruningSettings

PAPER_D = int(paper_value("T1", "d", "REPA"))  # Table 2 counts dimensions of REPA's c
MAPPINGS = ("fraction", "threshold")
T6_ROWS = ("baseline", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps")


def parse_row(row):
    """(part, tau, schedule) of a paper row id such as "tail_tau0.01_first_step"; None for "baseline"."""
    if row == "baseline":
        return None
    part, rest = row.split("_tau", 1)
    tau, schedule = rest.split("_", 1)
    return part, float(tau), schedule


def paper_rows():
    """Table 2's rows: row id -> (part, tau, schedule, removed fraction of d = 1152), baseline -> None."""
    out = {}
    for row in paper_table("T2").index:
        parsed = parse_row(row)
        out[row] = None if parsed is None else (*parsed, paper_value("T2", row, "removed_dims") / PAPER_D)
    return out


def row_specs(mapping, reading="per_sample", k=1):
    """Every Table 2 row as a PruneSpec (None for the baseline).

    `fraction`: the same share of dimensions as the paper's row (removed_dims / 1152), for models whose
    magnitudes differ from REPA's; `threshold`: the paper's tau itself.
    """
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {', '.join(MAPPINGS)}; got {mapping!r}")
    out = {}
    for row, info in paper_rows().items():
        if info is None:
            out[row] = None
            continue
        part, tau, schedule, fraction = info
        size = {"fraction": fraction} if mapping == "fraction" else {"tau": tau}
        out[row] = PruneSpec(part, reading=reading, schedule=schedule, k=k, **size)
    return out


def extra_specs(settings: PruningSettings, dim):
    """Rows beyond the paper's, from the chapter's settings: the tau=0.01 rows with the other mask reading
    (`other_reading_rows`) and pruning the conditional branch only (`branch_rows`), and sweeps over the share
    removed (`sweep_tail_fractions`, `sweep_head_dims`; every step, per sample) and over k (`sweep_k`).

    Names: `<row>@<reading>`, `<row>@conditional`, `sweep_tail_<share>`, `sweep_head_<n>dims`, `k_sweep_<k>`,
    and the SiLU-aware rows `<row>@<ranking>` (`ranking_specs`).
    """
    paper = row_specs(settings.row_mapping, settings.mask_reading, settings.last_k)
    tau_rows = {row: spec for row, spec in paper.items() if row.startswith("tail_tau0.01_")}
    out = {}
    if settings.other_reading_rows:
        other = "global" if settings.mask_reading == "per_sample" else "per_sample"
        out.update({f"{row}@{other}": replace(spec, reading=other) for row, spec in tau_rows.items()})
    if settings.branch_rows:
        out.update({f"{row}@conditional": replace(spec, branch="conditional") for row, spec in tau_rows.items()})
    for f in settings.sweep_tail_fractions:
        out[f"sweep_tail_{f:.3f}"] = PruneSpec("tail", fraction=f)
    for n in settings.sweep_head_dims:
        out[f"sweep_head_{n}dims"] = PruneSpec("head", fraction=n / dim)
    for k in settings.sweep_k:
        out[f"k_sweep_{k}"] = replace(paper["tail_tau0.01_last_k_steps"], k=k)
    out.update(ranking_specs(settings.rankings, settings.ranking_rows, settings.mask_reading))
    return out


def ranking_specs(rankings, paper_row_ids, reading="per_sample"):
    """The every-step paper rows `paper_row_ids` ranked by each of `rankings` (`condition.reach`: silu, contribution)
    instead of |c_i|, named `<row>@<ranking>`.

    Each zeroes the paper row's share of d (its removed count of 1152), whatever the row mapping, so it zeroes as
    many coordinates as the magnitude row of a `fraction` mapping and differs from it only in which.
    """
    every_step = {row: info for row, info in paper_rows().items() if info is not None and info[2] == "every_step"}
    out = {}
    for ranking in rankings:
        check_ranking(ranking)
        if ranking == "magnitude":
            raise ValueError(f"rankings must name rankings other than magnitude (the main rows'): one of "
                             f"{', '.join(RANKINGS[1:])}; got 'magnitude'")
        for row in paper_row_ids:
            if row not in every_step:
                raise ValueError(f"ranking_rows must be every-step rows of Table 2 ({', '.join(every_step)}); "
                                 f"got {row!r}")
            part, _, _, fraction = every_step[row]
            out[f"{row}@{ranking}"] = PruneSpec(part, fraction=fraction, reading=reading, ranking=ranking)
    return out


def removed_dims_readings(embedding, step_timesteps):
    """How many of d coordinates each of the paper's thresholds removes under each mask reading, beside the paper."""
    thresholds = [(info[0], info[1], round(info[3] * PAPER_D)) for info in paper_rows().values()
                  if info is not None and info[2] == "every_step"]
    return count_readings(embedding, thresholds, step_timesteps,
                          paper_column="paper (REPA; also MG and LightningDiT at τ=0.01)")


def table2_specs(settings: PruningSettings, dim):
    """Every row a pruning chapter runs for a model of width `dim`: Table 2's rows and the sweeps, from its settings."""
    return {**row_specs(settings.row_mapping, settings.mask_reading, settings.last_k), **extra_specs(settings, dim)}
