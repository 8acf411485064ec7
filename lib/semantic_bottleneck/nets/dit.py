"""A DiT with adaLN-Zero, written with the official DiT module names: the tiny models and DiT/SiT/REPA/MG-XL/2.

Keys match facebookresearch/DiT (`t_embedder.mlp.0/.2`, `y_embedder.embedding_table`,
`blocks[i].adaLN_modulation`, `final_layer.adaLN_modulation`), so the code that reads `c` from a
real checkpoint reads a tiny one too. The official sizes are in the configs section at the foot.
Shapes: N batch, T tokens, D hidden width, K classes.
"""
from dataclasses import dataclass
import math

import torch
from torch import nn
import torch.nn.functional as F

from ..condition.embedding import timestep_sinusoid


def attention(q, k, v, attn_mask=None):
    """Scaled dot-product attention of (N, H, T, D/H) heads; in float32 under CPU autocast (this CPU's bfloat16
    attention backward is slower than its float32 one; the products around it keep autocast's precision)."""
    if q.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        with torch.autocast("cpu", enabled=False):
            mask = None if attn_mask is None else attn_mask.float()
            return F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)


TWO_Z, TWO_Z_CUBIC = 1.5957691216057308, 0.07135481627260025  # 2z = TWO_Z x + TWO_Z_CUBIC x^3 (2 sqrt(2/pi), x 0.044715)


def gelu_tanh(x):
    """GELU with the tanh approximation, 0.5 x (1 + tanh z) with z = sqrt(2/pi) (x + 0.044715 x^3).

    While torch.compile traces it (`tiny.fast`), written as its exact identity x sigmoid(2z) (0.5 (1 + tanh z) =
    sigmoid(2z)): inductor's CPU code runs it ~3x faster than its tanh (the values agree to ~5e-7).
    """
    if torch.compiler.is_compiling():
        return x * torch.sigmoid(x * (TWO_Z + TWO_Z_CUBIC * x * x))
    return F.gelu(x, approximate="tanh")


def modulate(x, shift, scale):
    """adaLN modulation of token features x (N, T, D) by per-sample shift/scale (N, D)."""
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


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
        out = attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, t, d))  # (N, T, D)


class Mlp(nn.Module):
    """Transformer MLP with the timm key names (`fc1`, `fc2`)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(gelu_tanh(self.fc1(x)))


class DiTBlock(nn.Module):
    """A DiT block whose LayerNorms are modulated by c through adaLN-Zero (its attention given, or DiT's)."""

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0, attn=None):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = attn if attn is not None else Attention(hidden_size, num_heads)
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

    def __init__(self, hidden_size, patch, out_channels, norm=None):
        super().__init__()
        self.norm_final = norm if norm is not None else nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, math.prod(patch) * out_channels)
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
class DiTConfig:
    """Architecture of a class-conditional DiT (plain values); the tiny profile's model
    (`tiny.classes.class_model.TINY_RUNS`) changes the patch, the width and the label table's initial spread."""

    image_size: int = 16
    patch_size: int = 4
    in_channels: int = 3
    hidden_size: int = 128
    depth: int = 4
    num_heads: int = 4
    num_classes: int = 20
    class_dropout_prob: float = 0.1
    learn_sigma: bool = False  # True doubles the output channels (DiT-XL/2 and SiT-XL/2 checkpoints)
    label_init_std: float = 0.02  # std of the label table's initial N(0, std) (DiT's 0.02; the tiny model's larger)


class DiT(nn.Module):
    """Diffusion transformer conditioned on c = t_embedder(t) + embed_condition(y) (the label embedding here).

    Variants override `make_block`, `make_final_layer`, `make_final_norm`, `make_rope` (LightningDiT), the token grid and patch
    (`grid_shape`, `patch_shape`), and the condition's embedder (`make_label_embedder`, `embed_condition`).
    """

    config_class = DiTConfig  # the configuration this network is built from (`nets.architectures`)

    def __init__(self, config: DiTConfig):
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.in_channels = config.in_channels
        self.out_channels = config.in_channels * (2 if config.learn_sigma else 1)
        self.patch, self.grid = self.patch_shape(config), self.grid_shape(config)  # (ph, pw), (h, w) tokens
        self.x_embedder = PatchEmbed(self.patch, config.in_channels, d)
        self.t_embedder = TimestepEmbedder(d)
        self.y_embedder = self.make_label_embedder(config)
        self.pos_embed = nn.Parameter(sincos_pos_embed_2d(d, self.grid).unsqueeze(0), requires_grad=False)
        self.feat_rope = self.make_rope(config)
        self.blocks = nn.ModuleList([self.make_block(config) for _ in range(config.depth)])
        self.final_layer = self.make_final_layer(config)
        self.initialize_weights()

    def patch_shape(self, config):
        """(height, width) of a patch: square here."""
        return (config.patch_size, config.patch_size)

    def grid_shape(self, config):
        """(rows, columns) of the token grid: a square image here."""
        side = config.image_size // config.patch_size
        return (side, side)

    def make_label_embedder(self, config):
        """The class-label embedder (None for models whose condition has its own path)."""
        return LabelEmbedder(config.num_classes, config.hidden_size, config.class_dropout_prob)

    def embed_condition(self, y):
        """y_emb of a condition batch (class labels here), the part of c that is not t_emb."""
        return self.y_embedder(y)

    def make_block(self, config):
        """One transformer block."""
        return DiTBlock(config.hidden_size, config.num_heads)

    def make_final_layer(self, config):
        """The adaLN-modulated norm and linear map back to patches."""
        return FinalLayer(config.hidden_size, self.patch, self.out_channels, self.make_final_norm(config))

    def make_final_norm(self, config):
        """The final layer's norm (None: DiT's affine-free LayerNorm)."""
        return None

    def make_rope(self, config):
        """A rotary embedding shared by every block's attention (None: position only from `pos_embed`)."""
        return None

    def initialize_weights(self):
        """DiT's initialisation: Xavier linears, N(0, 0.02) embeddings (the label table's std from the config),
        zeroed adaLN and output."""
        self.initialize_shared_weights()
        for layer in [*self.blocks, self.final_layer]:
            nn.init.zeros_(layer.adaLN_modulation[-1].weight)
            nn.init.zeros_(layer.adaLN_modulation[-1].bias)

    def initialize_shared_weights(self):
        """Everything of DiT's initialisation but the adaLN layers: Xavier linears, N(0, 0.02) embeddings, zeroed
        output."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        w = self.x_embedder.proj.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))  # conv as a linear map
        nn.init.zeros_(self.x_embedder.proj.bias)
        if self.y_embedder is not None:
            nn.init.normal_(self.y_embedder.embedding_table.weight, std=self.config.label_init_std)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        nn.init.zeros_(self.final_layer.linear.weight)
        nn.init.zeros_(self.final_layer.linear.bias)

    def forward(self, x, t, y):
        """Predict the noise (and, with learn_sigma, the variance) for x (N, C, H, W), timesteps t (N,), labels y (N,)."""
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t) + self.embed_condition(y)  # (N, D)
        for block in self.blocks:
            x = block(x, c, self.feat_rope)
        return unpatchify(self.final_layer(x, c), self.patch, self.out_channels, self.grid)  # (N, C, H, W)


def unpatchify(x, patch, c, grid):
    """(N, h*w, ph*pw*C) tokens of an (h, w) grid of (ph, pw) patches -> (N, C, h*ph, w*pw) image."""
    (h, w), (p, q) = grid, patch
    x = x.reshape(x.shape[0], h, w, p, q, c)  # (N, h, w, ph, pw, C)
    return torch.einsum("nhwpqc->nchpwq", x).reshape(x.shape[0], c, h * p, w * q)  # (N, C, H, W)


def sincos_pos_embed_2d(dim, grid):
    """Fixed 2-D sine-cosine position embedding (h*w, dim) of a (h, w) grid (or a square one, given its side),
    in DiT's layout ([sin, cos] per axis, column coordinate first)."""
    h, w = (grid, grid) if isinstance(grid, int) else grid
    gy, gx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim / 4))

    def axis(pos):
        """Sine-cosine features of one axis' positions."""
        out = pos.reshape(-1, 1) * omega.reshape(1, -1)  # (grid*grid, dim/4)
        return torch.cat([torch.sin(out), torch.cos(out)], dim=1)

    return torch.cat([axis(gx), axis(gy)], dim=1).float()  # column coordinate first, as DiT/MAE


#################################################################################
#                                   DiT configs                                 #
#################################################################################

OFFICIAL_HEADS = {384: 6, 768: 12, 1024: 16, 1152: 16}  # S, B, L, XL in the DiT/SiT configs: width -> heads
CONFIGS = {  # ImageNet 256x256 through SD-VAE (32x32x4 latents); only XL/2 was released (DiT, SiT, REPA, MG)
    f"DiT-{size}/2": DiTConfig(image_size=32, patch_size=2, in_channels=4, hidden_size=width, depth=depth,
                                num_heads=OFFICIAL_HEADS[width], num_classes=1000)
    for size, width, depth in (("S", 384, 12), ("B", 768, 12), ("L", 1024, 24), ("XL", 1152, 28))
}


def infer_config(state, num_heads=None):
    """The `DiTConfig` an official-layout state dict was built with (heads from the official sizes unless given)."""
    table, patch = state["y_embedder.embedding_table.weight"], state["x_embedder.proj.weight"]
    hidden, channels, p = patch.shape[0], patch.shape[1], patch.shape[2]
    heads = num_heads or OFFICIAL_HEADS.get(hidden)
    if heads is None:
        raise ValueError(f"num_heads must be given for hidden size {hidden} (official sizes: {sorted(OFFICIAL_HEADS)})")
    out = state["final_layer.linear.weight"].shape[0] // (p * p)
    return DiTConfig(image_size=round(state["pos_embed"].shape[1] ** 0.5) * p, patch_size=p, in_channels=channels,
                         hidden_size=hidden, depth=1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks.")),
                         num_heads=heads, num_classes=table.shape[0] - 1, learn_sigma=out == 2 * channels)
