"""The three profiles, their parameter files (`params/<profile>.yaml`), and a notebook's parameters as set.

A chapter's defaults are the `tiny` profile's (`settings.chapters`, repeated in its notebook's parameters cell); a
profile file holds only what differs from them, one section per notebook. The files ship inside the package, so the
book driver, plain papermill, Jupyter and Colab read the same ones (`settings.resolve` applies them).
`notebook_parameters` captures what a notebook's globals hold right after its parameters cell.
"""
import os
from pathlib import Path

import yaml

PROFILES = ("tiny", "ci", "paper")
PARAMS = Path(__file__).resolve().parent / "params"
PARAMS_ENV = "SEMANTIC_BOTTLENECK_PARAMS"  # another folder of profile files (tests; a fork's own profiles)
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


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last, silently)."""

    def construct_mapping(self, node, deep=False):
        """The mapping of `node`, or a ConstructorError at the second occurrence of a key."""
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"key {key!r} is given twice",
                                                        key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def _yaml(path):
    """The YAML document in `path`; ValueError naming the file and the line of a syntax error or a repeated key."""
    try:
        return yaml.load(read_utf8(path), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = getattr(err, "problem", None) or str(err).splitlines()[0]
        context, start = getattr(err, "context", None), getattr(err, "context_mark", None)
        opened = f", {context} that starts on line {start.line + 1}" if context and start else ""
        raise ValueError(f"{path}{where}: not valid YAML ({what}{opened})") from None


def params_folder():
    """The folder of the profile files: $SEMANTIC_BOTTLENECK_PARAMS, else the package's `params/`. An environment
    variable, so that a notebook's kernel reads the same files as the process that started it."""
    return Path(os.environ.get(PARAMS_ENV) or PARAMS)


def profile_sections(profile, folder=None):
    """The section names of `params/<profile>.yaml` (notebook names, and `all`)."""
    path = Path(folder or params_folder()) / f"{check_profile(profile)}.yaml"
    sections = _yaml(path) if path.exists() else {}
    return list(sections or {}) if isinstance(sections, dict) else []


def profile_parameters(profile, notebook, folder=None):
    """The parameters `params/<profile>.yaml` sets for `notebook` (its `all` section, then its own), plus `profile`.

    ValueError naming the file (and line) when it is not UTF-8 YAML mapping sections to `name: value` lines.
    """
    path = Path(folder or params_folder()) / f"{check_profile(profile)}.yaml"
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


def notebook_parameters(namespace):
    """The parameters of a notebook from its globals: every plain value (number, string, list, dict, None) that
    the notebook defined by the time it is called, right after its parameters cell; checks `profile`."""
    values = {k: v for k, v in namespace.items()
              if not k.startswith("_") and k not in IPYTHON_NAMES and isinstance(v, PLAIN)}
    check_profile(values.get("profile"))
    return values
