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


def read_utf8(path):
    """The text of a file; ValueError naming the file (and the line of the first byte that is not UTF-8)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise ValueError(f"{path} cannot be read ({err.strerror or err})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise ValueError(f"{path} line {line}: not UTF-8 text (byte 0x{data[err.start]:02x})") from None


def _yaml(path):
    """The YAML document in `path`; ValueError naming the file and the line of a syntax error."""
    try:
        return yaml.safe_load(read_utf8(path))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
        opened = f", {context} that starts on line {start.line + 1}" if context and start else ""
        raise ValueError(f"{path}{where}: not valid YAML ({what}{opened})") from None


def profile_parameters(profile, notebook, folder=PARAMS):
    """The parameters `params/<profile>.yaml` sets for `notebook` (its `all` section, then its own), plus `profile`.

    ValueError naming the file (and line) when it is not UTF-8 YAML mapping sections to `name: value` lines.
    """
    path = Path(folder) / f"{check_profile(profile)}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"profile {profile!r} has no parameter file {path}")
    sections = _yaml(path) or {}
    if not isinstance(sections, dict):
        raise ValueError(f"{path} must map notebook names (and `all`) to their parameters; it holds a "
                         f"{type(sections).__name__}")
    for name in ("all", notebook):
        section = sections.get(name) or {}
        if not isinstance(section, dict):
            raise ValueError(f"{path}: section {name} must be `parameter: value` lines; it holds a "
                             f"{type(section).__name__}")
        bad = [key for key in section if not isinstance(key, str)]
        if bad:
            raise ValueError(f"{path}: section {name} has a key that is not a parameter name: {bad[0]!r}")
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
