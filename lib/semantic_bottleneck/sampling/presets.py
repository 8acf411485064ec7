"""Sampler presets: the solver, steps and guidance each family samples with in its official code.

A preset names one `SamplerConfig`; `preset(name, **changes)` returns it, with any change recorded in its name.
Guidance scales use the 1 + w convention (out = uncond + s (cond - uncond)).
"""
from dataclasses import dataclass, replace
import math

SOLVERS = ("ddim", "ddpm", "euler", "euler_maruyama", "dpmsolver++")
DTYPES = ("float32", "bfloat16")


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
    scale_pow: float | None = None  # epsilon solvers: MDT's power-cosine guidance schedule (None: constant scale)

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
        if self.scale_pow is not None and not (self.scale_pow > 0 and self.solver in ("ddim", "ddpm", "dpmsolver++")):
            raise ValueError(f"scale_pow must be > 0, with solver ddim, ddpm or dpmsolver++; got {self.scale_pow!r} "
                             f"({self.solver})")

    def scale_at(self, t):
        """The guidance scale at timestep t: constant, or MDT's power-cosine schedule over t in 0..999,
        1 + (s - 1) (1 - cos(pi (1 - t / 1000) ^ scale_pow)) / 2 (full scale at t = 0, nearly 1 near t = 1000)."""
        if self.scale_pow is None:
            return self.guidance_scale
        step = (1 - math.cos(math.pi * (1 - float(t) / 1000) ** self.scale_pow)) / 2
        return (self.guidance_scale - 1) * step + 1

    def describe(self):
        """One line for protocol tables: solver, steps, guidance scale/convention/channels/interval, dtype."""
        if self.guidance_scale == 1.0:
            guidance = "no guidance (scale 1.0)"
        else:
            channels = "all channels" if self.cfg_channels is None else f"first {self.cfg_channels} channels"
            guidance = f"CFG {self.guidance_scale:g} (out = uncond + s (cond - uncond)) on {channels}"
            if self.solver in ("euler", "euler_maruyama") and (self.guidance_low, self.guidance_high) != (0.0, 1.0):
                guidance += f", only for t in [{self.guidance_low:g}, {self.guidance_high:g}]"
            if self.scale_pow is not None:
                guidance += f", power-cosine schedule over t (scale_pow {self.scale_pow:g})"
        spacing = {"ddim": "trailing spacing, eta 0", "ddpm": "DiT respacing",
                   "euler": f"t from {self.noise_at:g} to {1 - self.noise_at:g}"
                            + (f", grid shifted by {self.time_shift:g}" if self.time_shift != 1.0 else ""),
                   "euler_maruyama": "t from 1 to 0.04, last step deterministic",
                   "dpmsolver++": "multistep order 2, time-uniform t from 999 to 0 (rounded), ends at t = 0"}[self.solver]
        return f"{self.name}: {self.solver} {self.num_steps} steps ({spacing}); {guidance}; {self.dtype}"


PRESETS = {p.name: p for p in (
    SamplerConfig("tiny-ddim-20", "ddim", 20, 4.0, clip_sample=True),
    SamplerConfig("tiny-ddim-10", "ddim", 10, 4.0, clip_sample=True),
    SamplerConfig("tiny-ddim-50", "ddim", 50, 4.0, clip_sample=True),
    SamplerConfig("repa-sde-250", "euler_maruyama", 250, 1.8, guidance_high=0.7),  # REPA README evaluation
    SamplerConfig("repa-ode-50", "euler", 50, 1.5),  # REPA generate.py defaults
    SamplerConfig("mg-sde-250", "euler_maruyama", 250, 1.0),  # MG test.py: 250 steps, cfgw 1.0 (no CFG)
    # SiT sample.py: ODE (dopri5 there, Euler here), 250 steps, cfg 4.0 on 3 channels, sd-vae-ft-mse (registry)
    SamplerConfig("sit-euler-250", "euler", 250, 4.0, cfg_channels=3, noise_at=0.0),
    # LightningDiT configs/reproductions: ODE Euler, num_sampling_steps 250 = grid points, so 249 steps;
    # CFG on 3 of 32 channels, only where the (shifted) t >= cfg_interval_start 0.125; 800ep cfg 6.7, 64ep 10.0
    SamplerConfig("lightningdit-euler-250", "euler", 249, 6.7, cfg_channels=3, guidance_low=0.125, noise_at=0.0,
                  time_shift=0.3),
    SamplerConfig("lightningdit-64ep-euler-250", "euler", 249, 10.0, cfg_channels=3, guidance_low=0.125,
                  noise_at=0.0, time_shift=0.3),
    SamplerConfig("dit-ddpm-250", "ddpm", 250, 4.0, cfg_channels=3, learned_sigma=True),  # DiT sample.py (pictures)
    # DiT sample_ddp.py (its FID script): DDPM 250, cfg 1.5 on 3 channels; its VAE, sd-vae-ft-ema, is the registry's
    SamplerConfig("dit-ddpm-250-fid", "ddpm", 250, 1.5, cfg_channels=3, learned_sigma=True),
    # DiTPipeline's call defaults (50 steps, guidance 4.0 on all 4 channels); its scheduler's spacing comes from the
    # hub's scheduler_config.json, not read here: this preset uses trailing DDIM spacing (t0 = 999)
    SamplerConfig("diffusers-dit-ddim-50", "ddim", 50, 4.0),
    # MDT infer_mdt.py (v1): DDPM respaced to 500 steps, cfg 5.0 on 3 channels, power-cosine schedule pow 0.01
    SamplerConfig("mdt-ddpm-500", "ddpm", 500, 5.0, cfg_channels=3, learned_sigma=True, scale_pow=0.01),
    # X-MDPT infer_xmdpt.py: DDIM 50 steps, cfg 2.0 on every output channel, power-cosine pow 0.01, no clipping;
    # the official DDIM walks ADM's respaced grid (999, 979, 958, ..., 20, 0), this one diffusers' trailing grid
    SamplerConfig("xmdpt-ddim-50", "ddim", 50, 2.0, scale_pow=0.01),
    SamplerConfig("xmdpt-ddim-50-unguided", "ddim", 50, 1.0),
    SamplerConfig("tiny-pose-ddim-10", "ddim", 10, 2.0, scale_pow=0.01),  # X-MDPT's, with fewer steps
    SamplerConfig("tiny-pose-ddim-10-unguided", "ddim", 10, 1.0),
)}


def preset(name, **changes):
    """A named preset, optionally with some fields changed (the name records the change)."""
    if name not in PRESETS:
        raise ValueError(f"sampler must be one of {', '.join(PRESETS)}; got {name!r}")
    config = PRESETS[name]
    if changes:
        config = replace(config, name=f"{name} ({', '.join(f'{k}={v}' for k, v in changes.items())})", **changes)
    return config


# Video-to-audio. MDSGen inference.py: DPM-Solver++ (multistep, order 2, time-uniform) 50 steps, CFG 5.0 with the
# power-cosine schedule (pow 0.01), guided on all 16 output channels of which the first 8 (epsilon) are used. The
# tiny analog uses the same solver with fewer steps. Guidance off is a separate preset (`-no-cfg`), so that a study
# can run both through its `samplers` parameter.
PRESETS.update({p.name: p for base in (
    SamplerConfig("mdsgen-dpmpp-50", "dpmsolver++", 50, 5.0, learned_sigma=True, scale_pow=0.01),
    SamplerConfig("tiny-v2a-dpmpp-20", "dpmsolver++", 20, 3.0),
    SamplerConfig("tiny-v2a-dpmpp-10", "dpmsolver++", 10, 3.0),
) for p in (base, replace(base, name=f"{base.name}-no-cfg", guidance_scale=1.0))})
