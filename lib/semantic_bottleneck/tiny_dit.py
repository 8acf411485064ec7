"""A DiT with adaLN-Zero, written with the official DiT module names (tiny by default).

Keys match facebookresearch/DiT (`t_embedder.mlp.0/.2`, `y_embedder.embedding_table`,
`blocks[i].adaLN_modulation`, `final_layer.adaLN_modulation`), so the code that reads `c` from a
real checkpoint reads a tiny one too. Shapes: N batch, T tokens, D hidden width, K classes.
"""
from dataclasses import dataclass
import math

import torch
from torch import nn
import torch.nn.functional as F


def modulate(x, shift, scale):
    """adaLN modulation of token features x (N, T, D) by per-sample shift/scale (N, D)."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


def timestep_sinusoid(t, dim=256, max_period=10000.0, freq_shift=0.0):
    """DiT's timestep sinusoid: frequencies exp(-ln(max_period) i / (dim/2 - freq_shift)), order [cos, sin].

    `freq_shift=0` is the original DiT/SiT/REPA formulation; diffusers' `Timesteps` uses 1.
    """
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    args = t.float().reshape(-1, 1) * freqs.reshape(1, -1)  # (N, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


#################################################################################
#               Embedding layers for timesteps and class labels                 #
#################################################################################

class TimestepEmbedder(nn.Module):
    """Embeds scalar timesteps: 256-d sinusoid -> Linear -> SiLU -> Linear."""

    def __init__(self, hidden_size, frequency_embedding_size=256):
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size),
        )

    def forward(self, t):
        return self.mlp(timestep_sinusoid(t, self.frequency_embedding_size))  # (N, D)


class LabelEmbedder(nn.Module):
    """Embeds class labels; the extra last row is the null class used for classifier-free guidance."""

    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob
        self.embedding_table = nn.Embedding(num_classes + 1, hidden_size)

    def forward(self, labels, generator=None):
        if self.training and self.dropout_prob > 0:
            drop = torch.rand(labels.shape, generator=generator) < self.dropout_prob
            labels = torch.where(drop.to(labels.device), self.num_classes, labels)
        return self.embedding_table(labels)  # (N, D)


#################################################################################
#                                 Core DiT model                                #
#################################################################################

class Attention(nn.Module):
    """Multi-head self-attention with the timm key names (`qkv`, `proj`); optional per-head RMS q/k norm
    (`q_norm`, `k_norm`) and a rotary embedding applied to q and k (LightningDiT)."""

    def __init__(self, dim, num_heads, qk_norm=False):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        if qk_norm:
            self.q_norm, self.k_norm = nn.RMSNorm(dim // num_heads, eps=1e-6), nn.RMSNorm(dim // num_heads, eps=1e-6)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, rope=None):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, d // self.num_heads)  # (N, T, 3, H, D/H)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (N, H, T, D/H)
        if hasattr(self, "q_norm"):
            q, k = self.q_norm(q), self.k_norm(k)
        if rope is not None:
            q, k = rope(q), rope(k)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, t, d))  # (N, T, D)


class Mlp(nn.Module):
    """Transformer MLP with the timm key names (`fc1`, `fc2`)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x), approximate="tanh"))


class DiTBlock(nn.Module):
    """A DiT block whose LayerNorms are modulated by c through adaLN-Zero."""

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x, c, rope=None):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)  # 6 x (N, D)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa), rope)
        return x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class FinalLayer(nn.Module):
    """The last adaLN-modulated norm (DiT's affine-free LayerNorm unless `norm` is given) and the linear map
    back to patches."""

    def __init__(self, hidden_size, patch_size, out_channels, norm=None):
        super().__init__()
        self.norm_final = norm if norm is not None else nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)  # 2 x (N, D)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class PatchEmbed(nn.Module):
    """Image to patch tokens, with timm's key name `proj`."""

    def __init__(self, patch_size, in_channels, hidden_size):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, hidden_size, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (N, T, D)


@dataclass(frozen=True)
class TinyDiTConfig:
    """Architecture of a class-conditional DiT (plain values); the defaults are the tiny profile's."""

    image_size: int = 16
    patch_size: int = 4
    in_channels: int = 3
    hidden_size: int = 128
    depth: int = 4
    num_heads: int = 4
    num_classes: int = 20
    class_dropout_prob: float = 0.1
    learn_sigma: bool = False  # True doubles the output channels (DiT-XL/2 and SiT-XL/2 checkpoints)


class DiT(nn.Module):
    """Diffusion transformer conditioned on c = t_embedder(t) + y_embedder(y).

    Variants (LightningDiT) override `make_block`, `make_final_norm` and `make_rope`.
    """

    def __init__(self, config: TinyDiTConfig):
        super().__init__()
        self.config = config
        d, p = config.hidden_size, config.patch_size
        self.in_channels = config.in_channels
        self.out_channels = config.in_channels * (2 if config.learn_sigma else 1)
        self.patch_size = p
        self.x_embedder = PatchEmbed(p, config.in_channels, d)
        self.t_embedder = TimestepEmbedder(d)
        self.y_embedder = LabelEmbedder(config.num_classes, d, config.class_dropout_prob)
        grid = config.image_size // p
        self.pos_embed = nn.Parameter(sincos_pos_embed_2d(d, grid).unsqueeze(0), requires_grad=False)
        self.feat_rope = self.make_rope(config)
        self.blocks = nn.ModuleList([self.make_block(config) for _ in range(config.depth)])
        self.final_layer = FinalLayer(d, p, self.out_channels, self.make_final_norm(config))
        self.initialize_weights()

    def make_block(self, config):
        """One transformer block."""
        return DiTBlock(config.hidden_size, config.num_heads)

    def make_final_norm(self, config):
        """The final layer's norm (None: DiT's affine-free LayerNorm)."""
        return None

    def make_rope(self, config):
        """A rotary embedding shared by every block's attention (None: position only from `pos_embed`)."""
        return None

    def initialize_weights(self):
        """DiT's initialisation: Xavier linears, N(0, 0.02) embeddings, zeroed adaLN and output."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))  # conv as a linear map
        nn.init.zeros_(self.x_embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for layer in [*self.blocks, self.final_layer]:
            nn.init.zeros_(layer.adaLN_modulation[-1].weight)
            nn.init.zeros_(layer.adaLN_modulation[-1].bias)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def forward(self, x, t, y):
        """Predict the noise (and, with learn_sigma, the variance) for x (N, C, H, W), timesteps t (N,), labels y (N,)."""
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t) + self.y_embedder(y)  # (N, D)
        for block in self.blocks:
            x = block(x, c, self.feat_rope)
        return unpatchify(self.final_layer(x, c), self.patch_size, self.out_channels)  # (N, C, H, W)


def unpatchify(x, p, c):
    """(N, T, p*p*C) tokens of a square grid -> (N, C, H, W) image."""
    h = w = int(x.shape[1] ** 0.5)
    x = x.reshape(x.shape[0], h, w, p, p, c)  # (N, h, w, p, p, C)
    return torch.einsum("nhwpqc->nchpwq", x).reshape(x.shape[0], c, h * p, w * p)  # (N, C, H, W)


def sincos_pos_embed_2d(dim, grid):
    """Fixed 2-D sine-cosine position embedding (grid*grid, dim), in DiT's layout ([sin, cos] per axis)."""
    coords = torch.arange(grid, dtype=torch.float64)
    gy, gx = torch.meshgrid(coords, coords, indexing="ij")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))

    def axis(pos):
        """Sine-cosine features of one axis' positions."""
        out = pos.reshape(-1, 1) * omega.reshape(1, -1)  # (grid*grid, dim/4)
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)

    return torch.cat([axis(gx), axis(gy)], dim=1).float()  # column coordinate first, as DiT/MAE

