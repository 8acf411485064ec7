"""LightningDiT, written here with the module names of hustvl/LightningDiT so its checkpoints load strictly.

The released model (LightningDiT-XL/1 on 32-channel VA-VAE latents) is a DiT whose blocks use RMSNorm,
a SwiGLU MLP (`mlp.w12` -> SiLU(first half) * second half -> `mlp.w3`) and 2-D rotary position
embedding on queries and keys (one half of each head's dimensions rotated by the token's row, the
other half by its column), on top of the fixed sine-cosine position embedding. c = t_emb + y_emb and
every block's `adaLN_modulation` are DiT's, so the capture and pruning hooks work unchanged.
Shapes: N batch, T tokens, D hidden width, H heads.
"""
from dataclasses import dataclass

import torch
from torch import nn
import torch.nn.functional as F

from .dit import Attention, DiT, DiTConfig, Mlp, modulate

OFFICIAL_HEADS = {768: 12, 1024: 16, 1152: 16, 1536: 24, 1792: 28}  # B, L, XL, 1.0B, 1.6B in models/lightningdit.py


@dataclass(frozen=True)
class LightningDiTConfig(DiTConfig):
    """Architecture of a LightningDiT; the defaults are the released LightningDiT-XL/1 (VA-VAE f16d32)."""

    image_size: int = 16
    patch_size: int = 1
    in_channels: int = 32
    hidden_size: int = 1152
    depth: int = 28
    num_heads: int = 16
    num_classes: int = 1000
    use_swiglu: bool = True
    use_rope: bool = True
    use_rmsnorm: bool = True
    use_qknorm: bool = False
    wo_shift: bool = False  # modulation without shifts: Linear(D, 4D) instead of Linear(D, 6D)
    mlp_hidden: int = 0  # 0: the official width, int(2/3 * 4D) for SwiGLU, 4D otherwise


def mlp_width(config):
    """The MLP's hidden width: given, else LightningDiT's int(2/3 * 4D) for SwiGLU or 4D for GELU."""
    if config.mlp_hidden:
        return config.mlp_hidden
    width = int(config.hidden_size * 4.0)
    return int(2 / 3 * width) if config.use_swiglu else width


def rotate_pairs(x):
    """Rotate each consecutive pair (x0, x1) of the last axis by 90 degrees: (-x1, x0)."""
    pairs = x.unflatten(-1, (-1, 2))
    return torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)


class Rope2d(nn.Module):
    """2-D rotary embedding for a square token grid (row-major): pair j of the first half of a head's
    dimensions turns by row * f_j, pair j of the second half by column * f_j, f_j = 10000^(-2j / (head_dim / 2)).

    `freqs_cos`/`freqs_sin` (T, head_dim) are buffers, as in the official checkpoints.
    """

    def __init__(self, head_dim, grid):
        super().__init__()
        half = head_dim // 2
        freqs = 10000.0 ** (-torch.arange(0, half, 2).float() / half)  # (half/2,)
        pos = torch.arange(grid).float()
        per_axis = (pos[:, None] * freqs[None]).repeat_interleave(2, dim=-1)  # (grid, half), each angle twice
        rows = per_axis[:, None, :].expand(grid, grid, half)
        cols = per_axis[None, :, :].expand(grid, grid, half)
        angles = torch.cat([rows, cols], dim=-1).reshape(grid * grid, 2 * half)  # (T, head_dim)
        self.register_buffer("freqs_cos", angles.cos())
        self.register_buffer("freqs_sin", angles.sin())

    def forward(self, x):
        """x (N, H, T, head_dim) -> rotated x."""
        return x * self.freqs_cos + rotate_pairs(x) * self.freqs_sin


class SwiGLU(nn.Module):
    """SwiGLU MLP: w3(SiLU(a) * b) with (a, b) the two halves of w12(x)."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.w12 = nn.Linear(dim, 2 * hidden)
        self.w3 = nn.Linear(hidden, dim)

    def forward(self, x):
        a, b = self.w12(x).chunk(2, dim=-1)
        return self.w3(F.silu(a) * b)


def norm_layer(config):
    """RMSNorm with a learned scale (`weight`), or DiT's affine-free LayerNorm."""
    if config.use_rmsnorm:
        return nn.RMSNorm(config.hidden_size, eps=1e-6)
    return nn.LayerNorm(config.hidden_size, elementwise_affine=False, eps=1e-6)


class LightningDiTBlock(nn.Module):
    """A block modulated by c through adaLN-Zero (6 chunks, or 4 without shifts)."""

    def __init__(self, config):
        super().__init__()
        d = config.hidden_size
        self.wo_shift = config.wo_shift
        self.norm1, self.norm2 = norm_layer(config), norm_layer(config)
        self.attn = Attention(d, config.num_heads, config.use_qknorm)
        self.mlp = (SwiGLU if config.use_swiglu else Mlp)(d, mlp_width(config))
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(d, (4 if config.wo_shift else 6) * d))

    def forward(self, x, c, rope=None):
        if self.wo_shift:
            scale_msa, gate_msa, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(4, dim=1)
            shift_msa = shift_mlp = torch.zeros_like(scale_msa)
        else:
            shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa), rope)
        return x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class LightningDiT(DiT):
    """LightningDiT predicting the velocity of a linear path (t = 0 noise, t = 1 data) from x, t (N,), y (N,).

    DiT's embedders, position embedding, initialisation and forward, with LightningDiT's blocks, final norm
    and rotary embedding; a learned variance, if any, is dropped from the output as in the official forward.
    """

    config_class = LightningDiTConfig  # the configuration this network is built from (`nets.architectures`)

    def make_block(self, config):
        """A LightningDiT block (RMSNorm, SwiGLU, rotary attention as configured)."""
        return LightningDiTBlock(config)

    def make_final_norm(self, config):
        """RMSNorm, or DiT's LayerNorm when the configuration has none."""
        return norm_layer(config)

    def make_rope(self, config):
        """2-D rotary embedding over the token grid, when configured."""
        return Rope2d(config.hidden_size // config.num_heads, config.image_size // config.patch_size) \
            if config.use_rope else None

    def forward(self, x, t, y):
        return super().forward(x, t, y)[:, :self.in_channels]  # (N, C, H, W)


def infer_config(state, num_heads=None):
    """The `LightningDiTConfig` an official-layout LightningDiT state dict was built with (heads from the RoPE
    buffers, else `num_heads`, else the official width table)."""
    patch = state["x_embedder.proj.weight"]  # (D, C, p, p)
    hidden, channels, p = patch.shape[0], patch.shape[1], patch.shape[2]
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    swiglu = "blocks.0.mlp.w12.weight" in state
    mlp_hidden = state["blocks.0.mlp.w3.weight" if swiglu else "blocks.0.mlp.fc1.weight"].shape[1 if swiglu else 0]
    grid = round(state["pos_embed"].shape[1] ** 0.5)
    if "feat_rope.freqs_cos" in state:
        heads = hidden // state["feat_rope.freqs_cos"].shape[1]
    elif num_heads or hidden in OFFICIAL_HEADS:
        heads = num_heads or OFFICIAL_HEADS[hidden]
    else:
        raise ValueError(f"num_heads must be given for a LightningDiT without RoPE buffers of hidden size {hidden} "
                         f"(official sizes: {sorted(OFFICIAL_HEADS)})")
    out = state["final_layer.linear.weight"].shape[0] // (p * p)
    return LightningDiTConfig(
        image_size=grid * p, patch_size=p, in_channels=channels, hidden_size=hidden, depth=depth, num_heads=heads,
        num_classes=state["y_embedder.embedding_table.weight"].shape[0] - 1, learn_sigma=out == 2 * channels,
        use_swiglu=swiglu, use_rope="feat_rope.freqs_cos" in state, use_rmsnorm="blocks.0.norm1.weight" in state,
        use_qknorm="blocks.0.attn.q_norm.weight" in state,
        wo_shift=state["blocks.0.adaLN_modulation.1.weight"].shape[0] == 4 * hidden, mlp_hidden=mlp_hidden)
