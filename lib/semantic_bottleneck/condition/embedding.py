"""The conditioning vector c = t_emb(t) + y_emb(y), computed from checkpoint tensors alone.

`timestep_sinusoid` is DiT's frequency embedding of t (every network here uses it); `ConditionEmbedding`
holds the two pieces a checkpoint needs for c: the label table and the timestep MLP.
Shapes: K conditions, D width of c, M timesteps.
"""
from dataclasses import dataclass, field
import math

import torch
import torch.nn.functional as F

TIME_FLAG = "time_enters_condition"  # a network's buffer; False: its c is y_emb alone (`nets.time_entry`)


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


@dataclass
class ConditionEmbedding:
    """Class table (K+1, D; last row the null class) and timestep MLP of a DiT-style model.

    `freq_shift` is the sinusoid's frequency shift: 0 for the original DiT formulation, which every
    reader uses (diffusers' own module uses 1; see models.md section 6.1). The four MLP tensors are None for a
    model whose time vector is the sinusoid itself, of width D (U-ViT-H/2's time token).
    """

    class_table: torch.Tensor
    t_weight1: torch.Tensor | None
    t_bias1: torch.Tensor | None
    t_weight2: torch.Tensor | None
    t_bias2: torch.Tensor | None
    freq_shift: float = 0.0
    has_null_row: bool = True
    info: dict = field(default_factory=dict)

    @property
    def dim(self):
        """Width D of c."""
        return self.class_table.shape[1]

    @property
    def num_classes(self):
        """Number of real classes K (the null row excluded)."""
        return self.class_table.shape[0] - int(self.has_null_row)

    @property
    def frequency_size(self):
        """Width of the timestep sinusoid fed to the MLP (D when there is no MLP)."""
        return self.dim if self.t_weight1 is None else self.t_weight1.shape[1]

    def time(self, t):
        """Timestep embeddings (M, D) for timesteps t (M,) as the model receives them."""
        t = torch.as_tensor(t, dtype=torch.float32).reshape(-1)  # (M,)
        h = timestep_sinusoid(t, self.frequency_size, freq_shift=self.freq_shift)
        if self.t_weight1 is None:  # no MLP: the sinusoid is the time vector (M, D)
            return h
        h = F.silu(F.linear(h, self.t_weight1.float(), self.t_bias1.float()))
        return F.linear(h, self.t_weight2.float(), self.t_bias2.float())  # (M, D)

    def label(self, classes=None):
        """Label embeddings (K, D) of the given classes (default: every real class, null row excluded)."""
        table = self.class_table.float()
        return table[: self.num_classes] if classes is None else table[torch.as_tensor(classes)]

    def c(self, t, classes=None):
        """Conditioning vectors c = t_emb(t) + y_emb (K, D) at one timestep t."""
        return self.label(classes) + self.time([float(t)])  # (K, D)

    @classmethod
    def from_state_dict(cls, state, **info):
        """Read the official DiT key layout (`y_embedder.embedding_table.weight`, `t_embedder.mlp.0/.2`); a state
        dict whose `TIME_FLAG` is False gives c = y_emb (its time vector is zero)."""
        keys = ["y_embedder.embedding_table.weight", "t_embedder.mlp.0.weight", "t_embedder.mlp.0.bias",
                "t_embedder.mlp.2.weight", "t_embedder.mlp.2.bias"]
        missing = [k for k in keys if k not in state]
        if missing:
            raise KeyError(f"checkpoint has no {', '.join(missing)}: not a DiT-layout state dict")
        tensors = [state[k].detach().float().cpu() for k in keys]
        if TIME_FLAG in state and not bool(state[TIME_FLAG]):  # t enters the tokens (`nets.time_entry`): c = y_emb
            tensors[3], tensors[4] = torch.zeros_like(tensors[3]), torch.zeros_like(tensors[4])
        return cls(*tensors, info=info)
