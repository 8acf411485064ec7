"""The judge a video-to-audio study scores its samples with, by evaluator name.

- `audio-eval-network` (tiny, ci): the evaluation network trained here, against real procedural clips (FD on its
  features: an FAD analog), with onset F1, event and pitch accuracy per clip (`tiny.audio_eval`).
- `ast` (paper): AST's AudioSet features and logits of the vocoded sound. VGGSound's audio cannot be downloaded any
  more, so there is no real reference: the reference is the unpruned model's own samples of the same CAVP files on
  other noise (FD to them: how far pruning moves the sound from what the full model makes), and the per-sample
  score is whether AST's top AudioSet class matches the one the unpruned samples of that file get most often.
"""
import numpy as np
import torch

from ...checkpoints.mdsgen import AST_MODEL, load_ast
from ...devices import cpu_threads, resolve_device
from ...judge.metrics import Judge, Reference
from ...sampling.generate import generate
from ...sampling.presets import preset
from ...tiny.audio_eval import audio_judge
from ...tiny.audio_model import profile_runs
from ...settings.chapters import AudioSettings
from .rows import sampler_of

EVALUATORS = ("audio-eval-network", "ast")
REFERENCE_OFFSET = 1_000_000  # global indices of the unpruned reference samples: never those of a study


class AstFeatures:
    """Spectrograms -> sound (the model's vocoder) -> AST: pooled features (N, 768) and AudioSet logits (N, 527)."""

    def __init__(self, sound, feature_extractor, model, device="cpu", name=AST_MODEL):
        self.sound, self.feature_extractor, self.model, self.device = sound, feature_extractor, model, device
        self.num_features = model.config.hidden_size
        self.name = f"AST {name} on the vocoded sound ({self.num_features}-d pooled features, AudioSet logits)"

    @torch.no_grad()
    def __call__(self, images):
        waves = [w.numpy() for w in self.sound(images)]
        inputs = self.feature_extractor(waves, sampling_rate=self.sound.rate, return_tensors="pt")
        pooled = self.model.audio_spectrogram_transformer(inputs["input_values"].to(self.device)).pooler_output
        return pooled.float().cpu(), self.model.classifier(pooled).float().cpu()


class AudioSetAgreement:
    """Per sample: 1 if AST's top AudioSet class is the one the unpruned samples of its CAVP file get most often."""

    column = "audioset_agreement"
    name = "AudioSet top class = the unpruned model's most frequent one for the same CAVP file (AST)"

    def __init__(self, majority, files):
        self.majority, self.files = majority, files

    def __call__(self, images, conditions, logits, indices):
        expected = torch.as_tensor([self.majority[int(i) % self.files] for i in indices])
        return (logits.argmax(1) == expected).float()


def unpruned_reference(loaded, extractor, settings: AudioSettings):
    """AST features of `reference_size` unpruned samples (global indices from REFERENCE_OFFSET) and each file's
    most frequent top class among them."""
    config = preset(sampler_of(settings))
    indices = range(REFERENCE_OFFSET, REFERENCE_OFFSET + settings.reference_size)
    features, top = [], []

    def on_batch(chunk, batch, images):
        """Keep each batch's features and top classes."""
        f, logits = extractor(images)
        features.append(f)
        top.append(logits.argmax(1))

    generate(loaded.network, indices, settings.seed, config, loaded.conditions, settings.batch_size,
             decode=loaded.decode, on_batch=on_batch, keep=False, progress=False)
    files, top = loaded.conditions.size, torch.cat(top).numpy()
    rows = np.arange(len(top)) + REFERENCE_OFFSET
    majority = [int(np.bincount(top[rows % files == k]).argmax()) for k in range(files)]
    return Reference.from_features(torch.cat(features), "unpruned samples, other noise"), majority


def make_judge(settings: AudioSettings, loaded):
    """The judge of `settings.evaluator`, with the chapter's reference size and KID settings (and its threads)."""
    with cpu_threads(settings.threads):
        return _judge(settings, loaded)


def _judge(settings: AudioSettings, loaded):
    if settings.evaluator == "audio-eval-network":
        return audio_judge(profile_runs(settings.profile)[1], settings.reference_size, settings.kid_subsets,
                           settings.kid_subset_size)
    if settings.evaluator == "ast":
        device = resolve_device(settings.device)
        extractor = AstFeatures(loaded.info["sound"], *load_ast(AST_MODEL, device), device)
        reference, majority = unpruned_reference(loaded, extractor, settings)
        return Judge(extractor, AudioSetAgreement(majority, loaded.conditions.size), reference,
                     kid_subsets=settings.kid_subsets, kid_subset_size=settings.kid_subset_size)
    raise ValueError(f"evaluator must be one of {', '.join(EVALUATORS)}; got {settings.evaluator!r}")
