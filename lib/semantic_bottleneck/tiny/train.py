"""Train the tiny DiT (or its in-context and cross-attention variants, `nets.mechanisms`) on procedural shapes,
seed-determined and cached by configuration hash.

Every `log_every` steps the cosine and nPR of c at the first denoising step are appended to
`training_log.csv` beside the checkpoint (the sparsity chapter plots training dynamics from it).
"""
from dataclasses import asdict, dataclass, field

import pandas as pd
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..condition.embedding import ConditionEmbedding
from ..condition.measure import cosine_summary, npr_readings
from ..nets.dit import DiTConfig
from ..nets.architectures import build_network
from ..sampling.schedule import LinearSchedule
from .cached import load_or_train_logged
from .classes import shapes
from .fast import autocast, compile_blocks, resolve

CACHE_VERSION = 4  # bump when training code or data changes the weights (3: larger shapes, 4: learning-rate decay)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a tiny training run (and so its cache key)."""

    model: DiTConfig = field(default_factory=DiTConfig)
    steps: int = 4500
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 0.0
    seed: int = 0
    log_every: int = 100
    num_train_timesteps: int = 1000  # timesteps used in training, evenly spaced over 0..999 (Fig. 43)
    ema_decay: float = 0.0  # > 0: the returned weights are an exponential moving average of the trained ones
    snr_gamma: float | None = None  # Min-SNR loss weighting (None: the plain epsilon MSE)
    max_grad_norm: float | None = None  # clip the gradient's norm to this before each step (None: no clipping)
    decay_fraction: float = 0.0  # > 0: the learning rate falls linearly to 0 over this last share of the steps
    optimizer: str = "adamw"  # "adamw" (decoupled weight decay) or "sgd" (momentum 0.9, L2 weight decay)
    precision: str = "float32"  # "bfloat16": the step's matrix products under bfloat16 autocast (`tiny.fast`)
    compiled: bool = False  # True: the transformer blocks compiled by torch.compile for training (`tiny.fast`)

    def as_dict(self):
        """Plain-dict form, including the cache version."""
        return {**asdict(self), "cache_version": CACHE_VERSION}


def training_loss(model, x0, condition, schedule, generator, timestep_pool=None, snr_gamma=None):
    """Epsilon-prediction MSE at uniformly drawn timesteps (from `timestep_pool` when given).

    With `snr_gamma`, each sample's error is weighted min(SNR(t), gamma) / SNR(t) (Min-SNR, Hang et al. 2023):
    the nearly clean timesteps, easy to denoise, count less.
    """
    n = x0.shape[0]
    if timestep_pool is None:
        t = torch.randint(0, schedule.num_timesteps, (n,), generator=generator)
    else:
        t = timestep_pool[torch.randint(0, len(timestep_pool), (n,), generator=generator)]
    noise = torch.randn(x0.shape, generator=generator)
    x_t = schedule.add_noise(x0, noise, t)
    if snr_gamma is None:
        return F.mse_loss(model(x_t, t, condition), noise)
    error = (model(x_t, t, condition) - noise).square().flatten(1).mean(1)  # (N,)
    snr = (schedule.alphas_cumprod[t] / (1 - schedule.alphas_cumprod[t])).float()
    return (snr.clamp(max=snr_gamma) / snr * error).mean()


OPTIMIZERS = ("adamw", "sgd")


def make_optimizer(model, config):
    """The optimiser `config.optimizer` names over the model's parameters, at `config.lr` and `config.weight_decay`."""
    if config.optimizer == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {config.optimizer!r}")


def learning_rate_factor(config, done):
    """The learning rate's share of `config.lr` for the step after `done` steps: 1, then a linear fall towards 0
    over the last `decay_fraction` of the steps (the last step's share is 1 / the number of decaying steps)."""
    decaying = round(config.decay_fraction * config.steps)
    left = config.steps - done  # steps left, this one included (0 after the last step)
    return 1.0 if decaying == 0 or left > decaying else max(left, 0) / decaying


def first_step_t(schedule_length=1000):
    """The first denoising timestep of the tiny model's DDPM schedule (999)."""
    return schedule_length - 1


def logged_vectors(model):
    """The vectors the training log follows, one per class at t0: c = t + y for adaLN-Zero, else the vector the
    condition enters as (`nets.mechanisms`)."""
    if not hasattr(model, "condition_vectors"):
        return ConditionEmbedding.from_state_dict(model.state_dict()).c(first_step_t())
    k = model.config.num_classes
    with torch.no_grad():
        return model.condition_vectors(torch.full((k,), float(first_step_t())), torch.arange(k))


def _log_row(model, step, loss):
    c = logged_vectors(model)
    return {"step": step, "loss": loss, **cosine_summary(c), **npr_readings(c)}


def train_tiny_dit(config: TrainConfig, progress=True):
    """Train a tiny DiT from scratch; returns (model in eval mode, training log DataFrame).

    The log follows the trained weights; with `ema_decay` the returned model holds their moving average. The
    returned network is never the compiled one (`tiny.fast`): sampling runs it eagerly.
    """
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_network(config.model)
    ema = torch.optim.swa_utils.AveragedModel(
        model, multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(config.ema_decay)) if config.ema_decay else None
    compile_blocks(model, config.compiled)  # after the EMA's copy, which stays eager
    opt = make_optimizer(model, config)
    lr_schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda done: learning_rate_factor(config, done))
    schedule = LinearSchedule()
    pool = torch.linspace(0, schedule.num_timesteps - 1, config.num_train_timesteps).round().long()
    rows, running = [], None
    bar = tqdm(range(1, config.steps + 1), desc="training tiny DiT", disable=not progress, mininterval=2)
    for step in bar:
        x0, labels = shapes.batch(config.batch_size, generator, config.model.image_size, config.model.num_classes)
        with autocast(config.precision):
            loss = training_loss(model, x0, labels, schedule, generator, pool, config.snr_gamma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        opt.step()
        lr_schedule.step()
        if ema is not None:
            ema.update_parameters(model)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % config.log_every == 0 or step == config.steps:
            model.eval()
            rows.append(_log_row(model, step, running))
            model.train()
            bar.set_postfix(loss=f"{running:.4f}", npr=f"{rows[-1]['npr_of_mean_vector']:.3f}")
    if ema is not None or not config.compiled:
        return (model if ema is None else ema.module).eval(), pd.DataFrame(rows)
    eager = build_network(config.model)
    eager.load_state_dict(model.state_dict())
    return eager.eval(), pd.DataFrame(rows)


def load_or_train(config: TrainConfig, progress=True):
    """The cached model for `config` as this machine trains it (`tiny.fast.resolve`; trained on first use, with
    `devices.training_threads` CPU threads, part of the key); returns (model, log, cache folder)."""
    config = resolve(config)
    label = f"tiny DiT ({getattr(config.model, 'mechanism', 'adaLN-Zero')}, {config.steps} steps)"
    model, log, folder, _ = load_or_train_logged("tiny-dit", config.as_dict(), lambda: build_network(config.model),
                                                 lambda progress: train_tiny_dit(config, progress), label, progress)
    return model, log, folder
