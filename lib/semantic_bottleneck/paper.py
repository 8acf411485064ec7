"""The paper's own numbers (Tables 1-7), read from the one data file that holds them.

Values are stored as fractions where the paper prints percentages; `printed` keeps the paper's text.
"""
from functools import lru_cache
from importlib import resources

import pandas as pd

TABLE_MODELS = {"T1": ["DiT", "SiT", "MDT", "LightningDiT", "MG", "REPA", "X-MDPT", "MDSGen"]}


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
