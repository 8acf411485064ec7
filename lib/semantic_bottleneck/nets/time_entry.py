"""The tiny DiT with its timestep entering the tokens instead of c: the control of the hypotheses chapter's H1.

`DiT` forms c = t_emb(t) + y_emb(y) and modulates every block by it. `TokenTimeDiT` adds t_emb(t) to every patch
token (after the position embedding) and modulates by c = y_emb(y) alone: the network still knows t, but c no longer
carries it. Everything else is DiT's (module names, initialisation, blocks). The network holds a buffer
`time_enters_condition` (False) that `condition.embedding.ConditionEmbedding.from_state_dict` reads, so the c read
from its weights is the c it uses. A separate configuration class (not a field of `DiTConfig`), so that the cache keys
of every other trained model stay as they are.
Shapes: N batch, T tokens, D width.
"""
from dataclasses import dataclass

import torch

from .dit import DiT, DiTConfig, unpatchify

TIME_ENTRIES = ("tokens",)


@dataclass(frozen=True)
class TokenTimeConfig(DiTConfig):
    """A DiT whose timestep embedding is added to the patch tokens, not to c."""

    time_entry: str = "tokens"

    def __post_init__(self):
        if self.time_entry not in TIME_ENTRIES:
            raise ValueError(f"time_entry must be one of {', '.join(TIME_ENTRIES)}; got {self.time_entry!r}")


class TokenTimeDiT(DiT):
    """DiT with t_emb added to every token and c = y_emb: t reaches the blocks, but not through c."""

    config_class = TokenTimeConfig

    def __init__(self, config: TokenTimeConfig):
        super().__init__(config)
        self.register_buffer("time_enters_condition", torch.tensor(False))

    def forward(self, x, t, y):
        """Predict the noise for x (N, C, H, W), timesteps t (N,), labels y (N,)."""
        x = self.x_embedder(x) + self.pos_embed + self.t_embedder(t).unsqueeze(1)  # (N, T, D)
        c = self.embed_condition(y)  # (N, D): the label alone
        for block in self.blocks:
            x = block(x, c, self.feat_rope)
        return unpatchify(self.final_layer(x, c), self.patch, self.out_channels, self.grid)  # (N, C, H, W)
