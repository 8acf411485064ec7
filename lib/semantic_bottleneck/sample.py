"""Batched class-conditional samplers with classifier-free guidance, reproducible per sample.

Two families of solvers behind one `generate` call:
- `ddim` / `ddpm`: epsilon-prediction DDPM models (DiT, the tiny DiT) through diffusers' schedulers
  (1000 linear betas); DDIM uses "trailing" spacing (first step t = 999, the scheduler's own
  previous-timestep arithmetic stays exact), DDPM uses DiT's respacing (evenly spaced, 999 ... 0).
- `euler` (velocity ODE) and `euler_maruyama` (velocity SDE, REPA/MG's samplers) for SiT-style
  linear-path models; `noise_at` says which end of t in [0, 1] is noise (REPA/MG: 1, SiT and
  LightningDiT: 0); `time_shift` s maps the uniform grid t to s t / (1 + (s - 1) t) (LightningDiT: 0.3,
  more steps near the noise end).

Each sample's initial noise, label and per-step noise come from its global index (`diffusion.sample_noise`
and CPU generators seeded by seed, index and step), so results do not depend on the batch size or the
number of processes, and a pruned run sees exactly the baseline's noise. Shapes: N samples, C channels.
"""
from dataclasses import dataclass, replace
import math

import torch
from tqdm import tqdm

from .diffusion import sample_noise

SOLVERS = ("ddim", "ddpm", "euler", "euler_maruyama")
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class SamplerConfig:
    """A named sampler preset: solver, steps, guidance (scale in the 1 + w convention, channels, interval), dtype."""

    name: str
    solver: str = "ddim"
    num_steps: int = 50
    guidance_scale: float = 4.0
    cfg_channels: int | None = None  # guide only the first n output channels (official DiT/SiT code: 3); None = all
    guidance_low: float = 0.0  # velocity solvers: guide only while guidance_low <= t <= guidance_high
    guidance_high: float = 1.0
    noise_at: float = 1.0  # velocity solvers: the end of t in [0, 1] that is noise
    time_shift: float = 1.0  # euler: grid t -> s t / (1 + (s - 1) t); 1 leaves the grid uniform
    clip_sample: bool = False  # ddim/ddpm: clamp the predicted x0 to [-1, 1] (pixel-space models)
    learned_sigma: bool = False  # ddpm: the model also predicts the variance (DiT-XL/2)
    dtype: str = "float32"  # "bfloat16" runs the network under autocast (CUDA)

    def __post_init__(self):
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {', '.join(SOLVERS)}; got {self.solver!r}")
        if self.num_steps < 1:
            raise ValueError(f"num_steps must be >= 1; got {self.num_steps!r}")
        if self.solver == "ddim" and 1000 % self.num_steps:
            raise ValueError(f"num_steps must divide 1000 for ddim (trailing spacing); got {self.num_steps}")
        if self.solver == "euler_maruyama" and (self.noise_at != 1.0 or self.num_steps < 2):
            raise ValueError("euler_maruyama needs noise_at=1.0 (REPA/MG convention) and num_steps >= 2")
        if self.time_shift <= 0 or (self.time_shift != 1.0 and (self.solver, self.noise_at) != ("euler", 0.0)):
            raise ValueError(f"time_shift must be > 0, and 1.0 unless solver is euler with noise_at=0.0; "
                             f"got {self.time_shift!r}")
        if self.noise_at not in (0.0, 1.0):
            raise ValueError(f"noise_at must be 0.0 or 1.0; got {self.noise_at!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {self.dtype!r}")

    def describe(self):
        """One line for protocol tables: solver, steps, guidance scale/convention/channels/interval, dtype."""
        if self.guidance_scale == 1.0:
            guidance = "no guidance (scale 1.0)"
        else:
            channels = "all channels" if self.cfg_channels is None else f"first {self.cfg_channels} channels"
            guidance = f"CFG {self.guidance_scale:g} (out = uncond + s (cond - uncond)) on {channels}"
            if self.solver in ("euler", "euler_maruyama") and (self.guidance_low, self.guidance_high) != (0.0, 1.0):
                guidance += f", only for t in [{self.guidance_low:g}, {self.guidance_high:g}]"
        spacing = {"ddim": "trailing spacing, eta 0", "ddpm": "DiT respacing",
                   "euler": f"t from {self.noise_at:g} to {1 - self.noise_at:g}"
                            + (f", grid shifted by {self.time_shift:g}" if self.time_shift != 1.0 else ""),
                   "euler_maruyama": "t from 1 to 0.04, last step deterministic"}[self.solver]
        return f"{self.name}: {self.solver} {self.num_steps} steps ({spacing}); {guidance}; {self.dtype}"


PRESETS = {p.name: p for p in (
    SamplerConfig("tiny-ddim-20", "ddim", 20, 4.0, clip_sample=True),
    SamplerConfig("tiny-ddim-10", "ddim", 10, 4.0, clip_sample=True),
    SamplerConfig("tiny-ddim-50", "ddim", 50, 4.0, clip_sample=True),
    SamplerConfig("repa-sde-250", "euler_maruyama", 250, 1.8, guidance_high=0.7),  # REPA README evaluation
    SamplerConfig("repa-ode-50", "euler", 50, 1.5),  # REPA generate.py defaults
    SamplerConfig("mg-sde-250", "euler_maruyama", 250, 1.0),  # MG test.py: 250 steps, cfgw 1.0 (no CFG)
    SamplerConfig("sit-euler-250", "euler", 250, 4.0, cfg_channels=3, noise_at=0.0),  # SiT sample.py ODE (dopri5 there)
    # LightningDiT configs/reproductions: ODE Euler, num_sampling_steps 250 = grid points, so 249 steps;
    # CFG on 3 of 32 channels, only where the (shifted) t >= cfg_interval_start 0.125; 800ep cfg 6.7, 64ep 10.0
    SamplerConfig("lightningdit-euler-250", "euler", 249, 6.7, cfg_channels=3, guidance_low=0.125, noise_at=0.0,
                  time_shift=0.3),
    SamplerConfig("lightningdit-64ep-euler-250", "euler", 249, 10.0, cfg_channels=3, guidance_low=0.125,
                  noise_at=0.0, time_shift=0.3),
    SamplerConfig("dit-ddpm-250", "ddpm", 250, 4.0, cfg_channels=3, learned_sigma=True),  # DiT sample.py
    SamplerConfig("dit-ddpm-250-fid", "ddpm", 250, 1.5, cfg_channels=3, learned_sigma=True),  # DiT sample_ddp.py
    SamplerConfig("diffusers-dit-ddim-50", "ddim", 50, 4.0),  # DiTPipeline defaults (CFG on all channels)
)}

DEFAULT_SAMPLERS = {"tiny": "tiny-ddim-20", "repa": "repa-sde-250", "mg": "mg-sde-250", "sit": "sit-euler-250",
                    "dit": "dit-ddpm-250-fid", "diffusers-dit": "diffusers-dit-ddim-50",
                    "lightningdit": "lightningdit-euler-250", "lightningdit-xl-64ep": "lightningdit-64ep-euler-250"}


def default_sampler(name, family):
    """The preset a model is sampled with unless one is named: its own (by model name), else its family's."""
    return DEFAULT_SAMPLERS.get(name) or DEFAULT_SAMPLERS[family]


def preset(name, **changes):
    """A named preset, optionally with some fields changed (the name records the change)."""
    if name not in PRESETS:
        raise ValueError(f"sampler must be one of {', '.join(PRESETS)}; got {name!r}")
    config = PRESETS[name]
    if changes:
        config = replace(config, name=f"{name} ({', '.join(f'{k}={v}' for k, v in changes.items())})", **changes)
    return config


def labels_for(indices, num_classes):
    """The class label of each global sample index: index mod K (balanced over any K consecutive indices)."""
    return torch.as_tensor([int(i) % num_classes for i in indices], dtype=torch.long)


def _step_seed(seed, index, step):
    return (int(seed) * 1_000_003 + int(index)) * 4099 + 7919 * (int(step) + 1)


def step_noise(indices, shape, seed, step):
    """Per-step noise (N, *shape) for stochastic solvers, from CPU generators seeded by (seed, index, step)."""
    return torch.stack([torch.randn(shape, generator=torch.Generator().manual_seed(_step_seed(seed, i, step)))
                        for i in indices])


def input_shape(model):
    """(C, H, W) of the model's input: tiny/official `config` or diffusers' `sample_size`."""
    config = model.config
    if hasattr(config, "image_size"):
        return (config.in_channels, config.image_size, config.image_size)
    return (config.in_channels, config.sample_size, config.sample_size)


def model_output(model, x, t, y):
    """Call a DiT-style network: official/tiny `model(x, t, y)` (tuple outputs: first item) or diffusers'."""
    if hasattr(model, "transformer_blocks"):
        return model(x, timestep=t, class_labels=y).sample
    out = model(x, t, y)
    return out[0] if isinstance(out, tuple) else out


def dit_respacing(num_steps, train_steps=1000):
    """DiT's respaced timesteps for `num_steps` steps, descending: round(i (T-1)/(n-1)) for i = n-1 .. 0."""
    if num_steps == 1:
        return [train_steps - 1]
    return [round(i * (train_steps - 1) / (num_steps - 1)) for i in range(num_steps)][::-1]


def _scheduler(config):
    """The diffusers scheduler of an epsilon-prediction preset, with its timesteps set."""
    from diffusers import DDIMScheduler, DDPMScheduler

    common = dict(num_train_timesteps=1000, beta_schedule="linear", prediction_type="epsilon",
                  clip_sample=config.clip_sample)
    if config.solver == "ddim":
        scheduler = DDIMScheduler(**common, timestep_spacing="trailing", set_alpha_to_one=True)
        scheduler.set_timesteps(config.num_steps)
    else:
        variance = "learned_range" if config.learned_sigma else "fixed_small"
        scheduler = DDPMScheduler(**common, variance_type=variance)
        scheduler.set_timesteps(timesteps=dit_respacing(config.num_steps))
    return scheduler


def timesteps(config):
    """The timestep each step feeds the model, in order (integers for ddim/ddpm, floats in [0, 1] otherwise)."""
    if config.solver in ("ddim", "ddpm"):
        return [int(t) for t in _scheduler(config).timesteps]
    if config.solver == "euler":
        grid = torch.linspace(config.noise_at, 1 - config.noise_at, config.num_steps + 1, dtype=torch.float64)[:-1]
        s = config.time_shift
        return (s * grid / (1 + (s - 1) * grid)).tolist()
    return torch.linspace(1.0, 0.04, config.num_steps, dtype=torch.float64).tolist()


class _Guided:
    """The guided network output at one step: cond and uncond rows in one batch, CFG on the first channels."""

    def __init__(self, model, config, null_label, channels):
        self.model, self.config, self.null_label, self.channels = model, config, null_label, channels
        self.autocast = config.dtype == "bfloat16"

    def __call__(self, x, t, labels):
        cfg = self.config
        guide = cfg.guidance_scale != 1.0
        if guide and cfg.solver in ("euler", "euler_maruyama"):
            guide = cfg.guidance_low <= float(t) <= cfg.guidance_high
        dtype = torch.long if cfg.solver in ("ddim", "ddpm") else torch.float32
        rows = torch.cat([x, x]) if guide else x
        ys = torch.cat([labels, torch.full_like(labels, self.null_label)]) if guide else labels
        t_batch = torch.full((len(rows),), t, dtype=dtype, device=x.device)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.autocast):
            out = model_output(self.model, rows.float(), t_batch, ys).float()
        if not guide:
            return out
        cond, uncond = out.chunk(2)
        n = self.channels if cfg.cfg_channels is None else cfg.cfg_channels
        guided = uncond[:, :n] + cfg.guidance_scale * (cond[:, :n] - uncond[:, :n])
        return torch.cat([guided, cond[:, n:]], dim=1)


@dataclass
class Samples:
    """What `generate` returns: indices, labels, images (None unless kept) and the recorded states."""

    indices: list
    labels: torch.Tensor
    images: torch.Tensor | None
    states: dict


@torch.no_grad()
def _denoise(guided, x, labels, indices, seed, config, first_step, callback, record, bar):
    """Run one batch from step `first_step`; fills `record` {step: x before that step}; returns the final x."""
    channels = x.shape[1]
    if config.solver in ("ddim", "ddpm"):
        scheduler = _scheduler(config)
        for i, t in enumerate(scheduler.timesteps):
            if i < first_step:
                continue
            if i in record:
                record[i].append(x.cpu())
            if callback is not None:
                callback(i, int(t))
            out = guided(x, int(t), labels)
            out = out if config.solver == "ddpm" and config.learned_sigma else out[:, :channels]
            kwargs = {"eta": 0.0, "use_clipped_model_output": config.clip_sample} if config.solver == "ddim" else {
                "generator": [torch.Generator().manual_seed(_step_seed(seed, j, i)) for j in indices]}
            x = scheduler.step(out, t, x, **kwargs).prev_sample
            bar.update(1)
        return x
    grid = timesteps(config) + [0.0 if config.solver == "euler_maruyama" else 1 - config.noise_at]
    x = x.double()
    for i in range(first_step, config.num_steps):
        t, t_next = grid[i], grid[i + 1]
        if i in record:
            record[i].append(x.float().cpu())
        if callback is not None:
            callback(i, t)
        v = guided(x.float(), t, labels)[:, :channels].double()
        dt = t_next - t
        if config.solver == "euler":
            x = x + dt * v
        else:  # linear path x_t = (1 - t) x0 + t eps: score = -(x + (1 - t) v) / t, diffusion w(t) = 2t
            drift = x + (2 - t) * v  # = v - w(t)/2 * score
            x = x + dt * drift
            if i < config.num_steps - 1:
                noise = step_noise(indices, x.shape[1:], seed, i).to(x.device, torch.float64)
                x = x + math.sqrt(2 * t) * math.sqrt(abs(dt)) * noise
        bar.update(1)
    return x.float()


def generate(model, indices, seed, config, num_classes, batch_size=256, null_label=None, step_callback=None,
             decode=None, on_batch=None, keep=True, record_steps=(), resume=None, progress=True):
    """Sample the global sample indices `indices` in batches; returns `Samples`.

    Labels are `labels_for(indices)`; the null (CFG) label defaults to `num_classes`. `decode` maps the
    final latents to images in [-1, 1] (a VAE; None for pixel-space models). `on_batch(indices, labels,
    images)` sees each decoded batch (for streaming metrics); `keep=False` drops the images after it.
    `record_steps` keeps x before those steps (CPU) in `states`; `resume=(step, x)` starts at `step`
    from x (N, C, H, W) given for all indices, e.g. a baseline's recorded state.
    """
    indices = [int(i) for i in indices]
    device = next(model.parameters()).device
    shape = input_shape(model)
    null_label = num_classes if null_label is None else null_label
    guided = _Guided(model, config, null_label, shape[0])
    first_step = 0 if resume is None else int(resume[0])
    record = {int(s): [] for s in record_steps}
    labels_all, kept = labels_for(indices, num_classes), []
    n_batches = math.ceil(len(indices) / batch_size)
    with tqdm(total=n_batches * (config.num_steps - first_step), desc=f"sampling {config.name}",
              disable=not progress, leave=False, mininterval=1) as bar:
        for start in range(0, len(indices), batch_size):
            chunk, labels = indices[start:start + batch_size], labels_all[start:start + batch_size].to(device)
            if resume is None:
                x = sample_noise(chunk, shape, seed)
            else:
                x = resume[1][start:start + batch_size]
            x = _denoise(guided, x.to(device), labels, chunk, seed, config, first_step, step_callback, record, bar)
            images = (decode(x) if decode is not None else x).float().clamp(-1, 1)
            if on_batch is not None:
                on_batch(chunk, labels.cpu(), images)
            if keep:
                kept.append(images.cpu())
    states = {s: torch.cat(v) for s, v in record.items() if v}
    return Samples(indices, labels_all, torch.cat(kept) if kept else None, states)
