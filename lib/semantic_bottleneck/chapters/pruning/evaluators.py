"""The judge a pruning chapter scores its samples with, by evaluator name."""
from ...checkpoints.evaluators import inception_clip_judge
from ...devices import resolve_device
from ...tiny.evaluation import classifier_judge
from ...settings.chapters import MechanismSettings, PruningSettings

EVALUATORS = ("eval-classifier", "inception-clip")


def make_judge(settings: PruningSettings | MechanismSettings, class_names=None):
    """`eval-classifier` (tiny, ci: the evaluation classifier against procedural images) or `inception-clip`
    (paper: Inception FID/IS against ADM's reference batch, CLIP score), with the chapter's KID settings.

    The evaluation classifier is the profile's, or that of `settings.classifier_profile` where a notebook sets one.
    """
    if settings.evaluator == "eval-classifier":
        profile = getattr(settings, "classifier_profile", "") or settings.profile
        return classifier_judge(profile, settings.reference_size, settings.kid_subsets, settings.kid_subset_size)
    if settings.evaluator == "inception-clip":
        return inception_clip_judge(class_names, resolve_device(settings.device), settings.kid_subsets,
                                    settings.kid_subset_size)
    raise ValueError(f"evaluator must be one of {', '.join(EVALUATORS)}; got {settings.evaluator!r}")
