"""The three profiles, their parameter files (`params/<profile>.yaml`), and a notebook's parameters as one object.

A notebook's parameters cell holds its defaults, which are the `tiny` profile's; a profile file holds only what
differs from them, one section per notebook. The files ship inside the package, so the book driver (papermill)
and a notebook opened in Colab read the same settings: in Colab, the cell after a notebook's parameters cell
applies its profile's section. `notebook_parameters` captures the parameters once, as a `Params`.
"""
from pathlib import Path

import yaml

PROFILES = ("tiny", "ci", "paper")
PARAMS = Path(__file__).resolve().parent / "params"
PLAIN = (bool, int, float, str, list, dict, tuple, type(None))
IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}


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


class Params:
    """A notebook's parameters, read as attributes (`params.seeds`); `as_dict()` gives them back as a dict."""

    def __init__(self, values):
        self.__dict__.update(values)

    def as_dict(self):
        """The parameters as a plain dict, in the order of the parameters cell."""
        return dict(self.__dict__)

    def __repr__(self):
        return "Params(" + ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items()) + ")"


def notebook_parameters(namespace):
    """The parameters of a notebook from its globals: every plain value (number, string, list, dict, None) that
    the notebook defined by the time it is called, right after its parameters cell; checks `profile`."""
    values = {k: v for k, v in namespace.items()
              if not k.startswith("_") and k not in IPYTHON_NAMES and isinstance(v, PLAIN)}
    check_profile(values.get("profile"))
    return Params(values)
