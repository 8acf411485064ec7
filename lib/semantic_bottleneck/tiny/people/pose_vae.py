"""A small autoencoder of the procedural people: the tiny profile's stand-in for X-MDPT's fine-tuned SD-VAE.

X-MDPT is a latent diffusion model: it denoises SD-VAE latents (32 x 32 x 4 for 256 x 256 images) and reads the
source image's latent too. The tiny pose model does the same in a 6 x 6 x 4 latent of 24 x 24 images, from this
autoencoder: trained here once on people of the training split (reconstruction, with a little noise on the latent
so that the decoder tolerates the sampler's), frozen and cached. Latents are divided by their standard deviation
over a fixed batch (`scale`, as SD-VAE's 0.18215), so the diffusion model sees roughly unit-variance latents.
Shapes: N images, S = 24 side, C = 4 latent channels, L = 6 latent side.
"""
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F
from tqdm import tqdm

from . import bodies
from ..cached import load_or_train

CACHE_VERSION = 1


@dataclass(frozen=True)
class AutoencoderConfig:
    """What determines a trained autoencoder (and so its cache key)."""

    image_size: int = 24
    latent_channels: int = 4
    width: int = 32
    steps: int = 400
    batch_size: int = 64
    lr: float = 3e-3
    latent_noise: float = 0.05
    seed: int = 0


class PersonAutoencoder(nn.Module):
    """Two stride-2 convolutions down to a 1/4-side latent, two upsamplings back; `scale` normalises latents."""

    def __init__(self, config: AutoencoderConfig):
        super().__init__()
        w, c = config.width, config.latent_channels
        self.encoder = nn.Sequential(nn.Conv2d(3, w, 3, 2, 1), nn.GELU(), nn.Conv2d(w, 2 * w, 3, 2, 1), nn.GELU(),
                                     nn.Conv2d(2 * w, c, 3, 1, 1))
        self.decoder = nn.Sequential(nn.Conv2d(c, 2 * w, 3, 1, 1), nn.GELU(), nn.Upsample(scale_factor=2),
                                     nn.Conv2d(2 * w, w, 3, 1, 1), nn.GELU(), nn.Upsample(scale_factor=2),
                                     nn.Conv2d(w, w // 2, 3, 1, 1), nn.GELU(), nn.Conv2d(w // 2, 3, 3, 1, 1))
        self.register_buffer("scale", torch.ones(()))

    def encode(self, images):
        """Normalised latents (N, C, L, L) of images (N, 3, S, S) in [-1, 1]."""
        return self.encoder(images) / self.scale

    def forward(self, latents):
        """Images (N, 3, S, S) in [-1, 1] of normalised latents: the sampler's decoder."""
        return self.decoder(latents * self.scale).clamp(-1, 1)


def train_autoencoder(config: AutoencoderConfig, progress=True):
    """Train the autoencoder on training-split people; returns it frozen, in eval mode, with its latent scale set."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 303)
    model = PersonAutoencoder(config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    for _ in tqdm(range(config.steps), desc="training the people autoencoder", disable=not progress, mininterval=2):
        indices = torch.randint(0, 10**9, (config.batch_size,), generator=generator).tolist()
        images = bodies.split_pairs("train", indices, config.seed, config.image_size).answer
        latents = model.encoder(images)
        noisy = latents + config.latent_noise * torch.randn(latents.shape, generator=generator)
        loss = F.mse_loss(model.decoder(noisy), images) + 1e-4 * latents.square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        probe = bodies.split_pairs("train", range(512), config.seed + 1, config.image_size).answer
        model.scale.fill_(model.encoder(probe).std().item())
    return model.eval().requires_grad_(False)


def reconstruction_error(model, config, count=256):
    """Mean squared reconstruction error (images in [-1, 1]) on `count` test-split answers."""
    images = bodies.split_pairs("test", range(count), config.seed, config.image_size).answer
    with torch.no_grad():
        return F.mse_loss(model(model.encode(images)), images).item()


def _train_and_measure(config, progress):
    """Train the autoencoder and measure its reconstruction error: (network, record)."""
    model = train_autoencoder(config, progress)
    return model, {"reconstruction_mse": reconstruction_error(model, config)}


def load_or_train_autoencoder(config: AutoencoderConfig, progress=True):
    """The cached autoencoder for `config` (trained on first use): (frozen model, test reconstruction MSE)."""
    model, record = load_or_train("pose-autoencoder", config, PersonAutoencoder, _train_and_measure, CACHE_VERSION,
                                  progress)
    return model.requires_grad_(False), record["reconstruction_mse"]
