"""The hypotheses chapter's tables, as the notebook shows them."""
import pandas as pd

from .study import BASE

SWEEP_COLUMNS = ["factor", "seeds", "nPR", "nPR change", "cosine", "cosine change", "class agreement",
                 "label gain", "nPR seed noise"]


def points_table(points):
    """H1: t share, cosine and nPR per model, at each timestep (rows) of each model (columns)."""
    table = points.pivot(index="t", columns="model", values=["t share", "cosine_mean", "npr_mean_over_classes"])
    return table.rename(columns={"cosine_mean": "cosine", "npr_mean_over_classes": "nPR"}, level=0)


def sweep_cells_table(table):
    """H4 and H1's control: what each cell changes from the base and its training cost, one row per cell."""
    first = table.groupby("cell", sort=False).first()
    seconds = table.groupby("cell", sort=False)["train seconds"].sum()
    return first[["factor", "steps", "optimiser", "lr", "weight decay", "label dropout", "t enters"]].assign(
        **{"seeds": table.groupby("cell", sort=False).size(), "train seconds (all seeds)": seconds})


def effects_table(effects):
    """H4: each cell's end-of-run statistics (mean over seeds) and its paired change from the base cell."""
    return effects[SWEEP_COLUMNS]


def h2_table(summary):
    """H2: class agreement and distance to the unpruned samples per row: mean, 95% interval, paired change, noise
    floor and verdict (`judge.paired_seeds.summarise`)."""
    return summary.set_index(["row", "metric"])[["mean", "ci95", "delta", "delta_ci95", "noise_floor", "verdict"]]


def unet_beside_dits(unet, dits):
    """The U-Net arms beside the DiTs: cosine, nPR, class agreement and label gain of the vector each one's blocks
    receive."""
    columns = ["model", "arm", "seed", "width", "cosine_mean", "npr_mean_over_classes", "class agreement",
               "label gain"]
    return pd.concat([unet[columns + ["t share"]], dits[columns]], ignore_index=True).rename(
        columns={"cosine_mean": "cosine", "npr_mean_over_classes": "nPR"})


NEW_TABLE = "hypotheses (new)"  # status-page table of experiments the paper did not run


def status_rows(correlation, h1_models, early_late, h2_model, gains_table, effects, unet):
    """This run's headline numbers for the status page, one per test: H1's rho, H2's late minus early, H3's head
    gain ratio per model, H4's nPR change per cell, the U-Net's cosine per arm."""
    rows = [{"table": NEW_TABLE, "row": "H1/t share vs cosine", "column": "spearman_rho", "model": ", ".join(h1_models),
             "value": correlation["rho"], "reading": f"over {correlation['points']} (model, t) points, "
                                                     f"p = {correlation['p']:.2g}"},
            {"table": NEW_TABLE, "row": "H2/tail effect, last k minus first k steps", "column": "relative_change",
             "model": h2_model, "value": float(early_late["late minus early"].mean()),
             "reading": f"mean over {len(early_late)} seed blocks"}]
    rows += [{"table": NEW_TABLE, "row": "H3/head gain", "column": "head_gain_over_mean_gain", "model": name,
              "value": float(row["head gain / mean gain"]),
              "reading": f"random sets of the head's size: {row['null low']:.3f} to {row['null high']:.3f}"}
             for name, row in gains_table.iterrows()]
    rows += [{"table": NEW_TABLE, "row": f"H4/{cell}", "column": "npr_change", "model": "small DiT",
              "value": float(row["nPR change"]), "reading": f"paired change from the base cell, mean over "
                                                            f"{int(row['seeds'])} seeds; seed noise "
                                                            f"{row['nPR seed noise']:.3f}"}
             for cell, row in effects.iterrows() if cell != BASE]
    rows += [{"table": NEW_TABLE, "row": f"U-Net/{arm}", "column": "cosine_mean", "model": "tiny U-Net",
              "value": float(part["cosine_mean"].mean()), "reading": f"emb at t0 over the classes, mean of "
                                                                     f"{len(part)} seed(s)"}
             for arm, part in unet.groupby("arm")]
    return rows
