"""The paper's own numbers (Tables 1-7), read from the one data file that holds them.

Values are stored as fractions where the paper prints percentages; `printed` keeps the paper's text.
Tables T1-T7 are the paper's tables; table `TEXT` holds numbers quoted in its figures and prose (bounds such
as ">80%" are stored as the bound, with the text in `note`).
"""
from functools import lru_cache
from importlib import resources

import pandas as pd

# How close a real checkpoint's number must be to the paper's to count as reproduced, per statistic.
TOLERANCE = {"cosine": 0.002, "npr": 0.002, "pr": 0.5, "removed_dims": 0, "fid": 0.15, "is": 2.0, "clip": 0.1,
             "precision": 0.01, "recall": 0.01, "ssim": 0.002, "lpips": 0.002, "psnr": 0.05}
MODEL_COLUMN_TABLES = ("T1", "T4", "T5")  # tables whose columns are models; the others' columns are metrics


def cell_model(table, row, column):
    """The paper's model a number belongs to: the column (T1, T4, T5), REPA (T2), X-MDPT (T7), else the row prefix."""
    if table in MODEL_COLUMN_TABLES:
        return column
    return {"T2": "REPA", "T7": "X-MDPT"}.get(table) or row.split("/")[0]


@lru_cache(maxsize=1)
def paper_numbers():
    """Every transcribed number: columns table, row, column, value, printed, note."""
    with resources.files(__package__).joinpath("data/paper_numbers.csv").open() as f:
        return pd.read_csv(f, dtype={"printed": str, "note": str}, keep_default_na=False)


def paper_table(table):
    """One table as rows x columns of values (e.g. `paper_table("T1")`)."""
    numbers = paper_numbers()
    if table not in set(numbers["table"]):
        raise ValueError(f"table must be one of {sorted(set(numbers['table']))}, got {table!r}")
    part = numbers[numbers["table"] == table]
    return part.pivot(index="row", columns="column", values="value").reindex(
        index=list(dict.fromkeys(part["row"])), columns=list(dict.fromkeys(part["column"])))


def paper_value(table, row, column):
    """One number of the paper."""
    numbers = paper_numbers()
    hit = numbers[(numbers["table"] == table) & (numbers["row"] == row) & (numbers["column"] == column)]
    if hit.empty:
        raise KeyError(f"the paper has no number at {table}/{row}/{column}")
    return float(hit["value"].iloc[0])
