"""What of c reaches the modulation, per model: `condition.reach.reach_summary` at t0 as a named table.

The paper ranks coordinates by |c_i|; every modulation layer receives SiLU(c) through a Linear, so the SiLU-aware
readings (|SiLU(c_i)|, and the contribution |SiLU(c_i)| * g_i) are set beside it. Shapes: K classes, D width of c.
"""
import pandas as pd

from ...condition.reach import INERT_BELOW, reach_summary

COLUMNS = {
    "head_dims": "head dims k (largest |mean c_i|)",
    "npr_magnitude": "nPR of |c| (paper)",
    "npr_silu": "nPR of |SiLU(c)|",
    "npr_contribution": "nPR of the contribution",
    "head_share_magnitude": "|c|-head's share of |c|",
    "head_share_silu": "|c|-head's share of |SiLU(c)|",
    "head_share_contribution": "|c|-head's share of the contribution",
    "contribution_head_share": "contribution head's share of the contribution",
    "head_overlap": "share of the |c|-head in the contribution head",
    "inert_head": f"inert |c|-head dims (mean c_i < {INERT_BELOW:.2f})",
}


def reach_rows(vectors, gains, head_fraction):
    """model -> `reach_summary` of its c (K, D) at t0, with the width d added."""
    return {name: {**reach_summary(c, gains[name], head_fraction), "d": c.shape[1]} for name, c in vectors.items()}


def reach_table(rows):
    """One row per model: nPR under each ranking and what the |c|-head carries of each, named for the reader."""
    return pd.DataFrame({name: {label: r[key] for key, label in COLUMNS.items()} for name, r in rows.items()}).T
