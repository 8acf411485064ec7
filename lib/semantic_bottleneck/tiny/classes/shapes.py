"""Procedural class-conditional images: a seed-determined stand-in for ImageNet.

Class k is (shape k // len(COLOURS), colour k % len(COLOURS)); each image varies in position,
size, rotation, background tint and pixel noise. RGB, values in [-1, 1], made in memory.
"""
import math

import torch

SHAPES = ("circle", "square", "triangle", "cross", "ring")
COLOURS = {
    "red": (0.95, -0.75, -0.75),
    "green": (-0.75, 0.85, -0.6),
    "blue": (-0.7, -0.45, 0.95),
    "yellow": (0.95, 0.85, -0.8),
}
NUM_CLASSES = len(SHAPES) * len(COLOURS)


def class_names():
    """Human-readable names of the classes, in label order ("red circle", ...)."""
    return [f"{colour} {shape}" for shape in SHAPES for colour in COLOURS]


def shape_sdf(shape, px, py, r):
    """Signed distance (in pixels, negative inside) of one shape at rotated coordinates (N, H, W)."""
    if shape == "circle":
        return torch.sqrt(px**2 + py**2) - r
    if shape == "square":
        return torch.maximum(px.abs(), py.abs()) - 0.8 * r
    if shape == "triangle":
        sides = [(math.cos(a), math.sin(a)) for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3, math.pi / 2 + 4 * math.pi / 3)]
        return torch.stack([-(nx * px + ny * py) for nx, ny in sides]).amax(0) - 0.5 * r
    if shape == "cross":
        arm = lambda a, b: torch.maximum(a.abs() - r, b.abs() - 0.35 * r)
        return torch.minimum(arm(px, py), arm(py, px))
    if shape == "ring":
        return (torch.sqrt(px**2 + py**2) - 0.75 * r).abs() - 0.3 * r
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def render(labels, generator, image_size=16):
    """Images (N, 3, S, S) in [-1, 1] for integer labels (N,), random nuisances from `generator`."""
    n, s = labels.shape[0], image_size
    u = lambda *shape: torch.rand(*shape, generator=generator)
    cx, cy = (0.36 + 0.28 * u(n)) * s, (0.36 + 0.28 * u(n)) * s
    radius = (0.32 + 0.12 * u(n)) * s
    angle = 2 * math.pi * u(n)
    grid = torch.arange(s, dtype=torch.float32) + 0.5
    dx = grid.view(1, 1, s) - cx.view(n, 1, 1)  # (N, 1, S)
    dy = grid.view(1, s, 1) - cy.view(n, 1, 1)  # (N, S, 1)
    cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)  # (N, 1, 1)
    px, py = cos * dx + sin * dy, -sin * dx + cos * dy  # (N, S, S)
    r = radius.view(n, 1, 1)  # (N, 1, 1)
    shape_ids, colour_ids = labels // len(COLOURS), labels % len(COLOURS)
    sdf = torch.empty(n, s, s)
    for k, shape in enumerate(SHAPES):
        pick = shape_ids == k
        if pick.any():
            sdf[pick] = shape_sdf(shape, px[pick], py[pick], r[pick])
    mask = torch.sigmoid(-sdf / 0.4).unsqueeze(1)  # (N, 1, S, S), anti-aliased
    palette = torch.tensor(list(COLOURS.values()))
    colour = (palette[colour_ids] + 0.1 * (u(n, 3) - 0.5)).view(n, 3, 1, 1)  # (N, 3, 1, 1)
    background = (-0.9 + 0.6 * u(n, 1) + 0.15 * (u(n, 3) - 0.5)).view(n, 3, 1, 1)  # (N, 3, 1, 1)
    image = background * (1 - mask) + colour * mask + 0.04 * torch.randn(n, 3, s, s, generator=generator)
    return image.clamp(-1, 1)


def batch(n, generator, image_size=16, num_classes=NUM_CLASSES):
    """A batch of n (images, labels) with labels uniform over the first `num_classes` classes."""
    if not 1 <= num_classes <= NUM_CLASSES:
        raise ValueError(f"num_classes must be in 1..{NUM_CLASSES}, got {num_classes}")
    labels = torch.randint(0, num_classes, (n,), generator=generator)
    return render(labels, generator, image_size), labels
