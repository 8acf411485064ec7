"""X-MDPT, the pose-guided person-image transformer, in its official module names; and the tiny pose model.

X-MDPT (trungpx/xmdpt) is an MDT v1 whose condition is not a class label but a fusion of three views, all made
into one vector y by modules with these names:
- the target pose's DINOv2-B/14 tokens (N, 257, 768) through `mlp_dino_pose` (Linear, GELU, LayerNorm) and
  `conv1d_pose` (a 1x1 Conv1d over the tokens, 257 -> 1, GELU, LayerNorm): y_pose (N, 1, D);
- the source image's DINOv2-G/14 tokens (N, 257, 1536) through `mlp_dino_img` and `conv1d_global`: y_global;
- the source image's VAE latent, patch-embedded by the network's own `x_embedder` plus `pos_embed`, through
  `conv1d_local` (tokens -> 1): y_local;
- y = mlp_final(y_pose + y_global + y_local), times a keep mask (0 for the unconditional CFG row), and c = t_emb + y
  reaches every block's `adaLN_modulation`, so the capture and pruning hooks of `condition` work unchanged.
`CrossViewConditioning` holds that path; `XMDPT` puts it on `mdt.MDT` (with the training-only `sideblocks_cross`
held so that checkpoints load strictly) and `TinyXMDPT` on the tiny `dit.DiT` (adaLN-Zero blocks; the tiny
profile's stand-in encoders and autoencoder give the tokens and latents). A condition batch is a dict:
`pose_tokens`, `source_tokens`, `source_latent` (the source's VAE latent) and `keep` (N,).
Shapes: N batch, T tokens, D width of c.
"""
from dataclasses import dataclass

import torch
from torch import nn

from .dit import DiT, DiTConfig, Mlp
from .mdt import MDT, MDTConfig, RelativePositionBias

CONDITION_KEYS = ("pose_tokens", "source_tokens", "source_latent", "keep")


@dataclass(frozen=True)
class TokenShapes:
    """How many tokens of what width each frozen encoder gives: DINOv2-B/14 (pose) and -G/14 (image) at 224 px."""

    pose_token_count: int = 257
    pose_token_width: int = 768
    source_token_count: int = 257
    source_token_width: int = 1536


def _mlp(width_in, width):
    """Linear, GELU, LayerNorm (eps 1e-12): the official `mlp_dino_*` and `mlp_final`."""
    return nn.Sequential(nn.Linear(width_in, width), nn.GELU(), nn.LayerNorm(width, eps=1e-12))


def _reducer(tokens, width):
    """A 1x1 Conv1d over the token axis (tokens -> 1), GELU, LayerNorm: the official `conv1d_*`."""
    return nn.Sequential(nn.Conv1d(tokens, 1, kernel_size=1), nn.GELU(), nn.LayerNorm(width, eps=1e-12))


class CrossViewConditioning:
    """Mixin for a DiT-style network: X-MDPT's conditioning path, y from a target pose and a source image."""

    def add_condition_path(self, config):
        """Create the six modules of the path (official names) and initialise them as X-MDPT does."""
        d, tokens = config.hidden_size, self.grid[0] * self.grid[1]
        self.mlp_dino_pose = _mlp(config.pose_token_width, d)
        self.mlp_dino_img = _mlp(config.source_token_width, d)
        self.conv1d_pose = _reducer(config.pose_token_count, d)
        self.conv1d_global = _reducer(config.source_token_count, d)
        self.conv1d_local = _reducer(tokens, d)
        self.mlp_final = _mlp(d, d)
        for mlp in (self.mlp_dino_pose, self.mlp_dino_img, self.mlp_final):
            nn.init.normal_(mlp[0].weight, std=0.02)
            nn.init.zeros_(mlp[0].bias)
        for conv in (self.conv1d_pose, self.conv1d_global, self.conv1d_local):
            nn.init.normal_(conv[0].weight, std=0.02)

    def embed_condition(self, y):
        """y (N, D) of a condition batch: the fused pose, global and local views, zero where `keep` is 0."""
        missing = [k for k in CONDITION_KEYS if k not in y]
        if missing:
            raise ValueError(f"y must be a dict with {', '.join(CONDITION_KEYS)}; it lacks {', '.join(missing)}")
        dtype = self.mlp_final[0].weight.dtype  # tokens may be stored in half precision
        pose = self.conv1d_pose(self.mlp_dino_pose(y["pose_tokens"].to(dtype)))  # (N, 1, D)
        image = self.conv1d_global(self.mlp_dino_img(y["source_tokens"].to(dtype)))  # (N, 1, D)
        local = self.conv1d_local(self.x_embedder(y["source_latent"].to(dtype)) + self.pos_embed)  # (N, 1, D)
        fused = self.mlp_final((pose + image + local)[:, 0])  # (N, D)
        return y["keep"].to(fused.dtype)[:, None] * fused


class PairEmbedding:
    """c of a fixed set of conditions, at any timestep, from a live network's own path: the pose-guided counterpart
    of `condition.embedding.ConditionEmbedding` (`c(t)`, `label()` for y alone, `time(t)`, `dim`, `info` with t0),
    so that the `global` mask reading (the mean c at t0) and the statistics of c work on these models too."""

    def __init__(self, network, batch, **info):
        self.network, self.batch, self.info = network, batch, info

    @property
    def dim(self):
        """Width D of c."""
        return self.network.config.hidden_size

    @property
    def num_classes(self):
        """How many conditions the set holds (the `stats` command's "classes")."""
        return len(self.batch["keep"])

    @torch.no_grad()
    def time(self, t):
        """Timestep embeddings (M, D) of timesteps t (M,)."""
        device = next(self.network.parameters()).device
        t = torch.as_tensor(t, dtype=torch.float32, device=device).reshape(-1)  # (M,)
        return self.network.t_embedder(t).float().cpu()

    @torch.no_grad()
    def label(self):
        """y alone (N, D) of every condition of the set."""
        device = next(self.network.parameters()).device
        return self.network.embed_condition({k: v.to(device) for k, v in self.batch.items()}).float().cpu()

    def c(self, t):
        """c = t_emb(t) + y (N, D) of every condition of the set at one timestep t."""
        return self.label() + self.time([float(t)])


#################################################################################
#                       X-MDPT (official layout) and the tiny model              #
#################################################################################

@dataclass(frozen=True)
class XMDPTConfig(MDTConfig, TokenShapes):
    """Architecture of an X-MDPT; the defaults are X-MDPT-L/2 on 256x256 DeepFashion (32x32x4 SD-VAE latents)."""

    hidden_size: int = 1024
    depth: int = 24
    num_heads: int = 16
    num_classes: int = 0
    class_conditional: bool = False


class HeldCrossBlock(nn.Module):
    """The side interpolator's cross-attention block (`sideblocks_cross`), used only in X-MDPT's masked training.

    Its weights (`attn.to_q`, `attn.to_kv`, `attn.proj`, `attn.rel_pos_bias`, `mlp`, `adaLN_modulation`) are
    held so that checkpoints load strictly; the inference forward, like the official one, never runs it.
    """

    def __init__(self, hidden_size, num_heads, window):
        super().__init__()
        self.attn = nn.Module()
        self.attn.to_q, self.attn.to_kv = nn.Linear(hidden_size, hidden_size), nn.Linear(hidden_size, 2 * hidden_size)
        self.attn.proj = nn.Linear(hidden_size, hidden_size)
        self.attn.rel_pos_bias = RelativePositionBias(window, num_heads)
        self.mlp = Mlp(hidden_size, 4 * hidden_size)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))


class XMDPT(CrossViewConditioning, MDT):
    """X-MDPT at inference: MDT v1 blocks and decoder position embedding, c = t_emb + y of the cross-view path."""

    config_class = XMDPTConfig  # the configuration this network is built from (`nets.architectures`)

    def __init__(self, config: XMDPTConfig):
        if config.class_conditional:
            raise ValueError("config.class_conditional must be False: X-MDPT forms y from a pose and a source image")
        super().__init__(config)
        self.sideblocks_cross = nn.ModuleList([HeldCrossBlock(config.hidden_size, config.num_heads, self.grid)])
        self.add_condition_path(config)


CONFIGS = {f"X-MDPT-{size}/2": XMDPTConfig(hidden_size=width, depth=depth, num_heads=heads)
           for size, width, depth, heads in (("S", 384, 12, 6), ("B", 768, 12, 12), ("L", 1024, 24, 16))}


def infer_config(state, decode_layer=2):
    """The `XMDPTConfig` an official-layout X-MDPT state dict was built with (`decode_layer`: not in the tensors)."""
    if "mlp_dino_pose.0.weight" not in state:
        raise ValueError("state is not an X-MDPT state dict: it has no mlp_dino_pose.0.weight")
    patch = state["x_embedder.proj.weight"]  # (D, C, p, p)
    hidden, channels, p = patch.shape[0], patch.shape[1], patch.shape[2]
    out = state["final_layer.linear.weight"].shape[0] // (p * p)
    return XMDPTConfig(image_size=round(state["pos_embed"].shape[1] ** 0.5) * p, patch_size=p, in_channels=channels,
                       hidden_size=hidden, depth=1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks.")),
                       num_heads=state["blocks.0.attn.rel_pos_bias.relative_position_bias_table"].shape[1],
                       num_classes=0, learn_sigma=out == 2 * channels, decode_layer=decode_layer,
                       pose_token_count=state["conv1d_pose.0.weight"].shape[1],
                       pose_token_width=state["mlp_dino_pose.0.weight"].shape[1],
                       source_token_count=state["conv1d_global.0.weight"].shape[1],
                       source_token_width=state["mlp_dino_img.0.weight"].shape[1])


@dataclass(frozen=True)
class TinyXMDPTConfig(DiTConfig, TokenShapes):
    """The tiny pose model: a DiT on 6x6x4 autoencoder latents of 24x24 people (patch 1), tokens from the tiny
    profile's stand-in encoders."""

    image_size: int = 6
    patch_size: int = 1
    in_channels: int = 4
    hidden_size: int = 96
    depth: int = 3
    num_heads: int = 4
    num_classes: int = 0
    pose_token_count: int = 37
    pose_token_width: int = 32
    source_token_count: int = 37
    source_token_width: int = 48


class TinyXMDPT(CrossViewConditioning, DiT):
    """The tiny X-MDPT: adaLN-Zero DiT blocks conditioned on c = t_emb + y of X-MDPT's cross-view path."""

    config_class = TinyXMDPTConfig  # the configuration this network is built from (`nets.architectures`)

    def __init__(self, config: TinyXMDPTConfig):
        super().__init__(config)
        self.add_condition_path(config)

    def make_label_embedder(self, config):
        """None: y comes from the cross-view path, not from a label table."""
        return None
