"""Judging generated sound in the tiny profile: an evaluation network on mel spectrograms and per-clip scores.

The evaluation network (a small CNN) is trained on clips of the `eval` split, which neither the generator nor its
frame encoder ever sees, to name a spectrogram's event class (the shape's sound) and pitch class (the colour) as one
of 16 joint classes. Its pooled features give the Frechet distance to real clips' spectrograms (an FAD analog:
FAD proper uses VGGish on real audio), KID and precision/recall; its joint logits give IS. Per clip, `OnsetAlignment`
checks the sound's onset against the visual event (librosa's onset detection, within one video frame), and
`PitchAccuracy` / `EventAccuracy` the evaluation network's pitch and event class against the clip's.
Shapes: N clips, K x M spectrogram (frames x mel bands), F features.
"""
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F
from tqdm import tqdm

from ...judge.features import ClassifierFeatures
from ...judge.metrics import Reference
from . import audio, clips
from ..cached import load_or_train
from .frame_encoder import conv_body

CACHE_VERSION = 1
CLASSES = len(clips.EVENTS) * len(clips.PITCHES)  # joint class = event * 4 + pitch


@dataclass(frozen=True)
class EvalNetConfig:
    """What determines the trained evaluation network (and so its cache key)."""

    width: int = 16
    feature_dim: int = 32
    train_clips: int = 1024  # of the `eval` split
    steps: int = 250
    batch_size: int = 128
    lr: float = 3e-3
    seed: int = 0
    heldout_clips: int = 512  # of the `test` split: the accuracy the record states


class MelClassifier(nn.Module):
    """Three convolutions over a spectrogram, global average pooling, a linear layer (the features), a joint head."""

    def __init__(self, config: EvalNetConfig):
        super().__init__()
        self.body = conv_body(1, config.width)
        self.project = nn.Linear(2 * config.width, config.feature_dim)
        self.num_features = config.feature_dim
        self.head = nn.Linear(config.feature_dim, CLASSES)

    def features(self, images):
        """Features (N, F) of spectrograms (N, 1, K, M) in [-1, 1], layer-normalised (unit scale, for FD and KID)."""
        return F.layer_norm(self.project(self.body(images).mean(dim=(2, 3))), (self.num_features,))

    def forward(self, images):
        return self.head(self.features(images))  # (N, 16) joint logits


def joint_class(batch):
    """The joint class (N,) of `clips.Clips`: event * 4 + pitch."""
    return batch.shape * len(clips.PITCHES) + batch.colour


def marginals(logits):
    """(event logits (N, 4), pitch logits (N, 4)) of joint logits (N, 16), by log-sum-exp over the other factor."""
    grid = logits.reshape(-1, len(clips.EVENTS), len(clips.PITCHES))  # (N, events, pitches)
    return grid.logsumexp(dim=2), grid.logsumexp(dim=1)


def real_spectrograms(split, indices):
    """The spectrograms (N, 1, K, M) of real clips: their sound through `audio.spectrograms`."""
    return audio.spectrograms(clips.sound(clips.draw(split, indices)))


@torch.no_grad()
def accuracies(network, images, batch):
    """Event and pitch accuracy of the network on spectrograms of `clips.Clips`."""
    event, pitch = marginals(network(images))
    return {"event_accuracy": (event.argmax(1) == batch.shape).float().mean().item(),
            "pitch_accuracy": (pitch.argmax(1) == batch.colour).float().mean().item()}


def train_eval_net(config: EvalNetConfig, progress=True):
    """Train the evaluation network on `eval` clips; the record holds its accuracies on unseen `test` clips."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    train = clips.draw("eval", range(config.train_clips))
    images, labels = real_spectrograms("eval", range(config.train_clips)), joint_class(train)
    network = MelClassifier(config)
    opt = torch.optim.Adam(network.parameters(), lr=config.lr)
    for _ in tqdm(range(config.steps), desc="training audio evaluation network", disable=not progress, mininterval=2):
        pick = torch.randint(0, config.train_clips, (config.batch_size,), generator=generator)
        loss = F.cross_entropy(network(images[pick]), labels[pick])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    network.eval()
    held = range(config.heldout_clips)
    return network, accuracies(network, real_spectrograms("test", held), clips.draw("test", held))


def load_eval_net(config: EvalNetConfig, progress=True):
    """The cached evaluation network of `config` (trained on first use): (network, record with held-out accuracies)."""
    return load_or_train("audio-eval-net", config, MelClassifier, train_eval_net, CACHE_VERSION, progress)


class OnsetAlignment:
    """Per clip: onset F1 of the generated sound against the visual event, hits within one video frame (librosa)."""

    column = "onset_f1"
    name = (f"onset F1 (librosa onset detection on the mel spectrogram; a hit is within one video frame, "
            f"±{1000 / clips.FPS:g} ms, of the event)")

    def __init__(self, split="test"):
        self.split = split

    def __call__(self, images, conditions, logits, indices):
        batch = clips.draw(self.split, indices)
        true = (batch.event_frame * audio.FRAMES_PER_VIDEO_FRAME).tolist()
        return torch.tensor([audio.onset_f1(found, frame) for found, frame in zip(audio.onset_frames(images), true)])


class EventAccuracy:
    """Per clip: 1 if the evaluation network hears the clip's event class (the object's shape), else 0."""

    column = "event_accuracy"
    name = "event class = the object's shape (evaluation network)"

    def __init__(self, split="test"):
        self.split = split

    def __call__(self, images, conditions, logits, indices):
        return (marginals(logits)[0].argmax(1) == clips.draw(self.split, indices).shape).float()


class PitchAccuracy(EventAccuracy):
    """Per clip: 1 if the evaluation network hears the clip's pitch class (the object's colour), else 0."""

    column = "pitch_accuracy"
    name = "pitch class = the object's colour (evaluation network)"

    def __call__(self, images, conditions, logits, indices):
        return (marginals(logits)[1].argmax(1) == clips.draw(self.split, indices).colour).float()



def eval_features(network):
    """The evaluation network as an extractor: its features (FD on them: the FAD analog) and joint logits."""
    extractor = ClassifierFeatures(network)
    extractor.name = f"audio evaluation network features ({network.num_features}-d; FD on them: an FAD analog)"
    return extractor


def real_reference(extractor, count):
    """The reference set: `count` real clips' spectrograms of the `reference` split, through `extractor`."""
    real = real_spectrograms("reference", range(count))
    return Reference.from_features(extractor(real)[0], "real clips' spectrograms (reference split)")
