"""Small image encoders trained on the procedural people: the tiny profile's stand-ins for DINOv2 and its judge.

X-MDPT reads frozen DINOv2 tokens of the target pose (ViT-B/14) and of the source image (ViT-G/14). The tiny
profile cannot download them, so it trains three small convolutional encoders here, once, and caches them:
- the **pose encoder** (stand-in for DINOv2-B/14) reads skeleton images and is trained to regress the keypoints;
- the **source encoder** (stand-in for DINOv2-G/14, wider) reads person images and regresses keypoints and
  appearance (colours and proportions);
- the **evaluation network** has the source encoder's task but is trained on the held-out people (never a
  training or a test person) from another seed; it reads a generated image's pose and person, and its pooled
  features stand in for Inception's in FID.
Each gives a class token and one token per cell of a 6x6 grid, LayerNorm-ed like DINOv2's output: (N, 37, F).
Shapes: N images, S side, F token width, G grid side.
"""
from dataclasses import asdict, dataclass

import torch
from torch import nn
import torch.nn.functional as F
from tqdm import tqdm

from . import bodies
from ..cached import load_or_train

CACHE_VERSION = 1
TASKS = ("pose", "person")  # pose: skeleton -> keypoints; person: person image -> keypoints and appearance


@dataclass(frozen=True)
class EncoderConfig:
    """What determines a trained encoder (and so its cache key)."""

    task: str = "person"
    split: str = "train"  # whose people it learns from ("heldout" for the evaluation network)
    image_size: int = 24
    width: int = 64  # patch embedding width
    token_width: int = 48  # F
    steps: int = 400
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if self.image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4; got {self.image_size!r}")

    @property
    def outputs(self):
        """How many numbers the encoder's head predicts: 22 keypoint coordinates (+ 15 appearance numbers)."""
        return 2 * len(bodies.KEYPOINTS) + (15 if self.task == "person" else 0)


class TokenEncoder(nn.Module):
    """A ViT-like patch encoder: 4x4 patches embedded with a learned position embedding, two token-wise MLP
    layers, a class token from their mean, all LayerNorm-ed; a linear head reads every token and predicts the
    training targets."""

    def __init__(self, config: EncoderConfig):
        super().__init__()
        w, f, grid = config.width, config.token_width, config.image_size // 4
        self.patch = nn.Conv2d(3, w, kernel_size=4, stride=4)
        self.pos_embed = nn.Parameter(torch.zeros(1, grid * grid, w))  # learned, as a ViT's: tokens know where they are
        self.mix = nn.Sequential(nn.GELU(), nn.Linear(w, w), nn.GELU(), nn.Linear(w, f))
        self.cls = nn.Linear(f, f)
        self.norm = nn.LayerNorm(f, eps=1e-6)
        self.head = nn.Linear((1 + grid * grid) * f, config.outputs)
        self.token_count, self.token_width = 1 + grid * grid, f

    def tokens(self, images):
        """Tokens (N, 1 + G^2, F) of images (N, 3, S, S) in [-1, 1]: class token first."""
        grid = self.mix(self.patch(images).flatten(2).transpose(1, 2) + self.pos_embed)  # (N, G^2, F)
        cls = self.cls(F.gelu(grid).mean(1, keepdim=True))  # (N, 1, F)
        return self.norm(torch.cat([cls, grid], dim=1))

    def forward(self, images):
        return self.head(self.tokens(images).flatten(1))  # (N, outputs)


def targets(points, look, task, image_size):
    """The regression targets of images: keypoints scaled to [-1, 1] (N, 22), then for `person` the appearance."""
    scaled = (points / image_size * 2 - 1).flatten(1)  # (N, 22)
    if task == "pose":
        return scaled
    return torch.cat([scaled, look.colours.flatten(1), (look.proportions - 1.2) * 3], dim=1)


def training_batch(config, generator):
    """One batch of (images, targets): random people of the split in random poses (skeletons for `pose`)."""
    ids = bodies.person_ids(config.split, bodies.SPLIT_PEOPLE[config.split])
    chosen = ids[torch.randint(len(ids), (config.batch_size,), generator=generator)]
    look = bodies.appearance(chosen)
    points = bodies.keypoints(bodies.random_poses(config.batch_size, generator), look, config.image_size)
    images = (bodies.render_skeletons(points, config.image_size) if config.task == "pose"
              else bodies.render_people(points, look, config.image_size))
    return images, targets(points, look, config.task, config.image_size)


def train_encoder(config: EncoderConfig, progress=True):
    """Train an encoder from scratch (Adam, MSE on the targets); returns it frozen, in eval mode."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed + 101 * TASKS.index(config.task))
    model = TokenEncoder(config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=config.steps, pct_start=0.15)
    for _ in tqdm(range(config.steps), desc=f"training {config.task} encoder ({config.split} people)",
                  disable=not progress, mininterval=2):
        images, wanted = training_batch(config, generator)
        loss = F.mse_loss(model(images), wanted)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
    return model.eval().requires_grad_(False)


def keypoint_error(model, config, count=512):
    """Mean keypoint error in pixels of an encoder on `count` fresh images of its split's people."""
    images, wanted = training_batch(EncoderConfig(**{**asdict(config), "batch_size": count}),
                                    torch.Generator().manual_seed(config.seed + 99_991))
    with torch.no_grad():
        predicted = model(images)[:, : 2 * len(bodies.KEYPOINTS)]
    error = (predicted - wanted[:, : 2 * len(bodies.KEYPOINTS)]).reshape(count, -1, 2)  # (N, 11, 2)
    return (error.norm(dim=-1) * config.image_size / 2).mean().item()


def _train_and_measure(config, progress):
    """Train an encoder and measure its keypoint error: (network, record)."""
    model = train_encoder(config, progress)
    return model, {"keypoint_error_px": keypoint_error(model, config)}


def load_or_train_encoder(config: EncoderConfig, progress=True):
    """The cached encoder for `config` (trained on first use): (frozen model, mean keypoint error in pixels)."""
    model, record = load_or_train("pose-encoder", config, TokenEncoder, _train_and_measure, CACHE_VERSION, progress)
    return model.requires_grad_(False), record["keypoint_error_px"]
