"""The checks of a chapter's settings that need the registry or the sampler presets, made before any compute:
every model a setting names fits the chapter (its condition; sampled where the chapter samples it), no model is named
twice, every sampler preset exists, and `last_k` (and the k sweep) stay within the steps of each model's sampler.

`check_settings(settings)` is called by `book.provenance.start_run` (every notebook) and the `prune` command, after
`settings.resolve` (names, types, ranges, devices, folders). Each failure is one ValueError line naming the setting.
"""
from ..registry import model
from ..sampling.presets import preset

CLASSES = ("imagenet classes", "shape classes")
POSES = ("person pairs", "deepfashion pairs")
VIDEOS = ("video frame features", "cavp video features")
# chapter -> {setting naming models: (the conditions its models must take (None: any), whether they are sampled)}
MODEL_SETTINGS = {
    "01_similarity": {"models": (CLASSES, False)},
    "02_sparsity": {"models": (CLASSES, False)},
    "03_pruning": {"models": (CLASSES, True)},
    "04_pose_guided": {"models": (POSES, True), "statistics_only": (POSES, False)},
    "05_video_to_audio": {"model": (VIDEOS, True)},
    "06_compute": {"compress_model": (CLASSES, True), "direction_models": (None, True)},
    "07_mechanisms": {"mechanisms": (CLASSES, True), "paper_models": (None, False)},
    "08_hypotheses": {"h1_models": (None, False), "h2_model": (CLASSES, True), "h3_models": (None, False)},
}


def _names(value):
    """The model names a setting holds: a name, a list of names, or a mapping whose values are names."""
    if isinstance(value, str):
        return [value]
    return list(value.values()) if isinstance(value, dict) else list(value)


def check_model(chapter, setting, name, where=None):
    """ValueError in one line (starting with `where`) unless the registry model `name` fits `setting` of `chapter`."""
    where = where or f"{chapter} setting {setting}"
    entry = _entry(where, name)
    conditions, sampled = MODEL_SETTINGS[chapter][setting]
    if conditions is not None and entry.condition not in conditions:
        raise ValueError(f"{where}: {name} is conditioned on {entry.condition}; this chapter takes models "
                         f"conditioned on {' or '.join(conditions)}")
    if sampled and entry.sampler is None:
        raise ValueError(f"{where}: {name} is read for its statistics only, never sampled here"
                         f"{f' ({entry.not_sampled})' if entry.not_sampled else ''}; this chapter samples its models")


def _entry(where, name):
    """The registry entry of `name`; ValueError starting with `where` listing the registry's names."""
    try:
        return model(name)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def check_models(chapter, setting, names, where=None):
    """Every name fits `setting` (`check_model`) and none is named twice (its rows would run twice)."""
    where = where or f"{chapter} setting {setting}"
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ValueError(f"{where}: {name} is named twice; name each model once")
        check_model(chapter, setting, name, where)


def check_settings(settings, models=None, where="--model"):
    """Check a chapter's settings against the registry and the sampler presets (before any compute).

    `models` replaces the chapter's sampled models where a command names its own (`prune --model`, named `where`).
    """
    chapter = settings.chapter
    samplers = getattr(settings, "samplers", {})
    sampled = []
    for setting, (_, is_sampled) in MODEL_SETTINGS.get(chapter, {}).items():
        own = models is not None and is_sampled
        names = list(models) if own else _names(getattr(settings, setting))
        check_models(chapter, setting, names, where if own else None)
        sampled += names if is_sampled else []
    for name in samplers:
        _entry(f"{chapter} setting samplers", name)
    steps = {name: _steps(f"{chapter} setting samplers", samplers.get(name) or model(name).sampler)
             for name in sampled}
    for name in getattr(settings, "presets", []):
        _steps(f"{chapter} setting presets", name)
    ks = {"last_k": [settings.last_k], "sweep_k": settings.sweep_k} if hasattr(settings, "last_k") else {}
    for setting, values in ks.items():
        for k in values:
            for name, n in steps.items():
                if k > n:
                    raise ValueError(f"{chapter} setting {setting} must be at most the {n} steps of {name}'s "
                                     f"sampler; got {k}")


def _steps(where, name):
    """The number of steps of sampler preset `name`; ValueError starting with `where` listing the presets."""
    try:
        return preset(name).num_steps
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
