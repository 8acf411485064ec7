"""What the mechanisms notebook computes: the statistics of each mechanism's vectors, the paper's other models, and the
pruning study (`run(settings, name, judge)`, which serves both the notebook and the `prune` command).

Statistics: each tiny model gives its vectors through the interface of `condition.embedding.ConditionEmbedding`
(`c(t)`, `label()`, `time(t)`; `tiny.classes.mechanism_models.MechanismVectors` for the in-context and cross-attention
models). Which vectors a mechanism has is `readings`: the vector the condition enters the network as, the paper's
"y + t" where the mechanism forms it, and y alone.

The paper's other models (appendix Tables 4 and 5): `paper_mechanism_rows` reads U-ViT, SD3 and AudioLDM through the
registry (`checkpoints.mechanism_readers`) and measures c at each model's t0 under each reading ("sum" y + t;
"concatenation" [t; y] for the two models whose t and y sit side by side): cosine = mean over distinct pairs of
conditions, nPR = mean over conditions, as in the similarity chapter's Table 4. "y only" is y at its own width under
every reading.

Pruning: the same operator where each mechanism's condition enters, judged as the tiny pruning chapter judges. Rows
zero a share of the entering vector's coordinates, per sample, at every step, in the conditional and CFG rows alike:
the tail (smallest |v_i|) and the head (largest). `condition.hooks.hook_points` puts the hooks on every
`adaLN_modulation` (adaLN-Zero) or on the `condition_entry` layer (in-context, cross-attention), so one `Pruner`
serves all three. Every model runs the same protocol, so its baseline row is also its sample quality at equal
training.
"""
import pandas as pd

from ...checkpoints.mechanism_readers import READINGS, reading_vectors
from ...condition.measure import (cosine_summary, dimension_variance, fraction_below, npr_readings, similarity_row,
                                  top_share)
from ...condition.prune import PruneSpec
from ...paper import paper_value
from ...registry import MODELS, load_embedding, model
from ...settings.chapters import MechanismSettings
from ..plans import load, run_plan  # load: the model as the notebook and the prune command load it

ENTERING, SUMMED, Y_ONLY = "entering vector", "y + t (sum)", "y only"


def readings(mechanism, vectors, t):
    """{reading: (K, width) vectors} of one mechanism at timestep t.

    adaLN-Zero: c = t + y is both what enters and the paper's "y + t". In-context: the tokens [t; y] enter; their
    sum is the paper's reading of U-ViT's "y + t". Cross-attention: the context tokens enter and are y alone (t
    enters apart, by adaLN-Zero), so it has no "y + t".
    """
    if mechanism == "adaLN-Zero":
        return {ENTERING: vectors.c(t), SUMMED: vectors.c(t), Y_ONLY: vectors.label()}
    if mechanism == "in-context":
        return {ENTERING: vectors.c(t), SUMMED: vectors.summed(t), Y_ONLY: vectors.label()}
    if mechanism == "cross-attention":
        return {ENTERING: vectors.c(t), Y_ONLY: vectors.label()}
    raise ValueError(f"mechanism must be one of adaLN-Zero, in-context, cross-attention; got {mechanism!r}")


def vector_row(vectors, taus, head_fraction):
    """Cosine (mean, min over distinct pairs), nPR (mean over rows, of the mean row), sparsity of the mean row at each
    tau, and the share of the per-dimension variance across classes held by the top `head_fraction` of dimensions."""
    mean = vectors.mean(0)
    return {"width": vectors.shape[1], **cosine_summary(vectors), **npr_readings(vectors),
            **{f"below tau={tau:g}": fraction_below(mean, tau) for tau in taus},
            f"variance share of top {100 * head_fraction:g}%": top_share(dimension_variance(vectors), head_fraction)}


def statistics_table(embeddings, taus, head_fraction):
    """One row per (mechanism, reading) of `embeddings` ({mechanism: vectors object}), each at its t0."""
    rows = []
    for mechanism, vectors in embeddings.items():
        for reading, v in readings(mechanism, vectors, float(vectors.info["t0"])).items():
            rows.append({"mechanism": mechanism, "reading": reading, **vector_row(v, taus, head_fraction)})
    return pd.DataFrame(rows).set_index(["mechanism", "reading"])


PAPER_COLUMNS = {"UViT": ("T4", "concatenation (2)"), "SD3.0-2B": ("T5", "AdaLN (1)"),
                 "SD3.0-8B": ("T5", "AdaLN (1)"), "AudioLDM": ("T5", "cross-attention (3)")}  # table, paper's label
STATISTICS = {"cosine (y+t)": ("cosine_y_plus_t", "cosine_mean"),  # column: (paper's row, similarity_row key)
              "nPR (y+t)": ("npr_y_plus_t", "npr_mean_over_classes"),
              "cosine (y only)": ("cosine_y_only", "y_cosine_mean"),
              "nPR (y only)": ("npr_y_only", "y_npr_mean_over_classes")}


def paper_values(column):
    """The paper's values of one of its columns (`PAPER_COLUMNS`): 'paper <statistic>' -> value, per `STATISTICS`."""
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
        paper = paper_values(entry.paper_column) if entry.paper_column in PAPER_COLUMNS else {}
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


def row_id(part, share):
    """A row's id, e.g. `tail_40pct`."""
    return f"{part}_{100 * share:g}pct"


def mechanism_specs(settings: MechanismSettings, dim):
    """The chapter's rows: the tail at each of `tail_shares`, the head at each of `head_shares` (per sample)."""
    return {**{row_id("tail", s): PruneSpec("tail", fraction=s) for s in settings.tail_shares},
            **{row_id("head", s): PruneSpec("head", fraction=s) for s in settings.head_shares}}


def models(settings: MechanismSettings):
    """The model names whose pruning studies the notebook runs, one per mechanism."""
    return list(settings.mechanisms.values())


def plan(settings: MechanismSettings, name):
    """The studies of one model: label -> (settings, make_specs, sampler preset or None)."""
    return {"pruning": (settings, mechanism_specs, None)}


def run(settings: MechanismSettings, name, judge, progress=True, team=None):
    """Every study of `plan` on one model, scored by `judge`: label -> `study.protocol.Study`."""
    return run_plan(plan(settings, name), name, judge, progress, team)
