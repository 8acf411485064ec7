"""What the hypotheses notebook computes: one function per test of the paper's Section 6 hypotheses and its U-Net claim.

- H1 (a stable timestep signal aligns c): the share of c's squared norm along t_emb (`condition.measure.time_share`)
  and the cosine of c, per model and timestep; the control trains the small DiT with t added to the tokens instead of
  c (`nets.time_entry`).
- H2 (pruning as noise suppression at late steps): the relative change of the predicted noise when the tail of c is
  zeroed, step by step on the unpruned trajectory; and the samples with the tail zeroed only in the first k or only in
  the last k steps, on the unpruned samples' noise, per seed block (`judge.paired_seeds.summarise`).
- H3 (adaLN amplifies a few coordinates): the gain of each input coordinate over every modulation Linear
  (`registry.load_gains`: weights only for a released checkpoint) of the |c|-head against random sets of its size.
- H4 (implicit sparsity from optimisation): a small, short DiT trained in cells that change one factor of a base cell
  (optimiser, weight decay, training length, label dropout), each with every seed of `sweep_seeds`.
- U-Net: diffusers' `UNet2DModel` trained on the same shapes with and without its timestep embedding
  (`tiny.classes.unet`); its emb (time + class) read by a hook.

Every training run is cached by its configuration (`tiny.train.load_or_train`, `tiny.classes.unet`), so a rerun
resumes, and every random draw comes from a seed. Shapes: K classes, D width of c, N samples.
"""
from dataclasses import asdict, replace
import json
import math

import numpy as np
import pandas as pd
from scipy import stats
import torch

from ...condition.measure import cosine_summary, npr_readings, time_share
from ...condition.prune import Pruner, PruneSpec
from ...condition.reach import reach_summary
from ...devices import cpu_threads
from ...judge.paired_seeds import summarise
from ...nets.dit import DiTConfig
from ...nets.time_entry import TokenTimeConfig
from ...registry import load_embedding, load_gains, load_network, model
from ...sampling.conditions import ClassLabels
from ...sampling.generate import EPSILON_SOLVERS, generate, model_output, timesteps
from ...sampling.presets import preset
from ...sampling.schedule import LinearSchedule
from ...settings.chapters import HypothesesSettings
from ...tiny.classes import shapes
from ...tiny.classes.class_model import load_eval_classifier
from ...tiny.classes.unet import TinyUNetConfig, load_or_train_unet
from ...tiny.train import TrainConfig, first_step_t, load_or_train

T0 = first_step_t()  # every tiny model's first denoising timestep (999)


def interval(values):
    """Mean and 95% t-interval half-width of a list (NaN half-width with fewer than 2 values)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return float(values.mean()), float("nan")
    return float(values.mean()), float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / len(values) ** 0.5)


# ----------------------------------------------------------------------------- H1: t share against cosine

def timestep_grid(t0, points):
    """`points` timesteps over a model's whole time range: integers 0..999 (DDPM time, t0 > 1) or 0..1 (continuous)."""
    return np.linspace(0, 999, points).round() if t0 > 1 else np.linspace(0, 1, points)


def time_share_points(embeddings, points):
    """One row per model and timestep (`points` over its time range): the t share of c and c's cosine and nPR."""
    rows = []
    for name, embedding in embeddings.items():
        for t in timestep_grid(embedding.info["t0"], points):
            c = embedding.c(float(t))
            rows.append({"model": name, "t": float(t), "t share": time_share(c, embedding.time([float(t)])),
                         **cosine_summary(c), **npr_readings(c)})
    return pd.DataFrame(rows)


def share_cosine_correlation(points):
    """Spearman's rho between the t share and the mean cosine over every (model, t) point, its p-value, the count,
    and within each model over its timesteps (`per model`: model -> (rho, p))."""
    rho, p = stats.spearmanr(points["t share"], points["cosine_mean"])
    within = {name: tuple(float(v) for v in stats.spearmanr(part["t share"], part["cosine_mean"]))
              for name, part in points.groupby("model", sort=False)}
    return {"rho": float(rho), "p": float(p), "points": len(points), "models": points["model"].nunique(),
            "per model": within}


# ----------------------------------------------------------------------------- H1 control and H4: the small DiT

BASE = "base"
CONTROL = "t in the tokens"


def small_dit(settings: HypothesesSettings):
    """The small DiT of the sweep: the tiny class model's layout at `sweep_width` x `sweep_depth`, patch 4, its
    label table drawn with std 0.3 as the class model's."""
    return DiTConfig(hidden_size=settings.sweep_width, depth=settings.sweep_depth, num_heads=2, label_init_std=0.3)


def sweep_cells(settings: HypothesesSettings, seed):
    """Cell -> (factor, TrainConfig) for one training seed: the base cell and each cell that changes one factor."""
    base = TrainConfig(model=small_dit(settings), steps=settings.sweep_steps, batch_size=settings.sweep_batch,
                       lr=settings.sweep_lr, max_grad_norm=1.0, log_every=settings.sweep_log_every, seed=seed)
    cells = {BASE: ("base", base)}
    cells.update({f"weight decay {w:g}": ("weight decay", replace(base, weight_decay=w))
                  for w in settings.weight_decays})
    cells["SGD with momentum"] = ("optimiser", replace(base, optimizer="sgd", lr=settings.sgd_lr))
    cells[f"{settings.long_steps} steps"] = ("training length", replace(base, steps=settings.long_steps))
    cells["label dropout 0"] = ("label dropout", replace(base, model=replace(base.model, class_dropout_prob=0.0)))
    cells[CONTROL] = ("H1 control", replace(base, model=TokenTimeConfig(**asdict(base.model))))
    return cells


def train_sweep(settings: HypothesesSettings, progress=True):
    """Train (or read from the cache) every cell at every seed: (cell, seed) -> (factor, config, model, log,
    seconds)."""
    runs = {}
    with cpu_threads(settings.threads):
        for seed in settings.sweep_seeds:
            for cell, (factor, config) in sweep_cells(settings, seed).items():
                network, log, folder = load_or_train(config, progress)
                seconds = json.loads((folder / "config.json").read_text()).get("train_seconds", float("nan"))
                runs[(cell, seed)] = (factor, config, network, log, seconds)
    return runs


def class_agreement(network, classifier, count, seed, sampler="tiny-ddim-10", batch_size=100):
    """Share of `count` samples (labels cycling over the classes, noise from `seed`) the evaluation classifier
    assigns to their own class."""
    k = network.config.num_classes
    samples = generate(network, range(count), seed, preset(sampler), ClassLabels(k), batch_size=batch_size,
                       progress=False)
    with torch.no_grad():
        return (classifier(samples.images).argmax(1) == samples.conditions).float().mean().item()


@torch.no_grad()
def label_gain(network, seed, count=256):
    """How much the network uses its class: 1 - (noise-prediction MSE with the true label) / (MSE with the null label),
    on `count` fresh shapes at uniform timesteps (noise and images from `seed`; 0: the label does not help).
    NaN for a network trained without label dropout: its null label was never trained, so the ratio means nothing."""
    if network.config.class_dropout_prob == 0:
        return float("nan")
    generator = torch.Generator().manual_seed(10_000 + seed)
    k = network.config.num_classes
    x0, labels = shapes.batch(count, generator, network.config.image_size, k)
    schedule = LinearSchedule()
    t = torch.randint(0, schedule.num_timesteps, (count,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = schedule.add_noise(x0, noise, t)
    error = {name: (model_output(network, x_t, t, y) - noise).square().mean().item()
             for name, y in (("label", labels), ("null", torch.full_like(labels, k)))}
    return 1 - error["label"] / error["null"]


def sweep_table(runs, classifier, settings: HypothesesSettings):
    """One row per cell and seed: the factor, steps, what changed, cosine and nPR at the start and end of training
    (c at t0), the class agreement of its samples and its training seconds."""
    rows = []
    with cpu_threads(settings.threads):
        for (cell, seed), (factor, config, network, log, seconds) in runs.items():
            first, last = log.iloc[0], log.iloc[-1]
            rows.append({"cell": cell, "seed": seed, "factor": factor, "steps": config.steps,
                         "optimiser": config.optimizer, "lr": config.lr, "weight decay": config.weight_decay,
                         "label dropout": config.model.class_dropout_prob,
                         "t enters": "tokens" if isinstance(config.model, TokenTimeConfig) else "c",
                         "first logged step": int(first["step"]), "nPR first": first["npr_mean_over_classes"],
                         "nPR": last["npr_mean_over_classes"], "cosine": last["cosine_mean"],
                         "class agreement": class_agreement(network, classifier, settings.quality_samples, seed,
                                                            batch_size=settings.batch_size),
                         "label gain": label_gain(network, seed), "train seconds": seconds})
    return pd.DataFrame(rows)


def training_logs(runs):
    """Long table of every run's log: cell, seed, step, nPR, cosine."""
    return pd.concat([log.assign(cell=cell, seed=seed)[["cell", "seed", "step", "npr_mean_over_classes",
                                                        "cosine_mean"]]
                      for (cell, seed), (_, _, _, log, _) in runs.items()], ignore_index=True)


def factor_effects(table):
    """Per cell other than the base: its mean end nPR and cosine over seeds, the paired change from the base cell of
    the same seed (mean and each seed's), and the seed noise: the largest difference between two seeds of any cell."""
    by_cell = table.set_index(["cell", "seed"])
    noise = table.groupby("cell")["nPR"].agg(lambda v: v.max() - v.min()).max()
    cosine_noise = table.groupby("cell")["cosine"].agg(lambda v: v.max() - v.min()).max()
    agreement_noise = table.groupby("cell")["class agreement"].agg(lambda v: v.max() - v.min()).max()
    gain_noise = table.groupby("cell")["label gain"].agg(lambda v: v.max() - v.min()).max()
    rows = []
    for cell, part in table.groupby("cell", sort=False):
        deltas = [by_cell.loc[(cell, s), "nPR"] - by_cell.loc[(BASE, s), "nPR"] for s in part["seed"]]
        cos_deltas = [by_cell.loc[(cell, s), "cosine"] - by_cell.loc[(BASE, s), "cosine"] for s in part["seed"]]
        agreement = [by_cell.loc[(cell, s), "class agreement"] - by_cell.loc[(BASE, s), "class agreement"]
                     for s in part["seed"]]
        gains = [by_cell.loc[(cell, s), "label gain"] - by_cell.loc[(BASE, s), "label gain"] for s in part["seed"]]
        rows.append({"cell": cell, "factor": part["factor"].iloc[0], "seeds": len(part),
                     "nPR": part["nPR"].mean(), "cosine": part["cosine"].mean(),
                     "class agreement": part["class agreement"].mean(),
                     "nPR change": float(np.mean(deltas)), "nPR changes per seed": [float(d) for d in deltas],
                     "cosine change": float(np.mean(cos_deltas)),
                     "cosine changes per seed": [float(d) for d in cos_deltas],
                     "label gain": part["label gain"].mean(), "agreement change": float(np.mean(agreement)),
                     "label gain change": float(np.mean(gains)), "nPR seed noise": float(noise),
                     "cosine seed noise": float(cosine_noise), "agreement seed noise": float(agreement_noise),
                     "label gain seed noise": float(gain_noise)})
    return pd.DataFrame(rows).set_index("cell")


# ----------------------------------------------------------------------------- H2: where pruning acts

class FirstStepsPruner(Pruner):
    """A `Pruner` whose every-step spec prunes only in the first k steps (the mirror of the `last_k_steps` schedule)."""

    def __init__(self, model, spec, num_steps, k):
        if spec.schedule != "every_step":
            raise ValueError(f"spec.schedule must be every_step for first-k pruning; got {spec.schedule!r}")
        if not 1 <= k <= num_steps:
            raise ValueError(f"k must be in [1, num_steps={num_steps}]; got {k!r}")
        super().__init__(model, spec, num_steps)
        self.active = frozenset(range(k))


def tail_spec(settings: HypothesesSettings, schedule="every_step"):
    """The tail row of H2: the `tail_share` smallest |c_i| of each sample's c, zeroed."""
    return PruneSpec("tail", fraction=settings.tail_share, schedule=schedule, k=settings.k)


def h2_sampler(settings: HypothesesSettings):
    """H2's sampler preset: `h2_sampler`, else the registry's for `h2_model`."""
    return preset(settings.h2_sampler or model(settings.h2_model).sampler)


def _pruned(network, spec, n, k=None):
    """The pruner of a row: first-k (`k` given) or the spec's own schedule."""
    return FirstStepsPruner(network, spec, n, k) if k is not None else Pruner(network, spec, n)


def h2_rows(settings: HypothesesSettings, progress=True):
    """The unpruned samples, the tail zeroed only in the first k and only in the last k steps, on the same noise.

    Returns (long table: row, replicate, metric, value for `summarise`; per-step table; the loaded network; the
    sampler). Metrics per seed block: class agreement and the RMS pixel distance to the unpruned sample.
    """
    config = h2_sampler(settings)
    with cpu_threads(settings.threads):
        loaded = load_network(settings.h2_model, settings.profile, progress=progress)
        classifier, _ = load_eval_classifier(settings.profile, progress)
        indices = range(settings.seeds * settings.samples_per_seed)
        n = config.num_steps
        base = generate(loaded.network, indices, settings.seed, config, loaded.conditions, settings.batch_size,
                        record_steps=range(n), progress=False)
        rows = {"unpruned": base.images}
        for row, spec, k in ((f"first {settings.k} steps", tail_spec(settings), settings.k),
                             (f"last {settings.k} steps", tail_spec(settings, "last_k_steps"), None)):
            with _pruned(loaded.network, spec, n, k) as pruner:
                rows[row] = generate(loaded.network, indices, settings.seed, config, loaded.conditions,
                                     settings.batch_size, step_callback=pruner, progress=False).images
        long = []
        with torch.no_grad():
            for row, images in rows.items():
                agree = (classifier(images).argmax(1) == base.conditions).float()
                distance = (images - base.images).flatten(1).square().mean(1).sqrt()
                for r in range(settings.seeds):
                    block = slice(r * settings.samples_per_seed, (r + 1) * settings.samples_per_seed)
                    long += [{"row": row, "replicate": r, "metric": "class_agreement",
                              "value": agree[block].mean().item()},
                             {"row": row, "replicate": r, "metric": "distance_to_unpruned",
                              "value": distance[block].mean().item()}]
        steps = step_effects(loaded.network, tail_spec(settings), config, base, settings)
    rename = {"unpruned": "baseline"}
    long = pd.DataFrame(long).assign(row=lambda f: f["row"].replace(rename))
    return long, steps, loaded, config, rows


@torch.no_grad()
def step_effects(network, spec, config, base, settings: HypothesesSettings):
    """Per step and seed block: the relative change ||eps_pruned - eps|| / ||eps|| of the conditional prediction
    when the tail is zeroed, on the unpruned trajectory's state before that step (mean over the block's samples)."""
    rows = []
    for step, t in enumerate(timesteps(config)):
        x = base.states[step]
        t_batch = torch.full((len(x),), t, dtype=torch.long if config.solver in EPSILON_SOLVERS else torch.float32)
        plain = model_output(network, x, t_batch, base.conditions)
        with Pruner(network, spec, config.num_steps):
            pruned = model_output(network, x, t_batch, base.conditions)
        change = ((pruned - plain).flatten(1).norm(dim=1) / plain.flatten(1).norm(dim=1))
        for r in range(settings.seeds):
            block = slice(r * settings.samples_per_seed, (r + 1) * settings.samples_per_seed)
            rows.append({"step": step, "t": float(t), "replicate": r, "relative change": change[block].mean().item()})
    return pd.DataFrame(rows)


def early_late(steps, k):
    """Per seed block: mean relative change over the first k and the last k steps, and late minus early."""
    last = steps["step"].max()
    early = steps[steps["step"] < k].groupby("replicate")["relative change"].mean()
    late = steps[steps["step"] > last - k].groupby("replicate")["relative change"].mean()
    return pd.DataFrame({"first k steps": early, "last k steps": late, "late minus early": late - early})


def h2_summary(long):
    """`judge.paired_seeds.summarise` of H2's rows (noise floor: the RMS difference between unpruned seeds)."""
    return summarise(long)


# ----------------------------------------------------------------------------- H3: gains of the head

def head_gain_row(c, gains, head_fraction, draws, seed=0):
    """Mean gain of the |mean c|-head over the mean gain of all coordinates, against the same ratio for `draws`
    random coordinate sets of the head's size (their 2.5 and 97.5 percentiles), and `reach_summary`'s shares."""
    gains = torch.as_tensor(gains, dtype=torch.float64)
    d = gains.shape[0]
    k = math.ceil(head_fraction * d)
    head = c.mean(0).abs().topk(k).indices
    ratio = (gains[head].mean() / gains.mean()).item()
    rng = np.random.default_rng(seed)
    null = np.array([gains[rng.choice(d, size=k, replace=False)].mean().item() for _ in range(draws)])
    null /= gains.mean().item()
    reach = reach_summary(c, gains.float(), head_fraction)
    return {"d": d, "head dims": k, "head gain / mean gain": ratio, "null low": float(np.percentile(null, 2.5)),
            "null high": float(np.percentile(null, 97.5)),
            "largest gain / mean gain": (gains.max() / gains.mean()).item(),
            "head share of |c|": reach["head_share_magnitude"], "head share of |SiLU(c)|": reach["head_share_silu"],
            "head share of the modulation input": reach["head_share_contribution"],
            "inert head dims": reach["inert_head"]}


def h3_table(settings: HypothesesSettings, progress=True):
    """One row per model of `h3_models`: `head_gain_row` of its c at t0 and its modulation gains."""
    rows = {}
    for name in settings.h3_models:
        embedding = load_embedding(name, settings.profile, progress=progress)
        gains = load_gains(name, settings.profile, progress=progress)
        rows[name] = head_gain_row(embedding.c(float(embedding.info["t0"])), gains, settings.head_fraction,
                                   settings.gain_draws, settings.seed)
    return pd.DataFrame(rows).T


def h3_gains(settings: HypothesesSettings, progress=True):
    """model -> (|mean c| at t0 (D,), gains (D,)) for the figure."""
    out = {}
    for name in settings.h3_models:
        embedding = load_embedding(name, settings.profile, progress=progress)
        out[name] = (embedding.c(float(embedding.info["t0"])).mean(0).abs(), load_gains(name, settings.profile,
                                                                                       progress=progress))
    return out


# ----------------------------------------------------------------------------- the U-Net claim

ARMS = {"with t": True, "without t": False}


def unet_configs(settings: HypothesesSettings):
    """(arm, seed) -> TinyUNetConfig: the timestep embedding reaching the blocks or not, at every U-Net seed."""
    return {(arm, seed): TinyUNetConfig(channels=tuple(settings.unet_channels), time_in_blocks=with_t,
                                        steps=settings.unet_steps, batch_size=settings.sweep_batch,
                                        lr=settings.unet_lr, seed=seed)
            for arm, with_t in ARMS.items() for seed in settings.unet_seeds}


def unet_table(settings: HypothesesSettings, classifier, progress=True):
    """One row per arm and seed: emb's cosine and nPR at t0 (every class), its t share, class agreement, seconds."""
    rows = []
    with cpu_threads(settings.threads):
        for (arm, seed), config in unet_configs(settings).items():
            unet, _, seconds = load_or_train_unet(config, progress)
            emb = unet.class_vectors(T0)
            time = unet.time_vectors(torch.full((1,), float(T0)))
            rows.append({"model": "tiny U-Net", "arm": arm, "seed": seed, "width": emb.shape[1],
                         **cosine_summary(emb), **npr_readings(emb),
                         "class agreement": class_agreement(unet, classifier, settings.quality_samples, seed,
                                                            batch_size=settings.batch_size),
                         "label gain": label_gain(unet, seed), "t share": time_share(emb, time),
                         "train seconds": seconds})
    return pd.DataFrame(rows)


def dit_rows(sweep, settings: HypothesesSettings, h2_long, loaded):
    """The DiTs beside the U-Net: the sweep's base and control cells (c at t0 from their logs' ends) and the class
    model (`loaded`, H2's; its class agreement is H2's unpruned rows')."""
    rows = [{"model": f"small DiT ({r['cell']})", "arm": "with t" if r["cell"] == BASE else "t in the tokens, not c",
             "seed": int(r["seed"]), "width": settings.sweep_width, "cosine_mean": r["cosine"],
             "npr_mean_over_classes": r["nPR"], "class agreement": r["class agreement"], "label gain": r["label gain"]}
            for _, r in sweep[sweep["cell"].isin([BASE, CONTROL])].iterrows()]
    c = loaded.embedding.c(T0)
    agreement = h2_long[(h2_long["row"] == "baseline") & (h2_long["metric"] == "class_agreement")]["value"].mean()
    rows.append({"model": settings.h2_model, "arm": "with t", "seed": model(settings.h2_model).source.training_seed(
        settings.profile), "width": c.shape[1], **cosine_summary(c), **npr_readings(c), "class agreement": agreement,
        "label gain": label_gain(loaded.network, settings.seed)})
    return pd.DataFrame(rows)
