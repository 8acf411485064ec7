"""The tiny MDSGen (`tiny-mdsgen`): trained here on procedural clips, cached, and loaded as the registry loads models.

The frozen frame encoder (the CAVP stand-in) turns each `train` clip's frames into features; the tiny MDSGen learns
to denoise the clip's spectrogram from them (epsilon loss on DDPM's 1000 linear-beta steps, as the tiny DiT, with
Min-SNR weights), keeping an exponential moving average of its weights, with
the condition dropped (`keep` = 0, y zeroed) for a share of the rows so that guidance has an unconditional branch.
At sampling time, `ClipConditions` gives global index i the features of `test` clip i. Shapes: N clips, T frames,
F features, D width of c.
"""
import copy
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from ...nets.mdsgen import TinyMDSGen, TinyMDSGenConfig
from ...profiles import check_profile
from ...sampling.network import LoadedNetwork
from ...sampling.schedule import LinearSchedule
from . import audio, clips
from .audio_eval import EvalNetConfig
from ..cached import load_or_train
from .frame_encoder import FrameEncoderConfig, clip_features, load_frame_encoder
from ..train import first_step_t

CACHE_VERSION = 1


@dataclass(frozen=True)
class AudioRunConfig:
    """Everything that determines a trained tiny MDSGen (and so its cache key): model, encoder, data, optimiser."""

    model: TinyMDSGenConfig = field(default_factory=TinyMDSGenConfig)
    encoder: FrameEncoderConfig = field(default_factory=FrameEncoderConfig)
    train_clips: int = 4096
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    drop_condition: float = 0.1  # share of training rows whose y is zeroed (the CFG null)
    ema_decay: float = 0.995  # the cached (and sampled) weights are this exponential moving average
    snr_gamma: float = 5.0  # Min-SNR loss weighting
    seed: int = 0


RUNS = {
    "tiny": (AudioRunConfig(), EvalNetConfig()),
    "ci": (AudioRunConfig(model=TinyMDSGenConfig(hidden_size=32, depth=2, num_heads=2),
                          encoder=FrameEncoderConfig(steps=150, pool_clips=256), train_clips=512, steps=250),
           EvalNetConfig(train_clips=512, steps=120, heldout_clips=128)),
}


def profile_runs(profile):
    """(generator run, evaluation network) configurations of a profile (`paper` uses the `tiny` ones)."""
    return RUNS["tiny" if check_profile(profile) == "paper" else profile]


def training_set(run, encoder):
    """The `train` clips' spectrograms (N, 1, K, M) and frozen-encoder features (N, T, F)."""
    batch = clips.draw("train", range(run.train_clips))
    return audio.spectrograms(clips.sound(batch)), clip_features(encoder, batch)


def min_snr_loss(model, x0, condition, schedule, generator, gamma):
    """Epsilon MSE at uniform timesteps, each sample weighted min(SNR, gamma) / SNR (Hang et al. 2023, "Min-SNR"):
    the nearly clean, easy timesteps count less (measured here: as good after 3000 steps as the plain loss after
    5000, by FD, onset F1 and event and pitch accuracy)."""
    t = torch.randint(0, schedule.num_timesteps, (x0.shape[0],), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    snr = (schedule.alphas_cumprod[t] / (1 - schedule.alphas_cumprod[t])).float()
    error = (model(schedule.add_noise(x0, noise, t), t, condition) - noise).square().mean(dim=(1, 2, 3))  # (N,)
    return (snr.clamp(max=gamma) / snr * error).mean()


def train_tiny_mdsgen(run: AudioRunConfig, progress=True):
    """Train the tiny MDSGen on `train` clips with the frozen encoder's features; returns (model, record)."""
    encoder, _ = load_frame_encoder(run.encoder, progress)
    images, features = training_set(run, encoder)
    torch.manual_seed(run.seed)
    generator = torch.Generator().manual_seed(run.seed)
    model = TinyMDSGen(run.model)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=run.lr, weight_decay=0.0)
    schedule, running = LinearSchedule(), None
    bar = tqdm(range(run.steps), desc="training tiny MDSGen", disable=not progress, mininterval=2)
    for _ in bar:
        pick = torch.randint(0, run.train_clips, (run.batch_size,), generator=generator)
        keep = (torch.rand(run.batch_size, generator=generator) >= run.drop_condition).float()
        loss = min_snr_loss(model, images[pick], {"frames": features[pick], "keep": keep}, schedule, generator,
                            run.snr_gamma)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            for averaged, current in zip(ema.parameters(), model.parameters()):
                averaged.lerp_(current, 1 - run.ema_decay)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        bar.set_postfix(loss=f"{running:.4f}", refresh=False)
    return ema.eval(), {"final_loss": running}


def load_tiny_mdsgen(profile, progress=True):
    """The cached tiny MDSGen of a profile (trained on first use, with its frame encoder): (model, record)."""
    run, _ = profile_runs(profile)
    return load_or_train("tiny-mdsgen", run, lambda r: TinyMDSGen(r.model), train_tiny_mdsgen, CACHE_VERSION, progress)


class ClipConditions:
    """Condition source of the tiny MDSGen: global index i -> the frozen encoder's features of `test` clip i."""

    def __init__(self, encoder, split="test"):
        self.encoder, self.split = encoder, split

    def for_indices(self, indices):
        """The condition batch {`frames` (N, T, F), `keep` (N,) of ones} of global sample indices."""
        features = clip_features(self.encoder, clips.draw(self.split, [int(i) for i in indices]))
        return {"frames": features, "keep": torch.ones(len(features))}

    def null_like(self, batch):
        """The unconditional (CFG) batch: the same features, `keep` 0 (y zeroed)."""
        return {"frames": batch["frames"], "keep": torch.zeros_like(batch["keep"])}

    def labels(self, indices):
        """Grouping labels of the clips: event class (the shape's sound) and pitch class (the colour)."""
        batch = clips.draw(self.split, indices)
        return {"event class": batch.shape.tolist(), "pitch class": batch.colour.tolist()}

    def frames(self, indices):
        """The clips' video frames (N, T, 3, S, S) in [-1, 1]."""
        return clips.render(clips.draw(self.split, indices))

    def real_sound(self, indices):
        """The clips' real sound (N, L) at `clips.SAMPLE_RATE`."""
        return clips.sound(clips.draw(self.split, indices))

    def captions(self, indices):
        """One line per clip, e.g. 'red circle hits (bell, 220 Hz) at frame 5'."""
        return clips.draw(self.split, indices).labels()

    def onsets(self, indices):
        """The clips' true onsets, in mel frames of their spectrograms."""
        return (clips.draw(self.split, indices).event_frame * audio.FRAMES_PER_VIDEO_FRAME).tolist()

    def describe(self, count):
        """One line for protocol tables, for `count` samples."""
        return (f"{count} procedural {self.split} clips, one per index (their split's seeds are never used in "
                f"training); features from the frozen frame encoder (CAVP stand-in)")


class TinyAudioModel:
    """Registry source of `tiny-mdsgen`: the profile's tiny MDSGen, its test clips as conditions, c read by running it."""

    def __init__(self, table_clips=256):
        self.table_clips = table_clips

    def training_seed(self, profile):
        """The seed the profile's model was trained with."""
        return profile_runs(profile)[0].seed

    def network(self, model, profile, device="cpu", progress=True):
        """The trained tiny MDSGen on `device`; its embedding holds y of the first `table_clips` test clips (the
        `global` mask reading's mean c is over them)."""
        network, record = load_tiny_mdsgen(profile, progress)
        encoder, _ = load_frame_encoder(profile_runs(profile)[0].encoder, progress)
        conditions = ClipConditions(encoder)
        embedding = network.condition_embedding(
            conditions.for_indices(range(self.table_clips)), family=model.family, model=model.name, t0=first_step_t(),
            time_convention="integer DDPM t in 0..999, 999 = noise", rows=f"y of test clips 0..{self.table_clips - 1}")
        return LoadedNetwork(network.to(device), embedding, None, conditions, model.family, network.config.hidden_size,
                             list(clips.EVENTS), {"training": record, "sound": audio.GriffinLim()})

    def embedding(self, model, profile, progress=True):
        """c's pieces as a `ConditionEmbedding`: y of the test clips as its rows, and the timestep MLP."""
        return self.network(model, profile, "cpu", progress).embedding

    def class_names(self, model, profile):
        """The event classes (the sounds of the four shapes)."""
        return list(clips.EVENTS)
