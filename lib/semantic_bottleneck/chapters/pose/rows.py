"""The pruning rows of the pose-guided chapter: Table 7's tau = 0.1 row and shares of removed dimensions, tail and
head, under each mask reading.

Row ids: `tail_tau0.1` (the paper's threshold), `<part>_<share>pct` (that share of D zeroed: the tail's smallest
|c_i| or the head's largest), with `@global` appended under the global mask reading (one mask from the mean c
over reference pairs at t0) when it is not the first reading. Every row prunes at every step.
Beside the paper's ranking by |c_i|, each ranking of `rankings` (`condition.reach`: `silu`, `contribution`) adds a
tail and a head row at Table 7's share, per sample: `<part>_40pct_by_<ranking>`.
"""
from ...condition.prune import PARTS, PruneSpec
from ...condition.reach import RANKINGS
from ...settings.chapters import PoseSettings

MAPPINGS = ("threshold", "fraction")
PAPER_T7_ROW = "tail_tau0.1_40pct"  # the paper's pruned row: tau = 0.1, which it says removes 40%


def row_id(part, reading, first_reading, tau=None, share=None):
    """The id of one row, e.g. `tail_tau0.1`, `head_75pct@global`."""
    size = f"tau{tau:g}" if tau is not None else f"{round(100 * share)}pct"
    return f"{part}_{size}" + ("" if reading == first_reading else f"@{reading}")


def ranked_row_id(part, ranking):
    """The id of a row at Table 7's share ranked other than by |c_i|, e.g. `tail_40pct_by_contribution`."""
    return f"{part}_{round(100 * paper_share())}pct_by_{ranking}"


def pose_specs(settings: PoseSettings, dim):
    """Every row of the chapter: the baseline, tail tau, and each part and share, under each mask reading; then tail
    and head at Table 7's share under each ranking of `settings.rankings` (per sample)."""
    specs = {"baseline": None}
    first = settings.mask_readings[0]
    for reading in settings.mask_readings:
        specs[row_id("tail", reading, first, tau=settings.tau)] = PruneSpec("tail", tau=settings.tau, reading=reading)
        for part in settings.parts:
            for share in settings.shares:
                specs[row_id(part, reading, first, share=share)] = PruneSpec(part, fraction=share, reading=reading)
    extra = [r for r in RANKINGS if r != "magnitude"]
    if any(r not in extra for r in settings.rankings):
        raise ValueError(f"rankings must hold only {', '.join(extra)} (|c_i| rows are the share rows); "
                         f"got {list(settings.rankings)}")
    for ranking in settings.rankings:
        for part in PARTS:
            specs[ranked_row_id(part, ranking)] = PruneSpec(part, fraction=paper_share(), ranking=ranking)
    return specs


def paper_share():
    """The share of d the paper's Table 7 row says tau = 0.1 removes (0.4)."""
    return int(PAPER_T7_ROW.rsplit("_", 1)[1].removesuffix("pct")) / 100


def table7_row(mapping, tau, shares):
    """Our row standing for the paper's pruned Table 7 row: its threshold (real X-MDPT) or its share (tiny model)."""
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {', '.join(MAPPINGS)}; got {mapping!r}")
    if mapping == "fraction" and paper_share() not in shares:
        raise ValueError(f"shares must include {paper_share():g} (Table 7's share) when the mapping is fraction; "
                         f"got {list(shares)}")
    return f"tail_tau{tau:g}" if mapping == "threshold" else f"tail_{round(100 * paper_share())}pct"
