"""Which dimensions of c carry the condition: named head/tail subsets, and how well conditions separate in them.

A condition is "separable" in a set of dimensions when, for a group of points never seen (a timestep, a
noise draw), the nearest points of the other groups belong to the same condition (leave-one-group-out k-NN
accuracy); the silhouette by condition is a second score. Shapes: N points, D width of c, K conditions.
"""
import math

import numpy as np
from sklearn.metrics import silhouette_score
from sklearn.neighbors import KNeighborsClassifier
import torch

from .measure import dimension_variance

SUBSET_RULES = {
    "full": "all D dimensions",
    "head": "the k dimensions with the largest |mean over classes of c| at t0, k = ceil(head_fraction * D)",
    "tail": "every other dimension (the D - k with smaller |mean c|)",
    "variance head": "the k dimensions with the largest variance across classes at t0 (Fig. 9's head)",
    "random": "k dimensions drawn at random (a control for 'k dimensions are enough')",
}


def head_size(d, head_fraction):
    """k = ceil(head_fraction * d), the number of head dimensions."""
    if not 0 < head_fraction < 1:
        raise ValueError(f"head_fraction must be in (0, 1), got {head_fraction}")
    return math.ceil(head_fraction * d)


def dimension_subsets(c, head_fraction, seed=0):
    """Index sets (name -> LongTensor) for the rules in SUBSET_RULES, from c (K, D) at t0."""
    d = c.shape[1]
    k = head_size(d, head_fraction)
    by_magnitude = c.mean(0).abs().argsort(descending=True)
    by_variance = dimension_variance(c).argsort(descending=True)
    random = torch.from_numpy(np.random.default_rng(seed).choice(d, size=k, replace=False))
    return {"full": torch.arange(d), "head": by_magnitude[:k].sort().values, "tail": by_magnitude[k:].sort().values,
            "variance head": by_variance[:k].sort().values, "random": random.sort().values}


def knn_accuracy(points, labels, groups, neighbours=5):
    """Leave-one-group-out k-NN accuracy: each group's points are classified by the points of the others."""
    unique = np.unique(groups)
    if len(unique) < 2:
        raise ValueError(f"groups must have at least 2 distinct values, got {len(unique)}")
    correct = 0
    for g in unique:
        held = groups == g
        knn = KNeighborsClassifier(n_neighbors=min(neighbours, int((~held).sum()))).fit(points[~held], labels[~held])
        correct += int((knn.predict(points[held]) == labels[held]).sum())
    return correct / len(labels)


def separation_scores(points, labels, groups, neighbours=5):
    """How well classes separate: leave-one-timestep-out k-NN accuracy, silhouette by class, and chance level."""
    return {"knn_accuracy": knn_accuracy(points, labels, groups, neighbours),
            "silhouette": float(silhouette_score(points, labels)),
            "chance": 1 / len(np.unique(labels))}
