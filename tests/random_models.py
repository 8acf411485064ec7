"""Small DiTs with every weight random, shared by the tests (adaLN-Zero's zero init would make c irrelevant)."""
import torch

from semantic_bottleneck.tiny_dit import DiT


def random_dit(config, seed=0, std=0.3):
    """A `tiny_dit.DiT` in eval mode whose every parameter is drawn from N(0, std^2) after seeding torch."""
    torch.manual_seed(seed)
    model = DiT(config).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    return model
