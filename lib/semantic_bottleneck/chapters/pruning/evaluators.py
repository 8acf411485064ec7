"""The judge a pruning chapter scores its samples with, by evaluator name."""
from ...checkpoints.evaluators import inception_clip_judge
from ...devices import resolve_device
from ...tiny.evaluation import classifier_judge

EVALUATORS = ("eval-classifier", "inception-clip")


def make_judge(params, class_names=None):
    """`eval-classifier` (tiny, ci: the evaluation classifier against procedural images) or `inception-clip`
    (paper: Inception FID/IS against ADM's reference batch, CLIP score), with the notebook's KID settings.

    The evaluation classifier is the profile's, or that of `params.classifier_profile` where a notebook sets one.
    """
    if params.evaluator == "eval-classifier":
        profile = getattr(params, "classifier_profile", "") or params.profile
        return classifier_judge(profile, params.reference_size, params.kid_subsets, params.kid_subset_size)
    if params.evaluator == "inception-clip":
        return inception_clip_judge(class_names, resolve_device(params.device), params.kid_subsets, params.kid_subset_size)
    raise ValueError(f"evaluator must be one of {', '.join(EVALUATORS)}; got {params.evaluator!r}")
