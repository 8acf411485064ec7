"""What every sampling chapter's `study` shares: loading a model as the notebook does, and running its pruning studies
as a plan (label -> settings, rows, sampler)."""
from ..devices import cpu_threads, resolve_device
from ..registry import load_network
from ..study.protocol import run_study


def load(settings, name, progress=True):
    """The registered model `name` (`registry.load_network`) under the settings' profile, on their device, with their
    CPU threads while it loads (trained on first use in the tiny profiles)."""
    with cpu_threads(settings.threads):
        return load_network(name, settings.profile, resolve_device(settings.device), progress)


def run_plan(plan, name, judge, progress=True, team=None):
    """Every study of `plan` (label -> (settings, make_specs, sampler preset or None)) on the model `name`, scored by
    `judge`: label -> `study.protocol.Study`."""
    return {label: run_study(name, settings, judge, make_specs, progress, team=team, sampler=sampler)
            for label, (settings, make_specs, sampler) in plan.items()}
