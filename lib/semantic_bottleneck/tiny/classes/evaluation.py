"""Judging the tiny class model's samples with the tiny profile's evaluation classifier: a quick sample check, and
the reference set of the `eval-classifier` judge (`study.judges`).

The classifier (trained separately on the same procedural shapes, `classifier`) stands in for Inception: its
pooled features feed FID/KID/precision/recall, its logits IS and class agreement, against real procedural
images as the reference set.
"""
import torch

from ...judge.metrics import Reference
from ...sampling.conditions import ClassLabels
from ...sampling.generate import generate
from ...sampling.presets import preset
from . import shapes
from .class_model import load_eval_classifier, load_tiny_dit


@torch.no_grad()
def class_agreement(classifier, images, labels):
    """Fraction of images the classifier assigns to the class they were generated for."""
    return (classifier(images).argmax(1) == torch.as_tensor(labels)).float().mean().item()


def tiny_sample_check(profile, seed=0, per_class=10, sampler="tiny-ddim-10"):
    """Sample `per_class` images of every class from the tiny DiT and judge them.

    Returns a dict: images, labels, predicted labels, class agreement, the classifier's held-out
    accuracy, and the agreement on real procedural images of the same labels (the ceiling).
    """
    model, _, _ = load_tiny_dit(profile)
    classifier, heldout = load_eval_classifier(profile)
    k = model.config.num_classes
    samples = generate(model, range(k * per_class), seed, preset(sampler), ClassLabels(k))
    labels, images = samples.conditions, samples.images
    predicted = classifier(images).argmax(1)
    real = shapes.render(labels, torch.Generator().manual_seed(seed), model.config.image_size)
    return {"images": images, "labels": labels, "predicted": predicted, "sampler": sampler,
            "agreement": (predicted == labels).float().mean().item(),
            "classifier_heldout_accuracy": heldout, "agreement_on_real_images": class_agreement(classifier, real, labels)}


def procedural_reference(extractor, count=1000, seed=12345, image_size=16):
    """Real images for the tiny profiles: `count` procedural shapes (labels index mod 20) through the extractor."""
    labels = torch.arange(count) % shapes.NUM_CLASSES
    real = shapes.render(labels, torch.Generator().manual_seed(seed), image_size)
    return Reference.from_features(extractor(real)[0], f"procedural shapes (seed {seed})")

