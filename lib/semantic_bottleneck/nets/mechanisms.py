"""The tiny DiT with its condition entering two other ways; adaLN-Zero is `dit.DiT` itself.

- in-context tokens (as U-ViT): t_embedder(t) and y_embedder(y) are two tokens put before the patch tokens; the
  blocks are plain pre-LayerNorm transformer blocks, nothing is modulated;
- cross-attention (as PixArt-alpha): t still enters by adaLN-Zero (c = t_emb alone), y is the context of a
  cross-attention layer in every block, `context_tokens` tokens of width D per class (one context token would make
  the attention weights trivially 1, a plain added bias).

Everything else is DiT's: patch embedding, position embedding, timestep MLP, label table with its null row,
attention, MLP, initialisation, module names. Each passes the vector its condition enters as through
`condition_entry` (an identity layer), flat per sample, so `condition.hooks` reads and prunes it there:
[t_emb; y_emb] (2D) in-context, the context tokens (L x D) for cross-attention.
Shapes: N batch, T patch tokens, D width, L context tokens.
"""
from dataclasses import dataclass

import torch
from torch import nn

from .dit import Attention, DiT, DiTBlock, DiTConfig, LabelEmbedder, Mlp, attention, modulate, unpatchify

MECHANISMS = ("adaLN-Zero", "in-context", "cross-attention")


@dataclass(frozen=True)
class InContextConfig(DiTConfig):
    """A DiT whose t and y enter as two tokens of the sequence."""

    mechanism: str = "in-context"


@dataclass(frozen=True)
class CrossAttentionConfig(DiTConfig):
    """A DiT whose t enters by adaLN-Zero and y as `context_tokens` cross-attention context tokens."""

    mechanism: str = "cross-attention"
    context_tokens: int = 4


#################################################################################
#                                   Blocks                                      #
#################################################################################

class TransformerBlock(nn.Module):
    """A pre-LayerNorm transformer block (learned affine norms, no modulation): U-ViT's kind."""

    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads)
        self.norm2 = nn.LayerNorm(hidden_size, eps=1e-6)
        self.mlp = Mlp(hidden_size, int(hidden_size * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CrossAttention(nn.Module):
    """Multi-head attention of the tokens x (N, T, D) over a context (N, L, D)."""

    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, context):
        n, t, d = x.shape
        h = self.num_heads
        q = self.q(x).reshape(n, t, h, d // h).transpose(1, 2)  # (N, H, T, D/H)
        k, v = self.kv(context).reshape(n, -1, 2, h, d // h).permute(2, 0, 3, 1, 4)  # each (N, H, L, D/H)
        out = attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(n, t, d))  # (N, T, D)


class CrossAttentionBlock(DiTBlock):
    """DiT's adaLN-Zero block (modulated by t alone) with a cross-attention layer on y between attention and MLP."""

    def __init__(self, hidden_size, num_heads):
        super().__init__(hidden_size, num_heads)
        self.norm_cross = nn.LayerNorm(hidden_size, eps=1e-6)
        self.cross_attn = CrossAttention(hidden_size, num_heads)

    def forward(self, x, c, context):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        x = x + self.cross_attn(self.norm_cross(x), context)
        return x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class TokenFinalLayer(nn.Module):
    """A LayerNorm and the linear map back to patches, for a model without modulation."""

    def __init__(self, hidden_size, patch, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch[0] * patch[1] * out_channels)

    def forward(self, x):
        return self.linear(self.norm_final(x))


#################################################################################
#                                   Models                                      #
#################################################################################

class InContextDiT(DiT):
    """The tiny DiT with t and y as two extra tokens (U-ViT's in-context conditioning)."""

    config_class = InContextConfig  # the configuration this network is built from (`nets.architectures`)

    def __init__(self, config: InContextConfig):
        super().__init__(config)
        self.condition_entry = nn.Identity()

    def make_block(self, config):
        """A plain pre-LayerNorm block."""
        return TransformerBlock(config.hidden_size, config.num_heads)

    def make_final_layer(self, config):
        """A LayerNorm and the linear map back to patches (nothing to modulate)."""
        return TokenFinalLayer(config.hidden_size, self.patch, self.out_channels)

    def initialize_weights(self):
        """DiT's initialisation (nothing to zero but the output: there is no adaLN)."""
        self.initialize_shared_weights()

    def condition_vectors(self, t, labels):
        """The vector the condition enters as, [t_emb; y_emb] (N, 2D), before `condition_entry`."""
        return torch.cat([self.t_embedder(t), self.embed_condition(labels)], dim=1)

    def forward(self, x, t, y):
        """Predict the noise for x (N, C, H, W), timesteps t (N,), labels y (N,)."""
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        n, d = x.shape[0], x.shape[2]
        condition = self.condition_entry(self.condition_vectors(t, y)).reshape(n, 2, d)  # (N, 2, D)
        x = torch.cat([condition, x], dim=1)  # (N, 2 + T, D)
        for block in self.blocks:
            x = block(x)
        return unpatchify(self.final_layer(x[:, 2:]), self.patch, self.out_channels, self.grid)


class CrossAttentionDiT(DiT):
    """The tiny DiT with t by adaLN-Zero and y as cross-attention context (PixArt-alpha's split)."""

    config_class = CrossAttentionConfig  # the configuration this network is built from (`nets.architectures`)

    def make_label_embedder(self, config):
        """A label table of `context_tokens` x D per class (the null row included)."""
        return LabelEmbedder(config.num_classes, config.context_tokens * config.hidden_size, config.class_dropout_prob)

    def make_block(self, config):
        """DiT's block with a cross-attention layer."""
        return CrossAttentionBlock(config.hidden_size, config.num_heads)

    def __init__(self, config: CrossAttentionConfig):
        super().__init__(config)
        self.condition_entry = nn.Identity()

    def condition_vectors(self, t, labels):
        """The vector the condition enters as: the context tokens, flat (N, L x D); t does not enter here."""
        return self.embed_condition(labels)

    def forward(self, x, t, y):
        """Predict the noise for x (N, C, H, W), timesteps t (N,), labels y (N,)."""
        x = self.x_embedder(x) + self.pos_embed  # (N, T, D)
        n, d = x.shape[0], x.shape[2]
        context = self.condition_entry(self.condition_vectors(t, y)).reshape(n, -1, d)  # (N, L, D)
        c = self.t_embedder(t)  # (N, D): t alone modulates
        for block in self.blocks:
            x = block(x, c, context)
        return unpatchify(self.final_layer(x, c), self.patch, self.out_channels, self.grid)

