"""The paper's other conditioning mechanisms on their real checkpoints (appendix Tables 4 and 5), beside its numbers.

`paper_mechanism_rows` reads U-ViT, SD3 and AudioLDM through the registry (`checkpoints.mechanism_readers`) and
measures c at each model's t0 under each reading ("sum" y + t; "concatenation" [t; y] for the two models whose
t and y sit side by side): cosine = mean over distinct pairs of conditions, nPR = mean over conditions, as in the
similarity chapter's Table 4. "y only" is y at its own width under every reading. `paper_mechanism_table_reference`
is the paper's own four columns, for the tiny profile, where nothing is downloaded.
"""
import pandas as pd

from ...checkpoints.mechanism_readers import READINGS, reading_vectors
from ...condition.measure import similarity_row
from ...paper import paper_value
from ...registry import MODELS, load_embedding, model

PAPER_COLUMNS = {"UViT": ("T4", "concatenation (2)"), "SD3.0-2B": ("T5", "AdaLN (1)"),
                 "SD3.0-8B": ("T5", "AdaLN (1)"), "AudioLDM": ("T5", "cross-attention (3)")}  # table, paper's label
STATISTICS = {"cosine (y+t)": ("cosine_y_plus_t", "cosine_mean"),  # column: (paper's row, similarity_row key)
              "nPR (y+t)": ("npr_y_plus_t", "npr_mean_over_classes"),
              "cosine (y only)": ("cosine_y_only", "y_cosine_mean"),
              "nPR (y only)": ("npr_y_only", "y_npr_mean_over_classes")}


def _paper_values(column):
    table = PAPER_COLUMNS[column][0]
    return {f"paper {name}": paper_value(table, row, column) for name, (row, _) in STATISTICS.items()}


def paper_mechanism_rows(models, profile="paper", progress=True):
    """One row per model and reading: mechanism, measured vector, condition set, d, t0, the four statistics, and
    the paper's four values beside them ("paper cosine (y+t)", ...)."""
    rows = []
    for name in models:
        entry = model(name)
        source, embedding = entry.source, load_embedding(name, profile, progress=progress)
        t0 = embedding.info["t0"]
        paper = _paper_values(entry.paper_column) if entry.paper_column in PAPER_COLUMNS else {}
        for reading in source.readings:
            c, y, t = reading_vectors(embedding, reading, t0)
            stats = similarity_row(c, y, t)
            rows.append({"model": name, "reading": f"{reading}: {READINGS[reading]}", "mechanism": source.mechanism,
                         "measured vector": source.measured,
                         "condition set": f"{source.condition_set} ({embedding.num_classes} conditions)",
                         "d": c.shape[1], "t0": t0,
                         **{column: stats[key] for column, (_, key) in STATISTICS.items()},
                         "paper column": entry.paper_column or "", "paper's label": PAPER_COLUMNS.get(
                             entry.paper_column, ("", ""))[1], **paper, "profile": profile})
    return pd.DataFrame(rows)


def registry_mechanism(column):
    """How the registry's reader of a paper column says its condition enters (e.g. AudioLDM: a class embedding
    beside t, where the paper says cross-attention)."""
    entries = [m for m in MODELS.values() if m.paper_column == column]
    if not entries:
        raise ValueError(f"column must be a paper column the registry reads; got {column!r}")
    return entries[0].source.mechanism


def paper_mechanism_table_reference():
    """The paper's own Table 4/5 values for UViT, SD3.0 (2B, 8B) and AudioLDM (labelled as the paper's), with the
    registry's mechanism beside the paper's label."""
    return pd.DataFrame([{"paper column": column, "table": table, "paper's label": label,
                          "registry's mechanism": registry_mechanism(column), **_paper_values(column),
                          "source": f"the paper, Table {table[1]}"}
                         for column, (table, label) in PAPER_COLUMNS.items()])
