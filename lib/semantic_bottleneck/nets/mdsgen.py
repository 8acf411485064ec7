"""MDSGen, the video-to-audio masked diffusion transformer, in its official module names; and its tiny analog.

y comes from per-frame video features (N, T, F): `mlp_feat` (Linear F -> D, GELU, LayerNorm) maps every frame,
`conv1d_feat` (a Conv1d whose input channels are the T frames, kernel 1, to one channel; GELU, LayerNorm) reduces
the frames to one vector, and c = t_emb(t) + y reaches every block's `adaLN_modulation`, as in DiT. MDSGen-B/2 is
`nets.mdt.MDT` with this path (no label embedder; AudioLDM latents 8 x 204 x 16, a 102 x 8 token grid);
`TinyMDSGen` is `nets.dit.DiT` with it (the tiny profile's mel spectrograms). Both take the same condition
batch, a dict: `frames` (N, T, F) and `keep` (N,), 1 for conditional rows and 0 for the unconditional (CFG) rows,
whose y is zeroed as the official code zeroes it. The official `forward` also drops the condition at random
unless told not to (its `prob=0.1` default); this one never does. Shapes: N batch, T frames, F features, D width.
"""
from dataclasses import asdict, dataclass

import torch
from torch import nn

from ..condition.embedding import ConditionEmbedding
from .dit import DiT, DiTConfig, TimestepEmbedder
from .mdt import MDT, MDTConfig, infer_config as infer_mdt_config


class VideoCondition:
    """y from per-frame video features through `mlp_feat` and `conv1d_feat` (MDSGen's names); zero where `keep` is 0.

    Mixed into a DiT-style network before it (`class MDSGen(VideoCondition, MDT)`); the config gives `frames`,
    `feature_dim` and `frequency_embedding_size` (the timestep sinusoid's width: 204 in MDSGen, 256 in DiT).
    """

    def make_label_embedder(self, config):
        """MDSGen's condition path (`mlp_feat`, `conv1d_feat`) and its timestep embedder; no label embedder (None)."""
        d = config.hidden_size
        self.t_embedder = TimestepEmbedder(d, config.frequency_embedding_size)
        self.mlp_feat = nn.Sequential(nn.Linear(config.feature_dim, d), nn.GELU(), nn.LayerNorm(d, eps=1e-12))
        self.conv1d_feat = nn.Sequential(nn.Conv1d(config.frames, 1, kernel_size=1), nn.GELU(),
                                         nn.LayerNorm(d, eps=1e-12))
        return None

    def initialize_weights(self):
        """The backbone's initialisation, then N(0, 0.02) for the two condition layers (as the official code)."""
        super().initialize_weights()
        nn.init.normal_(self.mlp_feat[0].weight, std=0.02)
        nn.init.normal_(self.conv1d_feat[0].weight, std=0.02)

    def embed_condition(self, y):
        """y (N, D) of a condition batch {`frames` (N, T, F), `keep` (N,)}: zero for the rows whose `keep` is 0."""
        frames = y["frames"]
        expected = (self.config.frames, self.config.feature_dim)
        if tuple(frames.shape[1:]) != expected:
            raise ValueError(f"frames must be (N, {expected[0]}, {expected[1]}) video features; got {tuple(frames.shape)}")
        reduced = self.conv1d_feat(self.mlp_feat(frames.to(self.mlp_feat[0].weight.dtype))).squeeze(1)  # (N, D)
        return reduced * y["keep"].to(reduced.dtype).unsqueeze(1)

    @torch.no_grad()
    def condition_embedding(self, batch, **info):
        """c's two pieces as a `ConditionEmbedding`: y of a condition batch as its rows (K, D, no null row) and the
        timestep MLP, so that c(t) of these K conditions is computed as for a class table; `info` is kept."""
        t = self.t_embedder.mlp
        tensors = [self.embed_condition(batch), t[0].weight, t[0].bias, t[2].weight, t[2].bias]
        return ConditionEmbedding(*[x.detach().float().cpu() for x in tensors], has_null_row=False, info=info)


#################################################################################
#                  The tiny analog: a DiT over a mel spectrogram                 #
#################################################################################

@dataclass(frozen=True)
class TinyMDSGenConfig(DiTConfig):
    """Architecture of the tiny profile's MDSGen analog: a DiT on a (time x mel) spectrogram, MDSGen's y path."""

    image_size: int = 32  # mel frames (the grid's rows, as time is MDSGen's latent height)
    image_width: int = 32  # mel bins
    patch_size: int = 4
    patch_width: int = 8
    in_channels: int = 1
    hidden_size: int = 64
    depth: int = 4
    num_heads: int = 4
    num_classes: int = 0
    frames: int = 16
    feature_dim: int = 32
    frequency_embedding_size: int = 204  # MDSGen's, kept for the analog


class TinyMDSGen(VideoCondition, DiT):
    """DiT blocks with adaLN-Zero denoising a mel spectrogram, conditioned on video features as MDSGen is."""

    config_class = TinyMDSGenConfig  # the configuration this network is built from (`nets.architectures`)

    patch_shape = MDT.patch_shape  # (height, width) of a patch, from `patch_size` and `patch_width`
    grid_shape = MDT.grid_shape  # (rows, columns) of tokens, from `image_size` and `image_width`


#################################################################################
#                                 MDSGen-B/2                                    #
#################################################################################

@dataclass(frozen=True)
class MDSGenConfig(MDTConfig):
    """Architecture of MDSGen; the defaults are MDSGen-B/2 on AudioLDM latents with the official inference's decode_layer."""

    image_size: int = 204  # latent frames
    image_width: int = 16  # latent mel channels
    patch_size: int = 2
    patch_width: int = 2
    in_channels: int = 8
    hidden_size: int = 768
    depth: int = 12
    num_heads: int = 12
    num_classes: int = 0
    class_conditional: bool = False
    decode_layer: int = 4  # inference.py builds MDSGen_B_2(decode_layer=4); no tensor records it
    frames: int = 32  # CAVP features at 4 fps: the first 32 frames (8.16 s)
    feature_dim: int = 512
    frequency_embedding_size: int = 204


class MDSGen(VideoCondition, MDT):
    """MDT v1 at inference (relative-position blocks, `decoder_pos_embed` before the last `decode_layer` blocks), with
    MDSGen's video condition; `sideblocks` and `mask_token` are held for a strict load and never run."""

    config_class = MDSGenConfig  # the configuration this network is built from (`nets.architectures`)


def infer_config(state, decode_layer, grid):
    """The `MDSGenConfig` an official-layout MDSGen state dict was built with; `decode_layer` and the token `grid`
    (rows, columns) are not recorded by any tensor (MDSGen: 4 and (102, 8))."""
    return MDSGenConfig(**asdict(infer_mdt_config(state, decode_layer, grid)),
                        frames=state["conv1d_feat.0.weight"].shape[1], feature_dim=state["mlp_feat.0.weight"].shape[1],
                        frequency_embedding_size=state["t_embedder.mlp.0.weight"].shape[1])
