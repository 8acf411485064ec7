"""Table 2's rows as pruning specs: the paper's thresholds and schedules, mapped onto any model, plus sweeps.

A paper row id such as "tail_tau0.01_first_step" names what is zeroed, the threshold and the schedule; the
removed count of REPA's row (of d = 1152) gives the share of dimensions a `fraction` mapping removes.
"""
from dataclasses import replace

from ...condition.prune import PruneSpec, count_readings
from ...paper import paper_table, paper_value

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


def extra_specs(dim, mapping, reading, k, other_reading=False, tail_fractions=(), head_dims=(), k_values=()):
    """Rows beyond the paper's: the tau=0.01 rows with the other mask reading, and sweeps over the share and k.

    Sweep rows prune every step with the per-sample reading, by share of d; the k sweep varies the k of the
    `tail_tau0.01_last_k_steps` row. Names: `<row>@<reading>`, `sweep_tail_<share>`, `sweep_head_<n>dims`, `k_sweep_<k>`.
    """
    out = {}
    if other_reading:
        other = "global" if reading == "per_sample" else "per_sample"
        out.update({f"{row}@{other}": spec for row, spec in row_specs(mapping, other, k).items()
                    if row.startswith("tail_tau0.01_")})
    for f in tail_fractions:
        out[f"sweep_tail_{f:.3f}"] = PruneSpec("tail", fraction=f)
    for n in head_dims:
        out[f"sweep_head_{n}dims"] = PruneSpec("head", fraction=n / dim)
    base = row_specs(mapping, reading, k)["tail_tau0.01_last_k_steps"]
    for kk in k_values:
        out[f"k_sweep_{kk}"] = replace(base, k=kk)
    return out


def removed_dims_readings(embedding, step_timesteps):
    """How many of d coordinates each of the paper's thresholds removes under each mask reading, beside the paper."""
    thresholds = [(info[0], info[1], round(info[3] * PAPER_D)) for info in paper_rows().values()
                  if info is not None and info[2] == "every_step"]
    return count_readings(embedding, thresholds, step_timesteps,
                          paper_column="paper (REPA; also MG and LightningDiT at τ=0.01)")


def table2_specs(params, dim):
    """Every row a pruning chapter runs for a model of width `dim`: Table 2's rows and the sweeps, from its parameters."""
    return {**row_specs(params.row_mapping, params.mask_reading, params.last_k),
            **extra_specs(dim, params.row_mapping, params.mask_reading, params.last_k, params.other_reading_rows,
                          params.sweep_tail_fractions, params.sweep_head_dims, params.sweep_k)}
