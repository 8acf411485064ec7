"""The similarity section's analyses: cosine matrices, Table 1/4 rows, cosine across timesteps."""
import numpy as np
import pandas as pd
import torch.nn.functional as F

from ...condition.measure import cosine_summary, npr_readings, similarity_row
from ...paper import TOLERANCE, paper_table, paper_value
from ...registry import family_facts, paper_column


def first_step_row(embedding):
    """d, PR, nPR (both readings), cosine (both reductions) of c and of y alone, at the model's t0."""
    t0 = embedding.info["t0"]
    return similarity_row(embedding.c(t0), embedding.label(), embedding.time([t0])[0])


def silu_row(embedding):
    """Cosine (both reductions) and nPR (both readings) of SiLU(c) at t0: what every modulation Linear receives."""
    passed = F.silu(embedding.c(embedding.info["t0"]).double())
    return {**cosine_summary(passed), **npr_readings(passed)}


def silu_beside_c(rows, silu_rows):
    """Cosine and nPR of c (the paper's statistic) beside the same of SiLU(c), one row per model."""
    keys = {"cosine_mean": "cosine: mean over pairs", "cosine_min": "cosine: min over pairs",
            "npr_mean_over_classes": "nPR: mean over class vectors", "npr_of_mean_vector": "nPR: of the mean vector"}
    return pd.DataFrame([{"model": name, "vector": vector, **{label: r[k] for k, label in keys.items()}}
                         for name in rows for vector, r in (("c (paper)", rows[name]),
                                                            ("SiLU(c) (what the Linear receives)", silu_rows[name]))]
                        ).set_index(["model", "vector"])


def table1_beside_paper(rows):
    """Table 1 analog: for each model, this build's d, PR, nPR, cosine next to the paper's values.

    `rows` maps model name -> `first_step_row(...)`. The paper's ImageNet columns always appear.
    """
    paper = paper_table("T1").T
    out = [{"model": m, "source": "paper", "d": int(r["d"]), "PR": r["pr"], "nPR": r["npr"], "cosine": r["cosine"]}
           for m, r in paper.iterrows()]
    for name, r in rows.items():
        out.append({"model": name, "source": "this build", "d": r["d"], "PR": r["pr_mean_over_classes"],
                    "nPR": r["npr_mean_over_classes"], "cosine": r["cosine_mean"],
                    "nPR (of mean vector)": r["npr_of_mean_vector"], "cosine (min pair)": r["cosine_min"]})
    return _with_differences(pd.DataFrame(out), rows, ["PR", "nPR", "cosine"])


def _with_differences(frame, rows, columns):
    """Add a 'this build - paper' row under every real model that has a paper column."""
    extra = []
    for name in rows:
        if paper_column(name):
            ours = frame[(frame["model"] == name) & (frame["source"] == "this build")][columns].iloc[0]
            paper = frame[(frame["model"] == paper_column(name)) & (frame["source"] == "paper")][columns].iloc[0]
            extra.append({"model": name, "source": "difference (this build - paper)", **(ours - paper).to_dict()})
    return pd.concat([frame, pd.DataFrame(extra)]).set_index(["model", "source"])


def table4_beside_paper(rows):
    """Table 4 analog: cosine and nPR of y + t and of y alone, this build beside the paper."""
    paper = paper_table("T4").T
    out = [{"model": m, "source": "paper", "cosine (y+t)": r["cosine_y_plus_t"], "nPR (y+t)": r["npr_y_plus_t"],
            "cosine (y only)": r["cosine_y_only"], "nPR (y only)": r["npr_y_only"]} for m, r in paper.iterrows()]
    for name, r in rows.items():
        out.append({"model": name, "source": "this build", "cosine (y+t)": r["cosine_mean"],
                    "nPR (y+t)": r["npr_mean_over_classes"], "cosine (y only)": r["y_cosine_mean"],
                    "nPR (y only)": r["y_npr_mean_over_classes"], "share of |c|^2 along t": r["t_share"]})
    return _with_differences(pd.DataFrame(out), rows, ["cosine (y+t)", "nPR (y+t)", "cosine (y only)", "nPR (y only)"])


def readings_table(rows):
    """Every reading of the ambiguous statistics side by side, one row per model."""
    keys = {"cosine_mean": "cosine: mean over pairs", "cosine_min": "cosine: min over pairs",
            "npr_mean_over_classes": "nPR: mean over class vectors", "npr_of_mean_vector": "nPR: of the mean vector",
            "y_cosine_mean": "y only cosine: mean", "y_cosine_min": "y only cosine: min",
            "y_npr_mean_over_classes": "y only nPR: mean over classes", "y_npr_of_mean_vector": "y only nPR: of mean vector",
            "t_share": "share of |c|^2 along t"}
    return pd.DataFrame({name: {label: r[k] for k, label in keys.items()} for name, r in rows.items()})


def cosine_across_timesteps(embedding, timesteps):
    """Mean/min pairwise cosine and nPR of c at each timestep (Appendix A.2)."""
    out = []
    for t in timesteps:
        c = embedding.c(float(t))
        out.append({"t": float(t), **cosine_summary(c), **npr_readings(c)})
    return pd.DataFrame(out)


def timestep_grid(embedding, points=25):
    """Timesteps spanning the model's schedule: 0..999 for integer-t families, [0, 1] for continuous t."""
    if embedding.info["t0"] > 1:
        return np.unique(np.linspace(0, 999, points).round())
    return np.linspace(0.0, 1.0, points)


def status_rows(rows):
    """This build's numbers in the status-page format (table, row, column, reading, value)."""
    out = []
    for name, r in rows.items():
        column = paper_column(name) or name
        for table, row, reading, value in [
            ("T1", "pr", "mean over class vectors", r["pr_mean_over_classes"]),
            ("T1", "npr", "mean over class vectors", r["npr_mean_over_classes"]),
            ("T1", "npr", "of the mean vector", r["npr_of_mean_vector"]),
            ("T1", "cosine", "mean over pairs", r["cosine_mean"]),
            ("T1", "cosine", "min over pairs", r["cosine_min"]),
            ("T4", "cosine_y_only", "mean over pairs", r["y_cosine_mean"]),
            ("T4", "npr_y_only", "mean over class vectors", r["y_npr_mean_over_classes"]),
        ]:
            out.append({"table": table, "row": row, "column": column, "model": name, "reading": reading, "value": value})
    return out


def model_summary(embeddings):
    """One row per model: family, width, classes, t0, time convention and the weights' license."""
    return pd.DataFrame([{"model": name, "family": e.info.get("family"), "d": e.dim, "classes": e.num_classes,
                          "t0": e.info["t0"], "time convention": e.info.get("time_convention", ""),
                          "license": family_facts(e.info["family"]).license}
                         for name, e in embeddings.items()]).set_index("model")


READINGS = {("T1", "cosine"): {"mean over pairs": "cosine_mean", "min over pairs": "cosine_min"},
            ("T1", "npr"): {"mean over class vectors": "npr_mean_over_classes", "of the mean vector": "npr_of_mean_vector"},
            ("T4", "cosine_y_only"): {"mean over pairs": "y_cosine_mean", "min over pairs": "y_cosine_min"},
            ("T4", "npr_y_only"): {"mean over class vectors": "y_npr_mean_over_classes",
                                   "of the mean vector": "y_npr_of_mean_vector"}}


def paper_agreement(rows):
    """For each real model and ambiguous statistic: every reading, the closest one, and whether any matches."""
    out = []
    for name, r in rows.items():
        if not paper_column(name):
            continue
        for (table, row), readings in READINGS.items():
            paper = paper_value(table, row, paper_column(name))
            values = {label: r[key] for label, key in readings.items()}
            closest = min(values, key=lambda label: abs(values[label] - paper))
            tol = TOLERANCE["cosine" if "cosine" in row else "npr"]
            out.append({"model": name, "statistic": f"{table} {row}", "paper": paper, **values,
                        "closest reading": closest,
                        "verdict": "matches" if abs(values[closest] - paper) <= tol else f"no reading within {tol}"})
    return pd.DataFrame(out)


def sample_check_table(check):
    """The tiny sample check as a small table."""
    return pd.DataFrame({"value": {
        "samples": len(check["labels"]),
        "class agreement of samples": check["agreement"],
        "classifier accuracy, held-out real images": check["classifier_heldout_accuracy"],
        "class agreement, real images of the same labels": check["agreement_on_real_images"],
    }})


def by_time_convention(embeddings):
    """Group model names into integer-t and continuous-t families."""
    groups = {}
    for name, e in embeddings.items():
        key = "integer DDPM timesteps" if e.info["t0"] > 1 else "continuous t in [0, 1]"
        groups.setdefault(key, []).append(name)
    return groups


def describe(rows, profile):
    """Sentences beside the verdicts: where a real model's statistic matches no reading, and what this scale cannot
    show."""
    lines = [f"- **{a['model']}**: {a['statistic']} does not match the paper's {a['paper']:.4g} under any reading "
             f"(closest: {a['closest reading']}, {a[a['closest reading']]:.4g})."
             for a in paper_agreement(rows).to_dict("records") if a["verdict"] != "matches"]
    if profile != "paper":
        lines.append(
            "- What this scale cannot show: the tiny model has tens of classes, a width of at most 128 and minutes "
            "of CPU training, not 1000 classes, d = 1152 and millions of GPU steps. Its numbers test whether the "
            "mechanism (a shared timestep embedding dominating c) appears at all, not the paper's values; those need "
            "the `paper` profile.")
    return "\n".join(lines)
