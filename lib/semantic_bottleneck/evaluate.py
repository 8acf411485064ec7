"""Judging samples with the tiny profile's evaluation classifier."""
import torch

from . import shapes
from .diffusion import sample_ddim
from .models import load_eval_classifier, load_tiny_dit


@torch.no_grad()
def class_agreement(classifier, images, labels):
    """Fraction of images the classifier assigns to the class they were generated for."""
    return (classifier(images).argmax(1) == torch.as_tensor(labels)).float().mean().item()


def tiny_sample_check(profile, seed=0, per_class=2, num_steps=50, guidance_scale=4.0):
    """Sample `per_class` images of every class from the tiny DiT and judge them.

    Returns a dict: images, labels, predicted labels, class agreement, the classifier's held-out
    accuracy, and the same agreement on real procedural images (the ceiling).
    """
    model, _, _ = load_tiny_dit(profile)
    classifier, heldout = load_eval_classifier(profile)
    k = model.config.num_classes
    labels = torch.arange(k).repeat_interleave(per_class)
    images = sample_ddim(model, labels, seed, num_steps=num_steps, guidance_scale=guidance_scale)
    with torch.no_grad():
        predicted = classifier(images).argmax(1)
    real = shapes.render(labels, torch.Generator().manual_seed(seed), model.config.image_size)
    return {"images": images, "labels": labels, "predicted": predicted,
            "agreement": (predicted == labels).float().mean().item(),
            "classifier_heldout_accuracy": heldout, "agreement_on_real_images": class_agreement(classifier, real, labels)}
