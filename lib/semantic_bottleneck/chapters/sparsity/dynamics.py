"""Training dynamics of c on the tiny DiT: Fig. 12 (the main run), Fig. 43 (few timesteps), weight decay (A.3).

A variant run takes the main tiny run's configuration and seed, changes one thing (the number of training
timesteps, or the weight decay), and is shorter; a baseline of the same length changes nothing, and baselines
with other seeds measure how far two runs differ by chance alone. All are cached like every tiny model. Because the learning rate is constant and every random draw comes from the
seed, the baseline is the same computation as the main run's first steps; the notebook checks this on the logs.
"""
from dataclasses import replace
import json

import pandas as pd

from ...condition.embedding import ConditionEmbedding
from ...condition.measure import cosine_summary
from ...tiny.train import first_step_t, load_or_train
from .tables import sparsity_row, variance_row

BASELINE = "baseline"
LOGGED = ["cosine_mean", "cosine_min", "npr_mean_over_classes", "npr_of_mean_vector"]


def variant_configs(base, steps, timestep_counts, weight_decays, log_every, seeds=()):
    """Name -> TrainConfig: the matched baseline, one run per timestep count, weight decay and extra seed."""
    if steps < log_every or log_every < 1:
        raise ValueError(f"steps must be >= log_every >= 1, got steps={steps}, log_every={log_every}")
    for n in timestep_counts:
        if not 1 <= n <= 1000:
            raise ValueError(f"timestep_counts must lie in 1..1000, got {n}")
    if any(w < 0 for w in weight_decays):
        raise ValueError(f"weight_decays must be >= 0, got {list(weight_decays)}")
    short = replace(base, steps=steps, log_every=log_every)
    configs = {BASELINE: short}
    configs.update({f"{n} timesteps": replace(short, num_train_timesteps=n) for n in timestep_counts})
    configs.update({f"weight decay {w:g}": replace(short, weight_decay=w) for w in weight_decays})
    configs.update({f"{BASELINE}, seed {s}": replace(short, seed=s) for s in seeds if s != base.seed})
    return configs


def runs_table(configs):
    """What each run changes with respect to the baseline, and its length."""
    base = configs[BASELINE]
    return pd.DataFrame([{"run": name, "steps": c.steps, "training timesteps": c.num_train_timesteps,
                          "weight decay": c.weight_decay, "lr": c.lr, "seed": c.seed,
                          "changed": "nothing" if c == base else ", ".join(
                              k for k in ("num_train_timesteps", "weight_decay", "seed") if getattr(c, k) != getattr(base, k))}
                         for name, c in configs.items()]).set_index("run")


def train_runs(configs, progress=True):
    """Train (or load from the cache) every run: name -> (model, log, seconds it took to train)."""
    out = {}
    for name, config in configs.items():
        model, log, folder = load_or_train(config, progress)
        seconds = json.loads((folder / "config.json").read_text()).get("train_seconds", float("nan"))
        out[name] = (model, log, seconds)
    return out


def prefix_agreement(main_log, log):
    """Largest difference of the logged statistics between a short run and the main run at the steps both logged."""
    both = main_log.merge(log, on="step", suffixes=("_main", "_short"))
    if both.empty:
        return {"steps_compared": 0, "max_abs_difference": float("nan")}
    diffs = [(both[f"{k}_main"] - both[f"{k}_short"]).abs().max() for k in LOGGED]
    return {"steps_compared": len(both), "max_abs_difference": float(max(diffs))}


def end_of_run_row(model):
    """nPR, cosine and head concentration of a trained tiny DiT's c at t0 = 999."""
    c = ConditionEmbedding.from_state_dict(model.state_dict()).c(first_step_t())
    return {**cosine_summary(c), **sparsity_row(c), **variance_row(c)}


def end_of_run_table(runs):
    """One row per run: final loss, cosine, nPR (both readings), and head concentration of c and its variance."""
    rows = {}
    for name, (model, log, seconds) in runs.items():
        r = end_of_run_row(model)
        rows[name] = {"steps": int(log["step"].iloc[-1]), "loss": log["loss"].iloc[-1], "cosine (mean)": r["cosine_mean"],
                      "nPR (mean over classes)": r["npr_mean_over_classes"], "nPR (mean vector)": r["npr_of_mean_vector"],
                      "‖c‖² share, top 2%": r["energy_top2pct"], "‖c‖² share, top 5%": r["energy_top5pct"],
                      "variance share, top 2%": r["variance_top2pct"], "variance share, top 5%": r["variance_top5pct"],
                      "max |c_i|": r["max_abs"], "median |c_i|": r["median_abs"], "train seconds": seconds}
    return pd.DataFrame(rows).T


def logs_of(runs, names):
    """name -> training log, for the named runs."""
    return {name: runs[name][1] for name in names}


def seed_spread(table):
    """Largest |nPR difference| between the baseline and its other-seed copies at the end (None without copies)."""
    copies = [n for n in table.index if n.startswith(f"{BASELINE}, seed")]
    if not copies:
        return None
    key = "nPR (mean over classes)"
    return float(max(abs(table.loc[n, key] - table.loc[BASELINE, key]) for n in copies))


def describe(table, agreement):
    """Sentences beside the verdicts: whether the short runs extend the main run, and what this scale can show."""
    base = table.loc[BASELINE]
    lines = []
    if agreement["steps_compared"]:
        same = "so the main log extends every short run" if agreement["max_abs_difference"] < 1e-4 else \
            "so the short runs are not exact prefixes of the main run here (threads or hardware changed the arithmetic)"
        lines.append(f"- The {int(base['steps'])}-step baseline and the main run's first {int(base['steps'])} steps "
                     f"differ by at most {agreement['max_abs_difference']:.2g} in the logged cosine / nPR over "
                     f"{agreement['steps_compared']} logged steps, {same}.")
    lines.append("- Each variant is one seed. The paper's runs are REPA-B/2 trained on ImageNet on GPUs; these are "
                 "minutes on a CPU, so they can show the direction of the early dynamics, not the paper's end values.")
    return "\n".join(lines)
