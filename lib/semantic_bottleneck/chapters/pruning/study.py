"""What the pruning notebook computes: its models, how one loads, and its one pruning study per model.

`run(settings, name, judge)` serves both the notebook and the `prune` command (`commands.prune_command`).
"""
from ...settings.chapters import PruningSettings
from ..plans import load, run_plan  # load: the model as the notebook and the prune command load it
from .rows import table2_specs


def models(settings: PruningSettings):
    """The model names the notebook runs."""
    return list(settings.models)


def plan(settings: PruningSettings, name):
    """The studies of one model: label -> (settings, make_specs, sampler preset or None)."""
    return {"pruning": (settings, table2_specs, None)}


def run(settings: PruningSettings, name, judge, progress=True, team=None):
    """Every study of `plan` on one model, scored by `judge`: label -> `study.protocol.Study`."""
    return run_plan(plan(settings, name), name, judge, progress, team)
