"""A frozen frame encoder trained here once: the tiny profile's stand-in for CAVP, MDSGen's video features.

MDSGen reads CAVP features (Diff-Foley's contrastive audio-visual encoder, 512 per frame at 4 fps). This stand-in is
a small CNN over each frame and its change from the previous frame, trained once on procedural `train` clips to say
what a frame shows about the sound: whether the event happens in it, whether it has happened, the object's shape
and colour (while visible) and the fall's speed. Its last hidden layer (F per frame) is the feature; the heads are
dropped after training. Shapes: N clips, T frames, S frame side, F features.
"""
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F
from tqdm import tqdm

from . import clips
from ..cached import load_or_train

CACHE_VERSION = 1
TARGETS = ("event now", "event done", "shape", "colour", "speed")


@dataclass(frozen=True)
class FrameEncoderConfig:
    """What determines the trained encoder (and so its cache key)."""

    feature_dim: int = 32
    width: int = 16
    steps: int = 400
    pool_clips: int = 1024  # `train` clips rendered once and drawn from
    clips_per_batch: int = 16
    lr: float = 3e-3
    seed: int = 0


def conv_body(in_channels, width):
    """Three 3x3 convolutions with GELUs, the last two of stride 2: (N, in, S, S) -> (N, 2 width, S/4, S/4)."""
    return nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.GELU(),
                         nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.GELU(),
                         nn.Conv2d(2 * width, 2 * width, 3, stride=2, padding=1), nn.GELU())


class FrameEncoder(nn.Module):
    """CNN over a frame and its change from the previous one -> features (F); training heads for what it should see."""

    def __init__(self, config: FrameEncoderConfig):
        super().__init__()
        self.body = nn.Sequential(*conv_body(6, config.width), nn.Flatten())
        self.project = nn.Linear(2 * config.width * (clips.FRAME_SIZE // 4) ** 2, config.feature_dim)
        self.heads = nn.Linear(config.feature_dim, 2 + 2 * len(clips.EVENTS) + 1)  # now, done, shape, colour, speed

    def forward(self, frames):
        """Features (N, T, F) of clips' frames (N, T, 3, S, S)."""
        n, t = frames.shape[:2]
        change = torch.cat([torch.zeros_like(frames[:, :1]), frames[:, 1:] - frames[:, :-1]], dim=1)
        pairs = torch.cat([frames, change], dim=2).flatten(0, 1)  # (N*T, 6, S, S)
        return F.gelu(self.project(self.body(pairs))).reshape(n, t, -1)  # (N, T, F)


def frame_targets(batch):
    """Per-frame training targets (N, T) of `clips.Clips`: event now, event done, shape, colour, speed, visible."""
    f = torch.arange(clips.FRAMES).view(1, -1)  # (1, T)
    e = batch.event_frame.view(-1, 1)  # (N, 1)
    visible = (batch.kind.view(-1, 1) == 0) | (f >= e)  # (N, T)
    expand = lambda v: v.view(-1, 1).expand(-1, clips.FRAMES)  # (N,) -> (N, T)
    return {"now": (f == e).float(), "done": (f >= e).float(), "shape": expand(batch.shape),
            "colour": expand(batch.colour), "speed": expand(batch.speed) / clips.SPEEDS[1], "visible": visible.float()}


def training_loss(encoder, frames, targets):
    """The sum of the heads' losses: two binary, two classes (on visible frames), speed (squared error)."""
    k = len(clips.EVENTS)
    out = encoder.heads(encoder(frames))  # (N, T, 2 + 2K + 1)
    visible = targets["visible"]
    classes = sum((F.cross_entropy(out[..., 2 + i * k:2 + (i + 1) * k].flatten(0, 1), targets[name].flatten(),
                                   reduction="none") * visible.flatten()).sum() / visible.sum()
                  for i, name in enumerate(("shape", "colour")))
    binary = sum(F.binary_cross_entropy_with_logits(out[..., i], targets[name]) for i, name in enumerate(("now", "done")))
    return binary + classes + F.mse_loss(out[..., -1], targets["speed"])


def train_encoder(config: FrameEncoderConfig, progress=True):
    """Train the encoder on rendered `train` clips; returns (encoder, record of its final loss)."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    pool = clips.draw("train", range(config.pool_clips))
    frames, targets = clips.render(pool), frame_targets(pool)
    encoder = FrameEncoder(config)
    opt = torch.optim.Adam(encoder.parameters(), lr=config.lr)
    running = None
    for _ in tqdm(range(config.steps), desc="training frame encoder (CAVP stand-in)", disable=not progress,
                  mininterval=2):
        pick = torch.randint(0, config.pool_clips, (config.clips_per_batch,), generator=generator)
        loss = training_loss(encoder, frames[pick], {k: v[pick] for k, v in targets.items()})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        running = loss.item() if running is None else 0.95 * running + 0.05 * loss.item()
    return encoder.eval(), {"final_loss": running}


def load_frame_encoder(config: FrameEncoderConfig, progress=True):
    """The cached frozen encoder of `config` (trained on first use): (encoder, record)."""
    return load_or_train("frame-encoder", config, FrameEncoder, train_encoder, CACHE_VERSION, progress)


@torch.no_grad()
def clip_features(encoder, batch, chunk=256):
    """The frozen encoder's features (N, T, F) of `clips.Clips` (rendered here, in chunks)."""
    out = []
    for start in range(0, len(batch), chunk):
        out.append(encoder(clips.render(batch[start:start + chunk])))
    return torch.cat(out) if out else torch.zeros(0, clips.FRAMES, encoder.project.out_features)
