"""The similarity chapter's tables: Tables 1 and 4 beside the paper, every reading of the ambiguous statistics,
SiLU(c) beside c, the models, the sample check, and the status-page rows."""
import pandas as pd

from ...paper import TOLERANCE, paper_table, paper_value
from ...registry import family_facts, paper_column


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
