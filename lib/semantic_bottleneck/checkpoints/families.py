"""Model families: width of c, time convention, first denoising step t0, null row, official sampler, license,
and the range of t the model receives.

A family is a way of forming and feeding c shared by several checkpoints (DiT, SiT, REPA, ...). Each registry entry
holds its family's record (`registry.Model.facts`: one of the records below, or a new `Family` written in the
entry), and the registry derives the table of families from its entries (`registry.family`,
`registry.families_frame`); the readers of released checkpoints here name the record of the layout they read.
Every statistic that needs "the first denoising step" reads t0 from the record, and every t a user passes is
checked against its `t_range` (`check_t`).
"""
from dataclasses import dataclass
import math


@dataclass(frozen=True)
class Family:
    """One model family: width d, time convention, first step t0, null row, default sampler, license, t's range.

    `t_range` is (lowest, highest) t as the model receives it (an integer t_type: whole numbers only); None
    leaves t unchecked, so every row should give it.
    """

    name: str
    model: str
    d: int | None
    time_convention: str
    t0: float
    t_type: str
    null_row: int | None
    sampler: str
    license: str
    t_range: tuple | None = None


_DDPM = "integer DDPM t in 0..999, 999 = pure noise"
DIT = Family("dit", "DiT-XL/2", 1152, _DDPM, 999, "integer", 1000,
    "DDPM 250 steps, cfg 1.5 on 3 channels, sd-vae-ft-ema (sample_ddp.py, the FID script; sample.py: cfg 4.0, "
    "sd-vae-ft-mse)", "CC-BY-NC-4.0 (code and weights)", t_range=(0, 999))
SIT = Family("sit", "SiT-XL/2", 1152, "continuous t in [0,1], 0 = noise, 1 = data (fed to the sinusoid unscaled)",
    0.0, "continuous", 1000, "ODE 250 steps, cfg 4.0 on 3 channels, sd-vae-ft-mse (sample.py)", "MIT",
    t_range=(0.0, 1.0))
REPA = Family("repa", "SiT-XL/2 + REPA", 1152, "continuous t in [0,1], 1 = noise, 0 = data (samplers run 1 -> 0)",
    1.0, "continuous", 1000, "SDE 250 steps, cfg 1.8, guidance interval high 0.7 (README)", "MIT",
    t_range=(0.0, 1.0))
MG = Family("mg", "SiT-XL/2 + Model-Guidance", 1152, "continuous t in [0,1], 1 = noise (REPA's samplers)",
    1.0, "continuous", 1000, "250 steps, cfg 1.0 (no CFG; test.py)", "UNCONFIRMED", t_range=(0.0, 1.0))
MDT = Family("mdt", "MDT / MDTv2-XL/2", 1152, _DDPM, 999, "integer", 1000,
    "DDPM with a power-cosine CFG schedule (infer_mdt.py)", "Apache-2.0", t_range=(0, 999))
LIGHTNINGDIT = Family("lightningdit", "LightningDiT-XL/1", 1152,
    "SiT's transport: continuous t in [0,1], 0 = noise; the sampling grid t -> 0.3 t / (1 - 0.7 t) "
    "puts more steps near the noise end (t = 0 and 1 unchanged)", 0.0, "continuous", 1000,
    "ODE Euler on 250 grid points (249 steps), cfg 6.7 (800 ep) or 10.0 (64 ep) on 3 of 32 channels, "
    "only for t >= 0.125", "MIT", t_range=(0.0, 1.0))
DIFFUSERS_DIT = Family("diffusers-dit", "DiT-XL/2 (diffusers)", 1152,
    _DDPM + "; c uses the original sinusoid (freq_shift 0), not diffusers' downscale_freq_shift=1",
    999, "integer", 1000, "DiTPipeline's defaults: DDIM 50 steps, guidance 4.0 on 4 channels, its own VAE",
    "CC-BY-NC-4.0 (weights)", t_range=(0, 999))
TINY = Family("tiny", "tiny DiT (this project)", None, _DDPM + " (1000-step linear-beta DDPM)", 999, "integer", None,
    "DDPM 1000 steps (this project)", "this project's license", t_range=(0, 999))
MDSGEN = Family("mdsgen", "MDSGen-B/2", 768, _DDPM + "; the official DPM-Solver feeds fractional t (999 - 19.98 k), "
    "this project's sampler the nearest integers", 999, "continuous", None,
    "DPM-Solver++ (2M, time-uniform) 50 steps, cfg 5.0, power-cosine pow 0.01 (inference.py)",
    "UNCONFIRMED (no LICENSE file in triton99/MDSGen)", t_range=(0.0, 999.0))
TINY_V2A = Family("tiny-v2a", "tiny MDSGen (this project)", None, _DDPM + " (1000-step linear-beta DDPM)", 999,
    "integer", None, "DPM-Solver++ 20 steps, cfg 3.0 (this project)", "this project's license", t_range=(0, 999))
XMDPT = Family("xmdpt", "X-MDPT-S/B/L/2 (d = 384, 768, 1024)", None,
    _DDPM + "; no null row: the unconditional y is zero", 999, "integer", None,
    "DDIM 50 steps, cfg 2.0, power-cosine pow 0.01 (infer_xmdpt.py)", "Apache-2.0", t_range=(0, 999))
TINY_POSE = Family("tiny-pose", "tiny X-MDPT (this project)", None,
    _DDPM + " (1000-step linear-beta DDPM); no null row: the unconditional y is zero", 999, "integer", None,
    "DDIM 10 steps, cfg 2.0 (this project)", "this project's license", t_range=(0, 999))
# other conditioning mechanisms (appendix Tables 4 and 5), read for statistics only
UVIT = Family("uvit", "U-ViT-H/2 (ImageNet 256, latent; t and y as tokens)", 1152,
    "discrete n in 1..1000 (SD's scaled-linear betas), 1000 = noise; the DPM-Solver feeds 1000 t_continuous, "
    "t_continuous in [1/1000, 1] (train/eval_ldm_discrete.py)", 1000, "continuous", 1000,
    "DPM-Solver 50 steps, cfg scale 0.4 (eps_c + 0.4 (eps_c - eps_u)), SD's VAE "
    "(configs/imagenet256_uvit_huge.py)", "MIT (the code; the weights' license UNCONFIRMED)",
    t_range=(1.0, 1000.0))
SD3 = Family("sd3", "Stable Diffusion 3 MMDiT (SD3-medium 2B; SD3.5-large 8B)", None,
    "rectified flow: sigma in [0, 1], 1 = noise; the transformer receives timestep = 1000 sigma "
    "(FlowMatchEulerDiscreteScheduler: the first step is sigma = 1 whatever the shift)", 1000, "continuous",
    None, "FlowMatch Euler 28 steps, guidance 7.0 (StableDiffusion3Pipeline's defaults)",
    "Stability AI Community License (gated on Hugging Face)", t_range=(0.0, 1000.0))
AUDIOLDM = Family("audioldm", "AudioLDM-S-full-v2 (UNet; text as a class embedding)", None,
    _DDPM + "; the pipeline's default DDIM 10 steps start at 900 + steps_offset ('leading' spacing: the "
    "reader records the repository scheduler's first step)", 999, "integer", None,
    "DDIM 10 steps, guidance 2.5 (AudioLDMPipeline's defaults)", "UNCONFIRMED", t_range=(0, 999))


def check_t(family, t):
    """`t` as a float if `family` (a `Family`) receives it: finite, in its `t_range`, whole for an integer t_type.

    ValueError naming the family's range otherwise.
    """
    low, high = family.t_range or (-math.inf, math.inf)
    whole = family.t_type == "integer"
    allowed = f"{'an integer' if whole else 'a number'} in [{low:g}, {high:g}]" if family.t_range else "finite"
    try:
        value = float(t)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high and (value.is_integer() or not whole)):
        raise ValueError(f"t must be {allowed} for family {family.name}; got {t!r}")
    return value
