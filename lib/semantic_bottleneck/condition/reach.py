"""What of c reaches the modulation: the SiLU-aware reading of head and tail, named beside the paper's.

Every modulation layer computes `Linear(SiLU(c))`, so a coordinate's effect is not |c_i| (the paper's ranking, its
Eq. 5 and 7 omit the SiLU) but |SiLU(c_i)|, scaled by how strongly the Linear weighs that input. SiLU passes a share
sigmoid(c_i) of a coordinate's magnitude: a large negative c_i (below `INERT_BELOW`, less than 5% passes) is a
"head" coordinate by |c_i| that the Linear hardly sees. Three rankings of the coordinates, each named:

- `magnitude`: |c_i| (the paper's);
- `silu`: |SiLU(c_i)|, what the Linear receives;
- `contribution`: |SiLU(c_i)| * g_i, with g_i the gain of input i: the root-sum-square over every modulation Linear
  of the norm of its weight column i (`modulation_gains`), so a coordinate's share of the modulation output.

Shapes: K vectors of c, D width of c.
"""
import math

import torch
import torch.nn.functional as F

from .hooks import hook_points
from .measure import normalized_pr

RANKINGS = ("magnitude", "silu", "contribution")
TRAINING_ONLY = ("sideblocks", "sideblocks_cross")  # MDT's, X-MDPT's and MDSGen's masked-training blocks: never run
INERT_BELOW = math.log(0.05 / 0.95)  # sigmoid(c) < 0.05 below this (about -2.94): SiLU passes < 5% of |c_i|


def check_ranking(ranking):
    """Refuse a ranking outside RANKINGS with one line."""
    if ranking not in RANKINGS:
        raise ValueError(f"ranking must be one of {', '.join(RANKINGS)}; got {ranking!r}")


def gains_from_weights(weights):
    """Gain of each input coordinate (D,): the root-sum-square of the norms of column i over every weight (out, D)."""
    weights = list(weights)
    if not weights:
        raise ValueError("weights must hold at least one modulation weight (out, D)")
    widths = {w.shape[-1] for w in weights}
    if len(widths) != 1:
        raise ValueError(f"every modulation weight must have the same input width; got {sorted(widths)}")
    return torch.stack([w.detach().double().pow(2).sum(0) for w in weights]).sum(0).sqrt().float()


def modulation_linears(model):
    """The Linear of every layer that turns SiLU(c) into a modulation at inference: each hooked `adaLN_modulation`'s
    outside the training-only side blocks, or, in diffusers' DiT, every block's `norm1.linear` and `proj_out_1`."""
    kind, modules = hook_points(model)
    if kind == "output":
        linears = [b.norm1.linear for b in model.transformer_blocks]
        return linears + ([model.proj_out_1] if hasattr(model, "proj_out_1") else [])
    side = {id(m) for name, m in model.named_modules() if name.split(".", 1)[0] in TRAINING_ONLY}
    modules = [module for module in modules if id(module) not in side]
    linears = [next((m for m in module.modules() if isinstance(m, torch.nn.Linear)), None) for module in modules]
    if any(linear is None for linear in linears):
        raise ValueError("the model's condition enters without a modulation Linear (an in-context or cross-attention "
                         "model): its coordinates have no SiLU-aware gain")
    return linears


def modulation_gains(model):
    """Gain of each coordinate of c (D,) in a live model (see `gains_from_weights`)."""
    return gains_from_weights(linear.weight for linear in modulation_linears(model))


def ranking_scores(c, ranking, gains=None):
    """The score each coordinate of c (..., D) is ranked by: |c|, |SiLU(c)|, or |SiLU(c)| * gains."""
    check_ranking(ranking)
    c = c.detach()
    if ranking == "magnitude":
        return c.abs()
    passed = F.silu(c.float()).abs()
    if ranking == "silu":
        return passed
    if gains is None:
        raise ValueError("gains must be given for the contribution ranking (condition.reach.modulation_gains(model))")
    gains = torch.as_tensor(gains, dtype=passed.dtype, device=passed.device)
    if gains.shape != passed.shape[-1:]:
        raise ValueError(f"gains must have shape ({passed.shape[-1]},) like c's last axis; got {tuple(gains.shape)}")
    return passed * gains


def _share(values, index):
    """Share of values' sum carried by the coordinates in `index`."""
    total = values.sum()
    return (values[index].sum() / total).item() if total > 0 else float("nan")


def reach_summary(c, gains, head_fraction):
    """The SiLU-aware statistics of c (K, D) beside the paper's: nPR and head shares under each ranking.

    The head is the ceil(head_fraction D) coordinates of largest |mean c| (the paper's magnitude head). Shares are of
    the mean vector's scores (magnitude, SiLU, contribution); `contribution_head_share` is what the same number of
    coordinates carries when they are chosen by contribution; `head_overlap` the share of the magnitude head in that
    contribution head; `inert_head` how many magnitude-head coordinates lie below INERT_BELOW.
    """
    if not 0 < head_fraction <= 1:
        raise ValueError(f"head_fraction must be in (0, 1]; got {head_fraction!r}")
    c = torch.as_tensor(c).double()
    c = c.reshape(1, -1) if c.dim() == 1 else c  # (K, D)
    mean = c.mean(0)
    k = math.ceil(head_fraction * c.shape[-1])
    scores = {r: ranking_scores(mean, r, gains).double() for r in RANKINGS}
    head = scores["magnitude"].topk(k).indices
    contribution_head = scores["contribution"].topk(k).indices
    row = {"head_dims": k}
    row.update({f"npr_{r}": normalized_pr(ranking_scores(c, r, gains)).mean().item() for r in RANKINGS})
    row.update({f"head_share_{r}": _share(scores[r], head) for r in RANKINGS})
    row["contribution_head_share"] = _share(scores["contribution"], contribution_head)
    reaching = scores["contribution"].sum() > 0  # with every gain 0 the contribution head is arbitrary
    row["head_overlap"] = len(set(head.tolist()) & set(contribution_head.tolist())) / k if reaching else float("nan")
    row["inert_head"] = int((mean[head] < INERT_BELOW).sum())
    return row
