"""Typed settings: every chapter's settings as one frozen dataclass (`chapters`), built and checked by one rule
(`core.resolve`: defaults, then the profile's section, then explicit overrides) before any compute.

May import: `profiles` (the profile files), `cache` (the model cache's folder, checked writable) and `devices` (is
CUDA visible). Everything above it builds settings from here: notebooks (`book.provenance.start_run`), the book driver,
the `prune` command and the tests. What needs the registry or the sampler presets (a model that fits the chapter,
`last_k` within the sampler's steps) is checked one level up, by `study.settings_checks.check_settings`.
"""
from .chapters import (AudioSettings, ComputeSettings, HypothesesSettings, MechanismSettings, PoseSettings,
                       PruningSettings, SimilaritySettings, SparsitySettings)
from .core import SamplingSettings, Settings, check_writable, resolve

SETTINGS = {cls.chapter: cls for cls in (SimilaritySettings, SparsitySettings, PruningSettings, PoseSettings,
                                         AudioSettings, ComputeSettings, MechanismSettings, HypothesesSettings)}


def settings_class(notebook):
    """The settings class of a notebook, or ValueError naming the notebooks that have one."""
    if notebook not in SETTINGS:
        raise ValueError(f"notebook must be one of {', '.join(SETTINGS)}; got {notebook!r}")
    return SETTINGS[notebook]


__all__ = ["SETTINGS", "SamplingSettings", "Settings", "check_writable", "resolve", "settings_class"]
