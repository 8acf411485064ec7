"""Reading c from a live model: the same vectors as the checkpoint tensors give, in both layouts."""
import torch

from semantic_bottleneck.checkpoints.diffusers import to_diffusers
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.condition.hooks import CaptureC
from semantic_bottleneck.nets.dit import DiTConfig
from helpers import random_dit

CONFIG = DiTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_classes=5)


def _model():
    return random_dit(CONFIG, std=0.2)


def test_capture_on_the_official_layout_equals_the_table_reading_and_unhooks():
    model = _model()
    labels, t = torch.tensor([0, 3, 4]), torch.tensor([999, 999, 999])
    with CaptureC(model) as capture:
        model(torch.randn(3, 4, 8, 8), t, labels)
        model(torch.randn(3, 4, 8, 8), t, labels)
    assert len(capture.vectors) == 2  # once per forward pass, not once per block
    expected = ConditionEmbedding.from_state_dict(model.state_dict()).c(999, [0, 3, 4])
    torch.testing.assert_close(capture.vectors[0], expected, rtol=1e-5, atol=1e-5)
    assert capture.stacked().shape == (6, 32)
    model(torch.randn(3, 4, 8, 8), t, labels)
    assert len(capture.vectors) == 2  # the hook is gone


def test_capture_on_diffusers_matches_the_original_formulation():
    model = _model()
    converted = to_diffusers(model)
    labels, t = torch.tensor([1, 2]), torch.tensor([500, 500])
    with CaptureC(converted) as capture:
        converted(torch.randn(2, 4, 8, 8), timestep=t, class_labels=labels)
    expected = ConditionEmbedding.from_state_dict(model.state_dict()).c(500, [1, 2])
    torch.testing.assert_close(capture.vectors[0], expected, rtol=1e-5, atol=1e-5)
