"""The model families: width of c, time convention, first denoising step t0, null row, default sampler, license.

A family is a way of forming and feeding c shared by several checkpoints (DiT, SiT, REPA, ...); the registry
names each checkpoint's family. Every statistic that needs "the first denoising step" reads t0 from here.
"""
from dataclasses import asdict, dataclass

import pandas as pd

from .files import CheckpointError

@dataclass(frozen=True)
class Family:
    """One model family: width d, time convention, first step t0, null row, default sampler, license."""

    name: str
    model: str
    d: int | None
    time_convention: str
    t0: float
    t_type: str
    null_row: int | None
    sampler: str
    license: str


_DDPM = "integer DDPM t in 0..999, 999 = pure noise"
FAMILIES = (
    Family("dit", "DiT-XL/2", 1152, _DDPM, 999, "integer", 1000,
           "DDPM 250 steps, cfg 4.0 on 3 channels (sample.py)", "CC-BY-NC-4.0 (code and weights)"),
    Family("sit", "SiT-XL/2", 1152, "continuous t in [0,1], 0 = noise, 1 = data (fed to the sinusoid unscaled)",
           0.0, "continuous", 1000, "ODE or SDE 250 steps, cfg 4.0 (sample.py)", "MIT"),
    Family("repa", "SiT-XL/2 + REPA", 1152, "continuous t in [0,1], 1 = noise, 0 = data (samplers run 1 -> 0)",
           1.0, "continuous", 1000, "SDE 250 steps, cfg 1.8, guidance interval high 0.7 (README)", "MIT"),
    Family("mg", "SiT-XL/2 + Model-Guidance", 1152, "continuous t in [0,1], 1 = noise (REPA's samplers)",
           1.0, "continuous", 1000, "250 steps, cfg 1.0 (no CFG; test.py)", "UNCONFIRMED"),
    Family("mdt", "MDT / MDTv2-XL/2", 1152, _DDPM, 999, "integer", 1000,
           "DDPM with a power-cosine CFG schedule (infer_mdt.py)", "Apache-2.0"),
    Family("lightningdit", "LightningDiT-XL/1", 1152,
           "SiT's transport: continuous t in [0,1], 0 = noise; the sampling grid t -> 0.3 t / (1 - 0.7 t) "
           "puts more steps near the noise end (t = 0 and 1 unchanged)", 0.0, "continuous", 1000,
           "ODE Euler on 250 grid points (249 steps), cfg 6.7 (800 ep) or 10.0 (64 ep) on 3 of 32 channels, "
           "only for t >= 0.125", "MIT"),
    Family("diffusers-dit", "DiT-XL/2 (diffusers)", 1152,
           _DDPM + "; c uses the original sinusoid (freq_shift 0), not diffusers' downscale_freq_shift=1",
           999, "integer", 1000, "DiTPipeline: DDIM 50 steps, guidance 4.0 on 4 channels",
           "CC-BY-NC-4.0 (weights)"),
    Family("tiny", "tiny DiT (this project)", None, _DDPM + " (1000-step linear-beta DDPM)", 999, "integer", None,
           "DDPM 1000 steps (this project)", "this project's license"),
)
FAMILY_NAMES = tuple(f.name for f in FAMILIES)


def family_row(name):
    """The `Family` record of a family name; raises CheckpointError listing the allowed names."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise CheckpointError(f"family must be one of {', '.join(FAMILY_NAMES)}; got {name!r}")


def families_frame():
    """The family table as a pandas DataFrame (one row per family; null_row None means the last row)."""
    return pd.DataFrame([asdict(f) for f in FAMILIES]).astype({"d": "Int64", "null_row": "Int64"}).set_index("name")
