"""MDT (v1), the masked diffusion transformer that X-MDPT and MDSGen are built on, in its official module names.

At inference MDT v1 is a DiT whose attention adds a learned relative-position bias (BEiT's), whose position
embedding is learned, and which adds a second learned one (`decoder_pos_embed`) before its last `decode_layer`
blocks. Its `sideblocks` and `mask_token` serve the masked latent modelling of training only: they are held,
so that checkpoints load strictly, but never run. The token grid may be non-square (MDSGen's spectrograms).
c = t_emb + y reaches every block's `adaLN_modulation`, as in DiT. Shapes: N batch, T tokens, D width, H heads.
"""
from dataclasses import dataclass

import torch
from torch import nn

from .dit import DiT, DiTBlock, DiTConfig, attention, sincos_pos_embed_2d, unpatchify


class RelativePositionBias(nn.Module):
    """A learned bias per head for every (row offset, column offset) between two tokens of an (h, w) grid.

    `relative_position_bias_table` ((2h-1)(2w-1) + 3, H; the 3 extra rows are BEiT's class-token slots, unused
    here) and the buffer `relative_position_index` (T, T) that picks each pair's row, as in the checkpoints.
    """

    def __init__(self, window, num_heads):
        super().__init__()
        h, w = window
        self.window = (h, w)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * h - 1) * (2 * w - 1) + 3, num_heads))
        rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        rows, cols = rows.flatten(), cols.flatten()  # (T,) each, row-major
        d_row = rows[:, None] - rows[None, :] + h - 1  # (T, T), in 0 .. 2h-2
        d_col = cols[:, None] - cols[None, :] + w - 1  # (T, T), in 0 .. 2w-2
        self.register_buffer("relative_position_index", d_row * (2 * w - 1) + d_col)

    def forward(self):
        """The bias (H, T, T) added to every head's attention logits."""
        t = self.relative_position_index.shape[0]
        bias = self.relative_position_bias_table[self.relative_position_index.reshape(-1)]  # (T*T, H)
        return bias.reshape(t, t, -1).permute(2, 0, 1)  # (H, T, T)


class RelPosAttention(nn.Module):
    """Multi-head self-attention with a relative-position bias on the logits (`qkv`, `proj`, `rel_pos_bias`)."""

    def __init__(self, dim, num_heads, window):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.rel_pos_bias = RelativePositionBias(window, num_heads)

    def forward(self, x, rope=None):
        n, t, d = x.shape
        qkv = self.qkv(x).reshape(n, t, 3, self.num_heads, d // self.num_heads)  # (N, T, 3, H, D/H)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (N, H, T, D/H)
        out = attention(q, k, v, attn_mask=self.rel_pos_bias().to(q.dtype).unsqueeze(0))
        return self.proj(out.transpose(1, 2).reshape(n, t, d))  # (N, T, D)


@dataclass(frozen=True)
class MDTConfig(DiTConfig):
    """Architecture of an MDT v1; the defaults are MDT-XL/2 on ImageNet-256 latents with its inference decode_layer.

    `image_size` is the latent's height; `image_width` its width (0: square); `patch_width` likewise.
    `class_conditional=False` drops the label embedder: X-MDPT and MDSGen form y through their own modules.
    """

    image_size: int = 32
    patch_size: int = 2
    in_channels: int = 4
    hidden_size: int = 1152
    depth: int = 28
    num_heads: int = 16
    num_classes: int = 1000
    learn_sigma: bool = True
    image_width: int = 0
    patch_width: int = 0
    decode_layer: int = 2
    side_blocks: int = 1
    class_conditional: bool = True


class MDT(DiT):
    """MDT v1 at inference: relative-position blocks, `decoder_pos_embed` added before the last `decode_layer` blocks."""

    config_class = MDTConfig  # the configuration this network is built from (`nets.architectures`)

    def __init__(self, config: MDTConfig):
        super().__init__(config)
        d = config.hidden_size
        self.pos_embed.requires_grad_(True)  # learned in MDT (initialised as DiT's sine-cosine)
        self.sideblocks = nn.ModuleList([self.make_block(config) for _ in range(config.side_blocks)])
        self.decoder_pos_embed = nn.Parameter(sincos_pos_embed_2d(d, self.grid).unsqueeze(0))
        self.mask_token = nn.Parameter(torch.zeros(1, 1, d), requires_grad=False)
        for block in self.sideblocks:
            nn.init.zeros_(block.adaLN_modulation[-1].weight)
            nn.init.zeros_(block.adaLN_modulation[-1].bias)

    def patch_shape(self, config):
        """(height, width) of a patch."""
        return (config.patch_size, config.patch_width or config.patch_size)

    def grid_shape(self, config):
        """(rows, columns) of the token grid."""
        ph, pw = self.patch_shape(config)
        return (config.image_size // ph, (config.image_width or config.image_size) // pw)

    def make_block(self, config):
        """An adaLN-Zero block with relative-position attention over the token grid."""
        attn = RelPosAttention(config.hidden_size, config.num_heads, self.grid_shape(config))
        return DiTBlock(config.hidden_size, config.num_heads, attn=attn)

    def make_label_embedder(self, config):
        """The class-label embedder of class-conditional MDT; None for X-MDPT and MDSGen."""
        return super().make_label_embedder(config) if config.class_conditional else None

    def forward(self, x, t, y):
        """Predict noise (and variance) for x (N, C, H, W) at timesteps t (N,) under condition batch y."""
        tokens = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        c = self.t_embedder(t) + self.embed_condition(y)  # (N, D)
        for i, block in enumerate(self.blocks):
            if i == len(self.blocks) - self.config.decode_layer:
                tokens = tokens + self.decoder_pos_embed
            tokens = block(tokens, c)
        return unpatchify(self.final_layer(tokens, c), self.patch, self.out_channels, self.grid)  # (N, C, H, W)


def infer_config(state, decode_layer=2, grid=None):
    """The `MDTConfig` an official-layout MDT v1 state dict was built with.

    Heads come from the relative-position table, the rest from the shapes; `decode_layer` is a constructor
    argument that no tensor records (the official inference scripts use 2); `grid` (rows, columns) of tokens
    is needed only for a non-square grid.
    """
    patch = state["x_embedder.proj.weight"]  # (D, C, ph, pw)
    hidden, channels, ph, pw = patch.shape
    tokens = state["pos_embed"].shape[1]
    rows, cols = grid if grid is not None else (round(tokens ** 0.5),) * 2
    if rows * cols != tokens:
        raise ValueError(f"grid must hold the checkpoint's {tokens} tokens; got {rows} x {cols}")
    table = state.get("y_embedder.embedding_table.weight")
    out = state["final_layer.linear.weight"].shape[0] // (ph * pw)
    square = rows * ph == cols * pw and ph == pw  # 0 width: square, as MDTConfig spells it
    return MDTConfig(image_size=rows * ph, patch_size=ph, image_width=0 if square else cols * pw,
                     patch_width=0 if square else pw, in_channels=channels,
                     hidden_size=hidden, depth=1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks.")),
                     num_heads=state["blocks.0.attn.rel_pos_bias.relative_position_bias_table"].shape[1],
                     num_classes=0 if table is None else table.shape[0] - 1, learn_sigma=out == 2 * channels,
                     decode_layer=decode_layer, side_blocks=len({k.split(".")[1] for k in state if k.startswith("sideblocks.")}),
                     class_conditional=table is not None)
