"""Judging the tiny DiT's samples with the tiny profile's evaluation classifier."""
import torch

from . import shapes
from .models import load_eval_classifier, load_tiny_dit
from .sample import generate, preset


@torch.no_grad()
def class_agreement(classifier, images, labels):
    """Fraction of images the classifier assigns to the class they were generated for."""
    return (classifier(images).argmax(1) == torch.as_tensor(labels)).float().mean().item()


def tiny_sample_check(profile, seed=0, per_class=2, sampler="tiny-ddim-50"):
    """Sample `per_class` images of every class from the tiny DiT and judge them.

    Returns a dict: images, labels, predicted labels, class agreement, the classifier's held-out
    accuracy, and the agreement on real procedural images of the same labels (the ceiling).
    """
    model, _, _ = load_tiny_dit(profile)
    classifier, heldout = load_eval_classifier(profile)
    k = model.config.num_classes
    samples = generate(model, range(k * per_class), seed, preset(sampler), k)
    labels, images = samples.labels, samples.images
    predicted = classifier(images).argmax(1)
    real = shapes.render(labels, torch.Generator().manual_seed(seed), model.config.image_size)
    return {"images": images, "labels": labels, "predicted": predicted, "sampler": sampler,
            "agreement": (predicted == labels).float().mean().item(),
            "classifier_heldout_accuracy": heldout, "agreement_on_real_images": class_agreement(classifier, real, labels)}
