"""The procedural dataset: seed-determined, in range, and with classes that differ."""
import pytest
import torch

from semantic_bottleneck.tiny.classes import shapes


def test_batch_is_seed_determined_rgb_in_range():
    x1, y1 = shapes.batch(32, torch.Generator().manual_seed(3))
    x2, y2 = shapes.batch(32, torch.Generator().manual_seed(3))
    assert x1.shape == (32, 3, 16, 16) and x1.min() >= -1 and x1.max() <= 1
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert not torch.equal(x1, shapes.batch(32, torch.Generator().manual_seed(4))[0])


def test_at_least_sixteen_classes_named_in_label_order():
    names = shapes.class_names()
    assert shapes.NUM_CLASSES >= 16 and len(set(names)) == shapes.NUM_CLASSES
    colours = list(shapes.COLOURS)
    for k in (0, 5, shapes.NUM_CLASSES - 1):  # label k renders shape k // colours with colour k % colours
        assert names[k] == f"{colours[k % len(colours)]} {shapes.SHAPES[k // len(colours)]}"


def test_colour_classes_differ_in_mean_colour_and_images_vary_within_a_class():
    g = torch.Generator().manual_seed(0)
    red = shapes.render(torch.zeros(64, dtype=torch.long), g)  # red circles
    blue = shapes.render(torch.full((64,), 2), g)  # blue circles
    assert red[:, 0].mean() > blue[:, 0].mean() + 0.1
    assert (red[0] - red[1]).abs().mean() > 0.05  # position, size, background differ


def test_shape_classes_differ_in_mask_area():
    g = torch.Generator().manual_seed(0)
    area = {}
    for k, name in enumerate(shapes.SHAPES):
        labels = torch.full((128,), k * len(shapes.COLOURS))
        area[name] = (shapes.render(labels, g)[:, 0] > 0).float().mean().item()
    assert area["ring"] < area["circle"] and area["cross"] < area["square"]


def test_bad_num_classes_is_rejected():
    with pytest.raises(ValueError, match="num_classes must be in 1..20"):
        shapes.batch(4, torch.Generator(), num_classes=99)
