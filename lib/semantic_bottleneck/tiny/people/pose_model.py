"""The tiny pose-guided model (`tiny-pose`): a tiny latent X-MDPT trained here on procedural people, cached.

Like X-MDPT it denoises autoencoder latents (`pose_vae`, the stand-in for its fine-tuned SD-VAE: 6 x 6 x 4 for a
24 x 24 person). `PosePairs` is its condition source: pair i of the test split (people never seen in training)
becomes the condition batch the network reads (the stand-in encoders' tokens of the target skeleton and of the
source image, the source's latent, and `keep`); the answer never enters it, and scorers look it up by index
(`answers`).
`train_pose_model` trains the network (epsilon prediction, condition dropped 10% of the time as X-MDPT does for
classifier-free guidance, a one-cycle learning rate that is 3x higher on the conditioning path so that it learns
in minutes, an exponential moving average of the weights kept for sampling); every `log_every` steps the cosine
and nPR of c at t0 over a fixed set of test pairs are logged.
Shapes: N pairs, S image side, D width of c.
"""
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from ...cache import cache_root
from ...condition.measure import cosine_summary, npr_readings
from ...nets.xmdpt import PairEmbedding, TinyXMDPT, TinyXMDPTConfig
from ...profiles import check_profile
from ...sampling.network import LoadedNetwork
from ...sampling.schedule import LinearSchedule
from . import bodies
from .pose_encoders import EncoderConfig, load_or_train_encoder
from ..cached import load_or_train
from .pose_vae import AutoencoderConfig, load_or_train_autoencoder
from ..train import first_step_t, training_loss

CACHE_VERSION = 1
PATH_MODULES = ("mlp_dino_pose", "mlp_dino_img", "conv1d_pose", "conv1d_global", "conv1d_local", "mlp_final")


@dataclass(frozen=True)
class PoseTrainConfig:
    """Everything that determines a trained tiny pose model (and so its cache key)."""

    model: TinyXMDPTConfig = field(default_factory=TinyXMDPTConfig)
    autoencoder: AutoencoderConfig = field(default_factory=AutoencoderConfig)
    pose_encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(task="pose", token_width=32, steps=300))
    source_encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(task="person", token_width=48,
                                                                                steps=300))
    steps: int = 1200
    batch_size: int = 64
    lr: float = 3e-3
    path_lr_scale: float = 3.0  # the conditioning path learns this much faster (thousands of steps, not 300k)
    drop_prob: float = 0.1  # y zeroed for this share of training pairs (X-MDPT's prob = 0.1), for CFG
    ema_decay: float = 0.995
    seed: int = 0
    log_every: int = 250
    log_pairs: int = 64


class PosePairs:
    """Condition source of the tiny pose model: global index i -> pair i of a split, as the network reads it."""

    def __init__(self, pose_encoder, source_encoder, autoencoder, split="test", seed=0, image_size=24):
        self.pose_encoder, self.source_encoder, self.autoencoder = pose_encoder, source_encoder, autoencoder
        self.split, self.seed, self.image_size = split, seed, image_size

    def pairs(self, indices):
        """The pairs (`bodies.Pairs`) at global indices."""
        return bodies.split_pairs(self.split, indices, self.seed, self.image_size)

    @torch.no_grad()
    def condition(self, skeletons, sources, keep=None):
        """The condition batch of target skeletons and source images (N, 3, S, S); `keep` (N,) defaults to ones."""
        keep = torch.ones(len(sources)) if keep is None else keep
        return {"pose_tokens": self.pose_encoder.tokens(skeletons), "source_tokens": self.source_encoder.tokens(sources),
                "source_latent": self.autoencoder.encode(sources), "keep": keep}

    def for_indices(self, indices):
        """The condition batch of the pairs at global indices."""
        pairs = self.pairs(indices)
        return self.condition(pairs.skeleton, pairs.source)

    def null_like(self, batch):
        """The unconditional (CFG) batch: y is zeroed (`keep` = 0), as X-MDPT's forward does with prob = 1."""
        return {**batch, "keep": torch.zeros_like(batch["keep"])}

    def describe(self, count):
        """One line for protocol tables."""
        return (f"{count} {self.split} pairs of {min(count, bodies.SPLIT_PEOPLE[self.split])} people no training pair "
                f"shows (pair = index; source in pose A, target pose B as a skeleton, answer withheld)")

    def answers(self, indices):
        """The answers (N, 3, S, S) of the pairs at global indices: the person of the source in the target pose."""
        return self.pairs(indices).answer

    def shown(self, indices):
        """Source, target pose and answer (each (N, 3, S, S) in [-1, 1]) of the pairs, for figures."""
        pairs = self.pairs(indices)
        return {"source": pairs.source, "target pose": pairs.skeleton, "answer": pairs.answer}

    def cross(self, source_indices, pose_indices):
        """Condition batch of every (source of pair p, target skeleton of pair q), p-major: (P Q) conditions."""
        sources, poses = self.pairs(source_indices).source, self.pairs(pose_indices).skeleton
        p, q = len(sources), len(poses)
        return self.condition(poses.repeat(p, 1, 1, 1), sources.repeat_interleave(q, dim=0))


def training_pairs(config, generator):
    """A batch of training pairs (people of the train split), with their condition-dropout mask."""
    indices = torch.randint(0, 10**9, (config.batch_size,), generator=generator).tolist()
    pairs = bodies.split_pairs("train", indices, config.seed, config.autoencoder.image_size)
    keep = (torch.rand(config.batch_size, generator=generator) >= config.drop_prob).float()
    return pairs, keep


def _log_row(model, probe, step, loss):
    """Loss and the statistics of c at t0 over the probe pairs."""
    c = PairEmbedding(model, probe).c(first_step_t())
    return {"step": step, "loss": loss, **cosine_summary(c), **npr_readings(c)}


def train_pose_model(config: PoseTrainConfig, progress=True):
    """Train the tiny pose model from scratch; returns (EMA model in eval mode, training log, encoder errors)."""
    pose_encoder, pose_error = load_or_train_encoder(config.pose_encoder, progress)
    source_encoder, source_error = load_or_train_encoder(config.source_encoder, progress)
    autoencoder, reconstruction = load_or_train_autoencoder(config.autoencoder, progress)
    side = config.autoencoder.image_size
    source = PosePairs(pose_encoder, source_encoder, autoencoder, "train", config.seed, side)
    probe = PosePairs(pose_encoder, source_encoder, autoencoder, "test", config.seed, side).for_indices(
        range(config.log_pairs))
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = TinyXMDPT(config.model)
    ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay))
    path = [p for name, p in model.named_parameters() if name.startswith(PATH_MODULES)]
    rest = [p for name, p in model.named_parameters() if not name.startswith(PATH_MODULES)]
    rates = [config.lr, config.lr * config.path_lr_scale]
    opt = torch.optim.AdamW([{"params": rest}, {"params": path}], lr=config.lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, rates, total_steps=config.steps, pct_start=0.1)
    noise_schedule = LinearSchedule()
    rows, running = [], None
    bar = tqdm(range(1, config.steps + 1), desc="training tiny pose model", disable=not progress, mininterval=2)
    for step in bar:
        pairs, keep = training_pairs(config, generator)
        with torch.no_grad():
            target = autoencoder.encode(pairs.answer)  # (N, C, L, L)
        loss = training_loss(model, target, source.condition(pairs.skeleton, pairs.source, keep), noise_schedule,
                             generator)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        ema.update_parameters(model)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % config.log_every == 0 or step == config.steps:
            rows.append(_log_row(ema.module.eval(), probe, step, running))
            bar.set_postfix(loss=f"{running:.4f}", cosine=f"{rows[-1]['cosine_mean']:.4f}")
    return ema.module.eval(), pd.DataFrame(rows), {"pose encoder keypoint error (px)": pose_error,
                                            "source encoder keypoint error (px)": source_error,
                                            "autoencoder reconstruction MSE (test answers)": reconstruction}


FACTS = ("pose encoder keypoint error (px)", "source encoder keypoint error (px)",
         "autoencoder reconstruction MSE (test answers)", "train_seconds")


def _train(config, progress):
    """Train the model: (network, record of its training log and of its frozen parts' errors)."""
    model, log, facts = train_pose_model(config, progress)
    return model, {"log": log.to_dict("records"), **facts}


def load_or_train_pose_model(config: PoseTrainConfig, progress=True):
    """The cached model for `config` (trained on first use, `tiny.cached`): (model, training log, facts)."""
    model, record = load_or_train("tiny-pose", config, lambda c: TinyXMDPT(c.model), _train, CACHE_VERSION, progress)
    return model.requires_grad_(False), pd.DataFrame(record["log"]), {k: record[k] for k in FACTS}


#################################################################################
#                          The registry source `tiny-pose`                       #
#################################################################################

POSE_RUNS = {
    "tiny": PoseTrainConfig(),
    "ci": PoseTrainConfig(model=TinyXMDPTConfig(hidden_size=48, depth=2, num_heads=2),
                          autoencoder=AutoencoderConfig(steps=120),
                          pose_encoder=EncoderConfig(task="pose", token_width=32, steps=120),
                          source_encoder=EncoderConfig(task="person", token_width=48, steps=120),
                          steps=200, log_every=50, log_pairs=16),
}
REFERENCE_PAIRS = 64  # test pairs whose mean c at t0 gives the `global` mask reading
_LOADED = {}  # (training configuration, cache folder) -> what load_or_train_pose_model returned


def pose_train_config(profile):
    """The tiny pose model's training configuration for a profile (`paper` uses the `tiny` one)."""
    return POSE_RUNS["tiny" if check_profile(profile) == "paper" else profile]


def load_tiny_pose(profile, progress=True):
    """The cached tiny pose model of a profile, its pair source and facts: (model, source, log, facts).

    Read from disk once per process: every later call returns the same objects.
    """
    config = pose_train_config(profile)
    key = (config, str(cache_root()))
    if key not in _LOADED:
        model, log, facts = load_or_train_pose_model(config, progress)
        encoders = [load_or_train_encoder(c, progress)[0] for c in (config.pose_encoder, config.source_encoder)]
        autoencoder = load_or_train_autoencoder(config.autoencoder, progress)[0]
        pairs = PosePairs(*encoders, autoencoder, "test", config.seed, config.autoencoder.image_size)
        _LOADED[key] = (model, pairs, log, facts)
    return _LOADED[key]


class TinyPoseModel:
    """Registry source of `tiny-pose`: the profile's tiny X-MDPT, its pair source and c over reference pairs."""

    def training_seed(self, profile):
        """The seed the profile's model was trained with."""
        return pose_train_config(profile).seed

    def embedding(self, model, profile, progress=True):
        """c over `REFERENCE_PAIRS` test pairs (a `nets.xmdpt.PairEmbedding`), from the trained network."""
        network, pairs, _, _ = load_tiny_pose(profile, progress)
        return PairEmbedding(network, pairs.for_indices(range(REFERENCE_PAIRS)), family=model.family, model=model.name,
                             t0=first_step_t(), time_convention="integer DDPM t in 0..999, 999 = noise",
                             source=f"trained here (the {check_profile(profile)} profile's cache)", weights="EMA",
                             format="tiny cache",
                             conditions=f"{REFERENCE_PAIRS} test pairs")

    def network(self, model, profile, device="cpu", progress=True):
        """The trained network on `device` with its pair source and its decoder (the autoencoder's)."""
        network, pairs, _, facts = load_tiny_pose(profile, progress)
        embedding = self.embedding(model, profile, progress)
        return LoadedNetwork(network.to(device), embedding, pairs.autoencoder.to(device), pairs, model.family,
                             network.config.hidden_size, None, {"facts": facts})

    def class_names(self, model, profile):
        """None: the condition is a pair, not a class."""
        return None
