"""The real MDSGen (paper profile): its checkpoint, AudioLDM's VAE and HiFi-GAN vocoder, CAVP features, AST.

- Checkpoint: `mdsgen_audioldm.pt` (Google Drive, the link in triton99/MDSGen's README), a state dict in the official
  layout, loaded strictly into `nets.mdsgen.MDSGen`; `decode_layer` comes from the registry (no tensor records it;
  the official inference builds `MDSGen_B_2(decode_layer=4)`) and the token grid from the latent shape 8 x 204 x 16.
- Decoder: diffusers' `AutoencoderKL` of cvssp/audioldm-s-full-v2 (its `vae` folder), as the official inference
  loads it. That inference divides the latents by `pipe.vae_scale_factor`, the VAE's spatial factor 2^(levels - 1)
  = 4, not by the VAE's `scaling_factor`; so does this one. The decoded log-mel (N, 1, 816, 64) is mapped from
  [LOG_MEL_LOW, LOG_MEL_HIGH] to [-1, 1] (the samplers' image range) and back for the vocoder.
- Vocoder: transformers' `SpeechT5HifiGan` (the same repository's `vocoder` folder): log-mel -> 16 kHz sound.
- CAVP features: `.npz` files whose `arr_0` is (frames, 512) at 4 fps (Diff-Foley's extraction); the first 32 frames
  (8.16 s, the official `truncate`) condition one sample. Files come from the folder $SEMANTIC_BOTTLENECK_CAVP, else
  the official example clip (sources/__2MwJ2uHu0_000004.npz, downloaded once).
- AST (MIT/ast-finetuned-audioset-10-10-0.4593, transformers): the paper profile's audio features and AudioSet logits.
Shapes: N samples, T frames, F features.
"""
from functools import lru_cache
import os
from pathlib import Path

import numpy as np
import torch

from ..nets.mdsgen import MDSGen, infer_config
from ..sampling.network import LoadedNetwork
from .download import fetch_weights, from_hub
from .files import read_tensors

CAVP_ENV = "SEMANTIC_BOTTLENECK_CAVP"
LATENT = (8, 204, 16)  # AudioLDM latents of 8.16 s (816 mel frames / 4)
CAVP_FRAMES, CAVP_DIM, CAVP_FPS = 32, 512, 4
SAMPLE_RATE = 16000  # the official `sr`
LOG_MEL_LOW, LOG_MEL_HIGH = float(np.log(1e-5)), 4.0  # AudioLDM's log-mel floor (log of its 1e-5 clamp); a ceiling
AST_MODEL = "MIT/ast-finetuned-audioset-10-10-0.4593"
_LOADED = {}  # (checkpoint path, decode_layer, device) -> network


def read_cavp(path, frames=CAVP_FRAMES):
    """The first `frames` CAVP feature frames (frames, 512) of an `.npz` in Diff-Foley's layout (`arr_0`)."""
    with np.load(path) as npz:
        if "arr_0" not in npz.files:
            raise ValueError(f"CAVP file {path} must hold `arr_0` (frames x {CAVP_DIM}); it holds {npz.files}")
        features = np.asarray(npz["arr_0"], dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != CAVP_DIM or features.shape[0] < frames:
        raise ValueError(f"CAVP file {path} must hold at least {frames} frames of {CAVP_DIM} features; got "
                         f"{features.shape}")
    return torch.from_numpy(features[:frames])


def cavp_paths(example, progress=True):
    """The CAVP files the samples are conditioned on: every .npz of $SEMANTIC_BOTTLENECK_CAVP, else the example."""
    folder = os.environ.get(CAVP_ENV)
    if not folder:
        return [fetch_weights(example, progress=progress)]
    paths = sorted(Path(folder).expanduser().glob("*.npz"))
    if not paths:
        raise ValueError(f"${CAVP_ENV} must name a folder of CAVP .npz files; {folder} has none")
    return paths


class CavpFeatures:
    """Condition source of MDSGen: global index i -> the CAVP features of file i mod (number of files)."""

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]
        self.features = torch.stack([read_cavp(p) for p in self.paths])  # (files, T, F)

    def for_indices(self, indices):
        """The condition batch {`frames` (N, T, F), `keep` (N,) of ones} of global sample indices."""
        rows = torch.as_tensor([int(i) % len(self.paths) for i in indices], dtype=torch.long)
        return {"frames": self.features[rows], "keep": torch.ones(len(rows))}

    def null_like(self, batch):
        """The unconditional (CFG) batch: `keep` 0, so y is zeroed as in the official code."""
        return {"frames": batch["frames"], "keep": torch.zeros_like(batch["keep"])}

    @property
    def size(self):
        """How many distinct conditions there are (the files)."""
        return len(self.paths)

    def labels(self, indices):
        """Grouping labels of the conditions: none (CAVP files come without event labels)."""
        return {}

    def frames(self, indices):
        """The video frames of the conditions: not available (only their CAVP features are)."""
        return None

    def real_sound(self, indices):
        """The conditions' real sound: not available."""
        return None

    def captions(self, indices):
        """One caption per condition: its file's name."""
        return [self.paths[int(i) % self.size].stem for i in indices]

    def onsets(self, indices):
        """The conditions' true onsets: not known."""
        return None

    def describe(self, count):
        """One line for protocol tables, for `count` samples."""
        names = ", ".join(p.stem for p in self.paths[:3]) + (" ..." if len(self.paths) > 3 else "")
        return (f"{count} samples over {len(self.paths)} CAVP feature file(s) ({names}), file = index mod "
                f"{len(self.paths)}; first {CAVP_FRAMES} frames at {CAVP_FPS} fps")


def to_unit(log_mel):
    """AudioLDM log-mel -> [-1, 1] (clipped at LOG_MEL_LOW and LOG_MEL_HIGH)."""
    return ((log_mel - LOG_MEL_LOW) / (LOG_MEL_HIGH - LOG_MEL_LOW) * 2 - 1).clamp(-1, 1)


class AudioLdmDecoder:
    """Latents (N, 8, 204, 16) -> log-mel spectrograms (N, 1, 816, 64) in [-1, 1], through AudioLDM's VAE."""

    def __init__(self, vae):
        self.vae = vae.eval()
        self.scale = 2 ** (len(vae.config.block_out_channels) - 1)  # the official `pipe.vae_scale_factor`

    @torch.no_grad()
    def __call__(self, latents):
        return to_unit(self.vae.decode(latents.to(self.vae.dtype) / self.scale).sample.float())


class HifiGanSound:
    """Spectrograms (N, 1, frames, 64) in [-1, 1] -> 16 kHz sound (N, L) through AudioLDM's HiFi-GAN vocoder."""

    rate = SAMPLE_RATE

    def __init__(self, vocoder):
        self.vocoder = vocoder.eval()
        self.name = "AudioLDM's HiFi-GAN vocoder (SpeechT5HifiGan, 16 kHz)"

    @torch.no_grad()
    def __call__(self, images):
        log_mel = (torch.as_tensor(images).float() + 1) / 2 * (LOG_MEL_HIGH - LOG_MEL_LOW) + LOG_MEL_LOW
        device = next(self.vocoder.parameters()).device
        return self.vocoder(log_mel.squeeze(1).to(device)).float().cpu()  # (N, L): 160 samples per mel frame, + 32


@lru_cache(maxsize=2)
def load_audioldm(repo, device="cpu"):
    """AudioLDM's VAE decoder and vocoder from a Hugging Face repository (downloaded on first use; once per process)."""
    from diffusers import AutoencoderKL
    from transformers import SpeechT5HifiGan

    vae = from_hub(f"the AudioLDM VAE ({repo})", lambda: AutoencoderKL.from_pretrained(repo, subfolder="vae"))
    vocoder = from_hub(f"the AudioLDM vocoder ({repo})", lambda: SpeechT5HifiGan.from_pretrained(repo, subfolder="vocoder"))
    return AudioLdmDecoder(vae.to(device)), HifiGanSound(vocoder.to(device))


def load_mdsgen(path, decode_layer):
    """`nets.mdsgen.MDSGen` holding an official-layout checkpoint (strict; the error names keys that do not fit)."""
    state = dict(read_tensors(path))
    if "mlp_feat.0.weight" not in state or "conv1d_feat.0.weight" not in state:
        raise ValueError(f"checkpoint {path} is not an MDSGen checkpoint (no mlp_feat / conv1d_feat tensors)")
    patch = state["x_embedder.proj.weight"].shape[2:]
    grid = (LATENT[1] // patch[0], LATENT[2] // patch[1])
    model = MDSGen(infer_config(state, decode_layer, grid))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not fit the MDSGen layout: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}")
    return model.eval()


class MDSGenCheckpoint:
    """Registry source of the real MDSGen: checkpoint, AudioLDM decoder and vocoder, CAVP features as conditions."""

    def __init__(self, weights, cavp_example, decode_layer=4, audioldm="cvssp/audioldm-s-full-v2"):
        self.weights, self.cavp_example = weights, cavp_example
        self.decode_layer, self.audioldm = decode_layer, audioldm

    def _network(self, device, progress):
        path = fetch_weights(self.weights, progress=progress)
        key = (str(path), self.decode_layer, str(device))
        if key not in _LOADED:
            _LOADED[key] = load_mdsgen(path, self.decode_layer).to(device)
        return _LOADED[key]

    def network(self, model, profile, device="cpu", progress=True):
        """The network, its AudioLDM decoder, and the CAVP files as conditions; the embedding's rows are their y."""
        network = self._network(device, progress)
        conditions = CavpFeatures(cavp_paths(self.cavp_example, progress))
        decoder, sound = load_audioldm(self.audioldm, device)
        embedding = self.embedding_of(model, network, conditions)
        return LoadedNetwork(network, embedding, decoder, conditions, model.family, network.config.hidden_size,
                             [p.stem for p in conditions.paths], {"vae": self.audioldm, "sound": sound})

    def embedding_of(self, model, network, conditions):
        """c's pieces of the CAVP files as a `ConditionEmbedding` (one row of y per file)."""
        batch = {k: v.to(next(network.parameters()).device) for k, v in
                 conditions.for_indices(range(len(conditions.paths))).items()}
        return network.condition_embedding(batch, family=model.family, model=model.name, t0=999.0,
                                           time_convention="DDPM t in 0..999 (999 = noise)",
                                           rows=f"y of {len(conditions.paths)} CAVP file(s)")

    def embedding(self, model, profile, progress=True):
        """c's pieces for the CAVP files (the checkpoint is loaded: y only comes from running its layers)."""
        network = self._network("cpu", progress)
        return self.embedding_of(model, network, CavpFeatures(cavp_paths(self.cavp_example, progress)))

    def sound(self, model, profile, progress=True):
        """Spectrograms -> sound: AudioLDM's HiFi-GAN vocoder (16 kHz)."""
        return load_audioldm(self.audioldm)[1]

    def class_names(self, model, profile):
        """The CAVP files' names (one condition per file)."""
        return [p.stem for p in cavp_paths(self.cavp_example, progress=False)]


def load_ast(name=AST_MODEL, device="cpu"):
    """AST's feature extractor and AudioSet classifier (transformers), a hub name or a saved folder."""
    from transformers import ASTFeatureExtractor, ASTForAudioClassification

    extractor = from_hub(f"AST feature extractor {name}", lambda: ASTFeatureExtractor.from_pretrained(name))
    model = from_hub(f"AST {name}", lambda: ASTForAudioClassification.from_pretrained(name))
    return extractor, model.to(device).eval()
