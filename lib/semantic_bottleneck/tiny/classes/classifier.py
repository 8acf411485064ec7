"""A small CNN trained on the procedural shapes: the tiny profile's feature extractor and judge.

Its penultimate features stand in for Inception's in FID/KID, its logits for IS and class agreement.
"""
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F
from tqdm import tqdm

from . import shapes
from ..cached import load_or_train

CACHE_VERSION = 2  # 2: larger shapes


@dataclass(frozen=True)
class ClassifierConfig:
    """What determines a trained evaluation classifier (and so its cache key)."""

    image_size: int = 16
    num_classes: int = shapes.NUM_CLASSES
    width: int = 32
    steps: int = 1500
    batch_size: int = 128
    lr: float = 2e-3
    seed: int = 1234
    heldout_size: int = 2000


class EvalClassifier(nn.Module):
    """Three conv layers, global average pooling, a linear head; `num_features` for torchmetrics."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        w = config.width
        self.body = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(2 * w, 4 * w, 3, stride=2, padding=1), nn.GELU(),
        )
        self.num_features = 4 * w
        self.head = nn.Linear(4 * w, config.num_classes)

    def features(self, images):
        """Pooled features (N, F) of images (N, 3, H, W) in [-1, 1]."""
        return self.body(images).mean(dim=(2, 3))

    def forward(self, images):
        return self.head(self.features(images))  # (N, K) logits


def heldout_accuracy(model, config: ClassifierConfig):
    """Accuracy on a held-out set drawn from a seed no training batch uses."""
    g = torch.Generator().manual_seed(config.seed + 10_000)
    x, y = shapes.batch(config.heldout_size, g, config.image_size, config.num_classes)
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train_classifier(config: ClassifierConfig, progress=True):
    """Train the evaluation classifier from scratch; returns it in eval mode."""
    torch.manual_seed(config.seed)
    g = torch.Generator().manual_seed(config.seed)
    model = EvalClassifier(config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in tqdm(range(config.steps), desc="training eval classifier", disable=not progress, mininterval=2):
        x, y = shapes.batch(config.batch_size, g, config.image_size, config.num_classes)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def _train_and_measure(config, progress):
    """Train a classifier and measure its held-out accuracy: (model, record)."""
    model = train_classifier(config, progress)
    return model, {"heldout_accuracy": heldout_accuracy(model, config)}


def load_or_train_classifier(config: ClassifierConfig, progress=True):
    """The cached classifier for `config` (trained on first use); returns (model, held-out accuracy)."""
    model, record = load_or_train("classifier", config, EvalClassifier, _train_and_measure, CACHE_VERSION, progress)
    return model, record["heldout_accuracy"]
