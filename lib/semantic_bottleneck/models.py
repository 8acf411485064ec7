"""One registry of the names a notebook may pass as `model`, resolved per profile.

`tiny-class` is the tiny class-conditional DiT trained here (its size depends on the profile);
every other name is a real checkpoint read through `readers`/`weights`.
"""
from . import shapes
from .classifier import ClassifierConfig, load_or_train_classifier
from .conditioning import ConditionEmbedding
from .profiles import check_profile
from .tiny_dit import TinyDiTConfig
from .train import TrainConfig, first_step_t, load_or_train

TINY_MODELS = ("tiny-class",)

TINY_RUNS = {
    "tiny": TrainConfig(),
    "ci": TrainConfig(model=TinyDiTConfig(hidden_size=64, depth=2, num_heads=2), steps=350, log_every=50),
}
CLASSIFIERS = {"tiny": ClassifierConfig(), "ci": ClassifierConfig(steps=250, heldout_size=500)}


def _check_profile(profile):
    return "tiny" if check_profile(profile) == "paper" else profile


def tiny_train_config(profile):
    """The tiny DiT's training configuration for a profile (`paper` uses the `tiny` one)."""
    return TINY_RUNS[_check_profile(profile)]


def load_tiny_dit(profile, progress=True):
    """The cached tiny DiT of a profile (trained on first use): (model, training log, cache folder)."""
    return load_or_train(tiny_train_config(profile), progress)


def load_eval_classifier(profile, progress=True):
    """The cached evaluation classifier of a profile: (model, held-out accuracy)."""
    return load_or_train_classifier(CLASSIFIERS[_check_profile(profile)], progress)


def load_condition_embedding(name, profile, progress=True):
    """The `ConditionEmbedding` (class table + timestep MLP) of a named model."""
    if name == "tiny-class":
        model, _, folder = load_tiny_dit(profile, progress)
        return ConditionEmbedding.from_state_dict(
            model.state_dict(), family="tiny", model=name, t0=first_step_t(),
            time_convention="integer DDPM t in 0..999, 999 = noise", source=str(folder),
            class_names=shapes.class_names()[: model.config.num_classes])
    from .stats import load_embedding
    from .weights import MODELS

    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join([*TINY_MODELS, *MODELS])}; got {name!r}")
    return load_embedding(name, progress=progress)
