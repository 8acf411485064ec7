"""Small models with every weight random, shared by the tests (adaLN-Zero's zero init would make c irrelevant)."""
import torch

from semantic_bottleneck.tiny_dit import DiT


def randomize(build, seed=0, std=0.3):
    """`build()` after seeding torch, in eval mode, every parameter redrawn from N(0, std^2); buffers kept."""
    torch.manual_seed(seed)
    model = build().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    return model


def random_dit(config, seed=0, std=0.3):
    """A random `tiny_dit.DiT` of `config`."""
    return randomize(lambda: DiT(config), seed, std)
