"""Judges a study of a tiny model needs that no lower group builds whole: the tiny pose model's.

The class and audio models' judges come whole from `tiny` (`tiny.evaluation.classifier_judge`,
`tiny.audio_eval.audio_judge`); the pose model's is assembled here from `tiny.pose_eval`'s parts, against the real
answers of the evaluated pairs, so that any chapter that samples the tiny pose model can score it the same way.
"""
import torch

from ..judge.metrics import Judge, Reference
from ..tiny.pose_eval import PersonPreservation, PoseAccuracy, PoseEvalFeatures, load_eval_network


def pose_judge(profile, pairs, count, batch_size=64, kid_subsets=50, kid_subset_size=100, progress=True):
    """The tiny pose model's judge: the profile's evaluation network (FID features; pose accuracy first, then person
    preservation) against the real answers of the pairs at global indices 0..count-1 of `pairs` (`PosePairs`)."""
    network, _ = load_eval_network(profile, progress)
    extractor = PoseEvalFeatures(network)
    features = torch.cat([extractor(pairs.answers(range(start, min(start + batch_size, count))))[0]
                          for start in range(0, count, batch_size)])
    reference = Reference.from_features(features, f"the real answers of the {count} evaluated pairs")
    return Judge(extractor, [PoseAccuracy(pairs), PersonPreservation(pairs)], reference, kid_subsets=kid_subsets,
                 kid_subset_size=kid_subset_size)
