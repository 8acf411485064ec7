"""The VA-VAE decoder that turns LightningDiT's latents into images, in the latent-diffusion (LDM) key layout.

VA-VAE (hustvl/vavae-imagenet256-f16d32-dinov2) has the architecture of LDM's KL autoencoder: 32-channel
latents at 1/16 resolution, channel multipliers (1, 1, 2, 2, 4) of 128, two residual blocks per level
(three on the way up), single-head attention in the middle and at the lowest resolution. Only the decoder
and `post_quant_conv` are built here. LightningDiT samples normalised latents: the decoder's input is
z * std + mean with the per-channel statistics of `latents_stats.pt` (its `latent_multiplier` is 1.0).
Shapes: N batch, C channels, H x W spatial.
"""
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F


@dataclass(frozen=True)
class DecoderConfig:
    """LDM decoder architecture; the defaults are VA-VAE f16d32's."""

    z_channels: int = 32
    base_channels: int = 128
    channel_mult: tuple = (1, 1, 2, 2, 4)
    num_res_blocks: int = 2
    attention_levels: tuple = (4,)  # levels with attention after each residual block (4: the 16x16 one)
    out_channels: int = 3


def group_norm(channels):
    """LDM's normalisation: 32 groups, eps 1e-6, affine."""
    return nn.GroupNorm(32, channels, eps=1e-6)


class ResnetBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, plus a 1x1 `nin_shortcut` when the width changes."""

    def __init__(self, channels_in, channels_out):
        super().__init__()
        self.norm1, self.conv1 = group_norm(channels_in), nn.Conv2d(channels_in, channels_out, 3, padding=1)
        self.norm2, self.conv2 = group_norm(channels_out), nn.Conv2d(channels_out, channels_out, 3, padding=1)
        if channels_in != channels_out:
            self.nin_shortcut = nn.Conv2d(channels_in, channels_out, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, with 1x1-conv q, k, v and `proj_out`, residual."""

    def __init__(self, channels):
        super().__init__()
        self.norm = group_norm(channels)
        self.q, self.k, self.v = (nn.Conv2d(channels, channels, 1) for _ in range(3))
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        normed = self.norm(x)
        q, k, v = (layer(normed).reshape(n, 1, c, h * w).transpose(2, 3)  # each (N, 1, HW, C)
                   for layer in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v)  # (N, 1, HW, C), scale C^-1/2
        return x + self.proj_out(out.transpose(2, 3).reshape(n, c, h, w))  # (N, C, H, W)


class Upsample(nn.Module):
    """Nearest-neighbour x2, then a 3x3 conv."""

    def __init__(self, channels):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Level(nn.Module):
    """One resolution level of the decoder: `block`, `attn` and (except at level 0) `upsample`."""

    def __init__(self, channels_in, channels_out, num_blocks, attention, upsample):
        super().__init__()
        widths = [channels_in] + [channels_out] * num_blocks
        self.block = nn.ModuleList(ResnetBlock(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.attn = nn.ModuleList(AttnBlock(channels_out) for _ in range(num_blocks if attention else 0))
        if upsample:
            self.upsample = Upsample(channels_out)


class Decoder(nn.Module):
    """LDM decoder: conv_in, mid (block_1, attn_1, block_2), levels from the lowest resolution up, norm_out, conv_out."""

    def __init__(self, config: DecoderConfig):
        super().__init__()
        widths = [config.base_channels * m for m in config.channel_mult]
        self.conv_in = nn.Conv2d(config.z_channels, widths[-1], 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1 = ResnetBlock(widths[-1], widths[-1]), AttnBlock(widths[-1])
        self.mid.block_2 = ResnetBlock(widths[-1], widths[-1])
        levels, channels = [], widths[-1]
        for level in reversed(range(len(widths))):
            levels.insert(0, Level(channels, widths[level], config.num_res_blocks + 1,
                                   level in config.attention_levels, upsample=level != 0))
            channels = widths[level]
        self.up = nn.ModuleList(levels)  # up[i] is level i; they run from the last to the first
        self.norm_out = group_norm(widths[0])
        self.conv_out = nn.Conv2d(widths[0], config.out_channels, 3, padding=1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for level in reversed(self.up):
            for i, block in enumerate(level.block):
                h = block(h)
                if len(level.attn):
                    h = level.attn[i](h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class VavaeDecoder(nn.Module):
    """Normalised LightningDiT latents (N, 32, h, w) -> images (N, 3, 16h, 16w) in [-1, 1]."""

    def __init__(self, config: DecoderConfig, mean, std):
        super().__init__()
        self.post_quant_conv = nn.Conv2d(config.z_channels, config.z_channels, 1)
        self.decoder = Decoder(config)
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1))  # (1, C, 1, 1)
        self.register_buffer("std", torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1))  # (1, C, 1, 1)

    @torch.no_grad()
    def forward(self, latents):
        z = latents.float() * self.std + self.mean
        return self.decoder(self.post_quant_conv(z)).clamp(-1, 1)


def decoder_config(tensors):
    """The `DecoderConfig` of an LDM-layout checkpoint's `decoder.*` tensors (widths, blocks, attention levels)."""
    if "decoder.conv_in.weight" not in tensors or "post_quant_conv.weight" not in tensors:
        raise ValueError("checkpoint has no LDM decoder (decoder.conv_in.weight / post_quant_conv.weight missing)")
    levels = sorted({int(k.split(".")[2]) for k in tensors if k.startswith("decoder.up.")})
    widths = [tensors[f"decoder.up.{i}.block.0.conv2.weight"].shape[0] for i in levels]
    blocks = len({k.split(".")[4] for k in tensors if k.startswith("decoder.up.0.block.")})
    return DecoderConfig(z_channels=tensors["post_quant_conv.weight"].shape[0], base_channels=widths[0],
                         channel_mult=tuple(w // widths[0] for w in widths), num_res_blocks=blocks - 1,
                         attention_levels=tuple(i for i in levels if f"decoder.up.{i}.attn.0.q.weight" in tensors),
                         out_channels=tensors["decoder.conv_out.weight"].shape[0])
