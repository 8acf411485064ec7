"""Batched sampling with classifier-free guidance, reproducible per sample: one `generate` for every solver.

`generate` draws each sample's noise and condition from its global index (`noise`, `conditions`), runs the
epsilon loop (`ddim`, `ddpm`, `dpmsolver++`) or the velocity loop (`euler`, `euler_maruyama`) of the preset, and hands each
decoded batch to a callback. Guidance runs the conditional and unconditional rows in one batch.
Shapes: N samples, C channels.
"""
from dataclasses import dataclass
import math

import torch
from tqdm import tqdm

from ..timing import span
from .conditions import concat, join, to_device
from .epsilon import epsilon_loop, epsilon_timesteps
from .noise import sample_noise
from .velocity import velocity_loop, velocity_timesteps

EPSILON_SOLVERS = ("ddim", "ddpm", "dpmsolver++")


def timesteps(config):
    """The timestep each step feeds the model, in order (integers for ddim/ddpm, floats in [0, 1] otherwise)."""
    return epsilon_timesteps(config) if config.solver in EPSILON_SOLVERS else velocity_timesteps(config)


def input_shape(model):
    """(C, H, W) of the model's input: its token grid times its patch (non-square too), or diffusers' `sample_size`."""
    config = model.config
    if hasattr(model, "grid") and hasattr(model, "patch"):
        return (config.in_channels, model.grid[0] * model.patch[0], model.grid[1] * model.patch[1])
    return (config.in_channels, config.sample_size, config.sample_size)


def model_output(model, x, t, y):
    """Call a DiT-style network: official/tiny `model(x, t, y)` (tuple outputs: first item) or diffusers'.

    `y` is a condition batch: class labels, or a dict of tensors for models that take several inputs.
    """
    if hasattr(model, "transformer_blocks"):
        return model(x, timestep=t, class_labels=y).sample
    out = model(x, t, y)
    return out[0] if isinstance(out, tuple) else out


class Guided:
    """The guided network output at one step: cond and uncond rows in one batch, CFG on the first channels."""

    def __init__(self, model, config, conditions, channels, rows_callback=None):
        self.model, self.config, self.conditions, self.channels = model, config, conditions, channels
        self.rows_callback = rows_callback
        self.autocast = config.dtype == "bfloat16"

    def __call__(self, x, t, batch):
        cfg = self.config
        guide = cfg.guidance_scale != 1.0
        if guide and cfg.solver not in EPSILON_SOLVERS:
            guide = cfg.guidance_low <= float(t) <= cfg.guidance_high
        dtype = torch.long if cfg.solver in EPSILON_SOLVERS else torch.float32
        rows = torch.cat([x, x]) if guide else x
        ys = concat(batch, self.conditions.null_like(batch)) if guide else batch
        t_batch = torch.full((len(rows),), t, dtype=dtype, device=x.device)
        if self.rows_callback is not None:
            self.rows_callback(len(x))  # the first len(x) rows are conditional
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            out = model_output(self.model, rows.float(), t_batch, ys).float()
        if not guide:
            return out
        cond, uncond = out.chunk(2)
        n = self.channels if cfg.cfg_channels is None else cfg.cfg_channels
        guided = uncond[:, :n] + cfg.scale_at(t) * (cond[:, :n] - uncond[:, :n])
        return torch.cat([guided, cond[:, n:]], dim=1)


@dataclass
class Samples:
    """What `generate` returns: indices, their condition batch and images (None unless kept), the recorded states."""

    indices: list
    conditions: object
    images: torch.Tensor | None
    states: dict


def generate(model, indices, seed, config, conditions, batch_size=256, step_callback=None, decode=None,
             on_batch=None, keep=True, record_steps=(), resume=None, progress=True, rows_callback=None):
    """Sample the global sample indices `indices` in batches; returns `Samples`.

    `conditions` gives each index its condition and the null (CFG) condition (`conditions.ClassLabels` for
    class models). `decode` maps the final latents to images in [-1, 1] (a VAE; None for pixel-space models).
    `on_batch(indices, condition batch, images)` sees each decoded batch (for streaming metrics); `keep=False`
    drops the images and condition batches after it. `record_steps` keeps x before those steps (CPU) in `states`; `resume=(step, x)`
    starts at `step` from x (N, C, H, W) given for all indices, e.g. a baseline's recorded state.
    `rows_callback(n)` hears before each network call that its first n rows are the conditional ones.
    """
    indices = [int(i) for i in indices]
    device = next(model.parameters()).device
    shape = input_shape(model)
    guided = Guided(model, config, conditions, shape[0], rows_callback)
    loop = epsilon_loop if config.solver in EPSILON_SOLVERS else velocity_loop
    first_step = 0 if resume is None else int(resume[0])
    record = {int(s): [] for s in record_steps}
    batches, kept = [], []
    n_batches = math.ceil(len(indices) / batch_size)
    with span("sampling", config.name), tqdm(total=n_batches * (config.num_steps - first_step),
                                             desc=f"sampling {config.name}", disable=not progress, leave=False,
                                             mininterval=1) as bar:
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            batch = conditions.for_indices(chunk)
            if keep:  # condition batches can be large (a pose pair's tokens): kept only with the images
                batches.append(batch)
            x = sample_noise(chunk, shape, seed) if resume is None else resume[1][start:start + batch_size]
            x = loop(guided, x.to(device), to_device(batch, device), chunk, seed, config, first_step, step_callback,
                     record, bar)
            images = (decode(x) if decode is not None else x).float().clamp(-1, 1)
            if on_batch is not None:
                on_batch(chunk, batch, images)
            if keep:
                kept.append(images.cpu())
    states = {s: torch.cat(v) for s, v in record.items() if v}
    return Samples(indices, join(batches) if batches else None, torch.cat(kept) if kept else None, states)
