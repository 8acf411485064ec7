"""Typed settings: one frozen dataclass per chapter, each field with its one-line meaning and its tiny default.

`setting(default, doc, ...)` declares a field; `Settings` holds what every chapter has, `SamplingSettings` what
every chapter that samples has (declared once; a chapter redeclares a field only to change its default, with
`like`). `resolve(cls, notebook, values)` is the one rule wherever a notebook runs: the class's defaults (the tiny
profile's), then `params/<profile>.yaml`'s section, then explicit overrides (values that differ from the default
and from the profile's value); it validates every value before any compute and records where each came from.
"""
from dataclasses import MISSING, asdict, dataclass, field, fields
import difflib
from pathlib import Path
import tempfile
import typing

from ..cache import CACHE_ENV, cache_root
from ..devices import cuda_visible
from ..profiles import PROFILES, profile_parameters, profile_sections

SOURCES = ("default", "profile", "override")


def setting(default, doc, *, choices=None, low=None, high=None, above=None, folder=False, why=""):
    """A settings field: its tiny default, its one-line meaning, and what values are allowed (checked on build):
    `choices`, `low` <= value <= `high`, value > `above` (each item of a list), a writable `folder`; `why` ends the
    error line of a value out of range."""
    meta = {"doc": doc, "choices": choices, "low": low, "high": high, "above": above, "folder": folder, "why": why}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def like(cls, name, default):
    """Field `name` of `cls` (its meaning and checks) with another default."""
    meta = next(f.metadata for f in fields(cls) if f.name == name)
    return setting(default, meta["doc"], choices=meta["choices"], low=meta["low"], high=meta["high"],
                   above=meta["above"], folder=meta["folder"], why=meta["why"])


def nearest(name, names):
    """' (did you mean X?)' for the closest of `names`, or ''."""
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def _type_ok(value, annotation):
    """Whether `value` has the type `annotation` (int, float, str, bool, list[...], dict[str, ...])."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return isinstance(value, (list, tuple)) and all(_type_ok(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_type_ok(k, args[0]) and _type_ok(v, args[1]) for k, v in value.items())
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def _type_name(annotation):
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list:
        return f"a list of {_type_name(args[0])}"
    if origin is dict:
        return f"a mapping of {_type_name(args[0])} to {_type_name(args[1])}"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[annotation]


def check_value(cls, name, value):
    """ValueError in one line unless `value` is allowed for field `name` of `cls`."""
    f = next(f for f in fields(cls) if f.name == name)
    hint = typing.get_type_hints(cls)[name]
    where = f"{cls.chapter} setting {name}"
    if not _type_ok(value, hint):
        raise ValueError(f"{where} must be {_type_name(hint)}; got {value!r}")
    meta = f.metadata
    items = value if isinstance(value, (list, tuple)) else [value]
    if meta["choices"] is not None and any(v not in meta["choices"] for v in items):
        raise ValueError(f"{where} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}")
    bounds = [(f"> {meta['above']}", lambda v: v > meta["above"]) if meta["above"] is not None else None,
              (f">= {meta['low']}", lambda v: v >= meta["low"]) if meta["low"] is not None else None,
              (f"<= {meta['high']}", lambda v: v <= meta["high"]) if meta["high"] is not None else None]
    bounds = [bound for bound in bounds if bound]
    if any(not ok(v) for v in items for _, ok in bounds):  # `not ok` also refuses NaN
        why = f" ({meta['why']})" if meta["why"] else ""
        raise ValueError(f"{where} must be {' and '.join(text for text, _ in bounds)}; got {value!r}{why}")


def check_writable(what, value):
    """ValueError in one line (starting with `what`) unless the folder `value` is a writable folder, or can be made
    in the nearest folder above it that exists."""
    if not value:
        return
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what}: {value} is a file, not a folder")
    while not path.exists() and path.parent != path:
        path = path.parent
    try:  # a file made and removed: permission bits alone miss a read-only mount, and root ignores them
        if not path.is_dir():
            raise NotADirectoryError(f"{path} is not a folder")
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise ValueError(f"{what}: {value} is not writable ({err.strerror or err}, at {path}); "
                         "choose a folder you can write to") from None


@dataclass(frozen=True)
class Settings:
    """What every chapter has: the profile, the base seed and where its numbers go."""

    chapter: typing.ClassVar[str] = "a notebook"

    profile: str = setting("tiny", "tiny | ci | paper: the models and sizes the numbers come from", choices=PROFILES)
    seed: int = setting(0, "base seed of the per-index noise (and of any random choice the chapter makes)", low=0)
    output_dir: str = setting("results", "where this notebook's numbers are written for the status page",
                              folder=True)
    home: str = setting("", "one folder for every result, figure and trained model of the run, so a rerun there "
                            "continues (Colab: a Drive folder); empty: the usual places", folder=True)

    def __post_init__(self):
        for f in fields(self):
            check_value(type(self), f.name, getattr(self, f.name))

    def as_dict(self):
        """The settings as a plain dict, in declaration order."""
        return asdict(self)

    @classmethod
    def names(cls):
        """The names of every setting."""
        return [f.name for f in fields(cls)]

    @classmethod
    def defaults(cls):
        """Every setting's tiny default."""
        return {f.name: (f.default_factory() if f.default is MISSING else f.default) for f in fields(cls)}

    @classmethod
    def docs(cls):
        """Every setting's one-line meaning."""
        return {f.name: f.metadata["doc"] for f in fields(cls)}

    def check_folders(self):
        """Every output and cache folder of these settings is writable (before any compute)."""
        for f in fields(self):
            if f.metadata["folder"]:
                check_writable(f"{self.chapter} setting {f.name}", getattr(self, f.name))


@dataclass(frozen=True)
class SamplingSettings(Settings):
    """What every chapter that samples has: sample counts and seeds, the device and the row store."""

    samples_per_seed: int = setting(300, "samples per seed and row (conditions cycle with the index)", low=1)
    seeds: int = setting(3, "seeds per row (disjoint blocks of sample indices); two or more give the noise floor",
                         low=2, why="the noise floor and the 95% intervals of every verdict need two or more seeds")
    batch_size: int = setting(32, "samples per network call (CFG doubles the rows)", low=1)
    device: str = setting("auto", "auto (cuda when a GPU is visible, else cpu) | cpu | cuda",
                          choices=("auto", "cpu", "cuda"))
    dtype: str = setting("float32", "float32 | bfloat16 (autocast; GPU)", choices=("float32", "bfloat16"))
    threads: int = setting(0, "CPU threads while sampling (0 keeps torch's; 1 avoids contention on a shared CPU)",
                           low=0)
    resume_dir: str = setting("", "keep finished rows here, so a re-run resumes (empty: off; Colab: a Drive folder)",
                              folder=True)
    grid_samples: int = setting(10, "samples per row kept for the figures", low=0)
    kid_subsets: int = setting(50, "KID: random subsets averaged", low=1)
    kid_subset_size: int = setting(300, "KID subset size (capped by the sample count)", low=2)

    def __post_init__(self):
        super().__post_init__()
        if self.device == "cuda" and not cuda_visible():
            raise ValueError(f"{self.chapter} setting device is cuda, but no CUDA device is visible; use auto or cpu")

    @property
    def total_samples(self):
        """Samples per row over every seed."""
        return self.seeds * self.samples_per_seed


def _subclasses(cls):
    """Every subclass of `cls`, at any depth."""
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def resolve(cls, values):
    """(settings, sources) of a notebook run: defaults, then the named profile's section, then explicit overrides.

    `values` are the run's values (a notebook's parameters after papermill's injection, a command's options):
    a value equal to its default takes the profile's, any other is an override. Unknown names, in `values` or in
    the profile's section, fail with one line naming the nearest setting.
    """
    names = cls.names()
    for name in values:
        if name not in names:
            raise ValueError(f"{cls.chapter} has no setting {name}{nearest(name, names)}")
    defaults = cls.defaults()
    profile = values.get("profile", defaults["profile"])
    check_value(cls, "profile", profile)
    chapters = {c.chapter for c in _subclasses(Settings)} | {"all"}
    for section in profile_sections(profile):
        if section not in chapters:
            raise ValueError(f"params/{profile}.yaml has a section {section} that names no chapter"
                             f"{nearest(str(section), sorted(chapters))}")
    from_profile = {k: v for k, v in profile_parameters(profile, cls.chapter).items() if k != "profile"}
    for name in from_profile:
        if name not in names:
            raise ValueError(f"params/{profile}.yaml section {cls.chapter}: no setting {name}{nearest(name, names)}")
    overrides = {k: v for k, v in values.items() if k != "profile" and v != defaults[k] and v != from_profile.get(k)}
    resolved = {**defaults, **from_profile, **overrides, "profile": profile}
    sources = {k: "override" if k in overrides else "profile" if k in from_profile else "default" for k in names}
    settings = cls(**resolved)
    settings.check_folders()
    if not settings.home:  # with a home folder the model cache moves under it (checked above)
        check_writable(f"the model cache (${CACHE_ENV}, else .cache in a checkout)", str(cache_root()))
    return settings, sources
