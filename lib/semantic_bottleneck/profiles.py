"""The three profiles and their parameter files (`params/<profile>.yaml`, one section per notebook).

The files ship inside the package, so the book driver (papermill) and a notebook opened in Colab read the
same settings: in Colab, the cell after a notebook's parameters cell applies its profile's section.
"""
from pathlib import Path

import yaml

PROFILES = ("tiny", "ci", "paper")
PARAMS = Path(__file__).resolve().parent / "params"


def check_profile(profile):
    """`profile` itself, or ValueError naming the allowed profiles."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}; got {profile!r}")
    return profile


def profile_parameters(profile, notebook, folder=PARAMS):
    """The parameters `params/<profile>.yaml` sets for `notebook` (its `all` section, then its own), plus `profile`."""
    path = Path(folder) / f"{check_profile(profile)}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"profile {profile!r} has no parameter file {path}")
    sections = yaml.safe_load(path.read_text()) or {}
    return {**(sections.get("all") or {}), **(sections.get(notebook) or {}), "profile": profile}


def apply_profile(profile, notebook, namespace):
    """Set `notebook`'s parameters for `profile` in `namespace` (a notebook's globals); prints what it set."""
    params = profile_parameters(profile, notebook)
    namespace.update(params)
    print(f"{profile} profile: " + ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "profile"))
    return params
