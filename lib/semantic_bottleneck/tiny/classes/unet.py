"""A tiny class-conditional U-Net (diffusers' `UNet2DModel`) on the procedural shapes: the paper's U-Net claim.

diffusers' U-Net forms one vector per sample, emb = time_embedding(t) + class_embedding(y) (its `num_class_embeds`
table, the `class_embed_type=None` path), and every ResNet block receives it through its own SiLU and Linear
(`time_emb_proj`), as adaLN receives c. `TinyUNet` wraps it with this project's call `model(x, t, y)` (so the samplers
and `tiny.train.training_loss` take it) and, with `time_in_blocks=False`, replaces the time embedding's output by
zeros: emb is then the class vector alone and no timestep reaches the network. `condition_vectors` reads emb as the
blocks receive it, by a forward hook on the first down block. Trained here, seed-determined, cached by configuration.
Shapes: N batch, E width of emb (4 x the first block's channels), K classes.
"""
from dataclasses import asdict, dataclass

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from ...sampling.schedule import LinearSchedule
from ..cached import load_or_train_logged
from ..train import training_loss
from . import shapes

CACHE_VERSION = 1


@dataclass(frozen=True)
class TinyUNetConfig:
    """Architecture and training of one tiny U-Net run (everything that sets its weights, so its cache key)."""

    channels: tuple = (16, 32)
    layers_per_block: int = 1
    time_in_blocks: bool = True
    num_classes: int = 20
    class_dropout_prob: float = 0.1
    image_size: int = 16
    in_channels: int = 3
    steps: int = 500
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0

    def __post_init__(self):
        if len(self.channels) < 1 or any(int(c) != c or c < 8 or c % 8 for c in self.channels):
            raise ValueError(f"channels must be multiples of 8 (one per resolution); got {self.channels!r}")
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(f"steps and batch_size must be >= 1; got {self.steps}, {self.batch_size}")

    @property
    def sample_size(self):
        """The image side (what `sampling.generate.input_shape` reads)."""
        return self.image_size


class TinyUNet(nn.Module):
    """diffusers' `UNet2DModel` with class labels (a null class last, for guidance), called as model(x, t, y)."""

    def __init__(self, config: TinyUNetConfig):
        super().__init__()
        from diffusers import UNet2DModel  # imported here: the rest of the package never needs diffusers' U-Net

        self.config = config
        n = len(config.channels)
        self.unet = UNet2DModel(sample_size=config.image_size, in_channels=config.in_channels,
                                out_channels=config.in_channels, block_out_channels=tuple(config.channels),
                                layers_per_block=config.layers_per_block, down_block_types=("DownBlock2D",) * n,
                                up_block_types=("UpBlock2D",) * n, num_class_embeds=config.num_classes + 1,
                                norm_num_groups=8)
        if not config.time_in_blocks:
            self.unet.time_embedding.register_forward_hook(lambda module, args, out: torch.zeros_like(out))

    def forward(self, x, t, y):
        """Predicted noise for x (N, C, H, W) at timesteps t (N,) of labels y (N,)."""
        return self.unet(x, t, class_labels=y).sample

    @torch.no_grad()
    def condition_vectors(self, t, labels):
        """emb (N, E) as the blocks receive it, for timesteps t (N,) and labels (N,), read by a hook."""
        captured = {}

        def keep(module, args, kwargs):
            """Keep the emb the first down block receives."""
            captured["emb"] = kwargs["temb"].detach().clone()

        handle = self.unet.down_blocks[0].register_forward_pre_hook(keep, with_kwargs=True)
        try:
            size = self.config.image_size
            self.unet(torch.zeros(len(labels), self.config.in_channels, size, size), torch.as_tensor(t),
                      class_labels=torch.as_tensor(labels))
        finally:
            handle.remove()
        return captured["emb"]

    @torch.no_grad()
    def time_vectors(self, t):
        """The time part of emb (N, E) for timesteps t (N,): zero when the time embedding does not reach the blocks."""
        unet = self.unet
        t = torch.as_tensor(t).reshape(-1)  # (N,)
        return unet.time_embedding(unet.time_proj(t).to(unet.dtype))

    def class_vectors(self, t):
        """emb (K, E) of every real class at one timestep t."""
        k = self.config.num_classes
        return self.condition_vectors(torch.full((k,), float(t)), torch.arange(k))


def train_unet(config: TinyUNetConfig, progress=True):
    """Train a tiny U-Net from scratch on the shapes (epsilon MSE, AdamW, labels dropped to the null class with
    `class_dropout_prob`); returns (model in eval mode, loss log)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = TinyUNet(config)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=0.0)
    schedule, rows, running = LinearSchedule(), [], None
    for step in tqdm(range(1, config.steps + 1), desc="training tiny U-Net", disable=not progress, mininterval=2):
        x0, labels = shapes.batch(config.batch_size, generator, config.image_size, config.num_classes)
        drop = torch.rand(labels.shape, generator=generator) < config.class_dropout_prob
        labels = torch.where(drop, config.num_classes, labels)
        loss = training_loss(model, x0, labels, schedule, generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 100 == 0 or step == config.steps:
            rows.append({"step": step, "loss": running})
    return model.eval(), pd.DataFrame(rows)


def load_or_train_unet(config: TinyUNetConfig, progress=True):
    """The cached U-Net of `config` (trained on first use, with `devices.training_threads` CPU threads, part of the
    key): (model, loss log, seconds its training took)."""
    model, log, _, record = load_or_train_logged(
        "tiny-unet", {**asdict(config), "cache_version": CACHE_VERSION}, lambda: TinyUNet(config),
        lambda progress: train_unet(config, progress), f"tiny U-Net ({config.steps} steps)", progress)
    return model, log, record["train_seconds"]
