"""Head-only conditioning as a smaller network: every modulation layer keeps only the columns of the kept coordinates.

With one mask for every sample and step (the `global` reading), zeroing the other coordinates of c before every
adaLN modulation layer (`prune.Pruner`) is the same as deleting their input columns from each of those layers:
the layers compute Linear(SiLU(c)), and SiLU(0) = 0, so a zeroed coordinate adds nothing. `compress` returns a copy of
a live model (the tiny DiTs, an official layout, diffusers' `DiTTransformer2DModel`) whose modulation layers take the
r kept coordinates only, and `KeptCoordinates` gathers them from c at the points `hooks.hook_points` names:
once per forward pass in the official layouts (every block receives the same c), once per copy of c in diffusers
(which recomputes c in every block and once more for its final layer). The gather is a hook that runs before any
other on those layers, so a later hook (`CaptureC`, a `Pruner`) sees the gathered c (N, r).
Shapes: N rows of c, D width of c, r kept coordinates.
"""
import copy

import torch
from torch import nn

from .hooks import hook_points
from .prune import PruneSpec, global_mask

GATHER = "kept_coordinates"  # the attribute (and state-dict prefix) of the gather module on a compressed model


class _Replace:
    """The hooks that replace c by `transform(c)`: before a modulation layer, or after diffusers' `norm1.emb`.

    An object rather than a closure, so that a deep copy of a model (an EMA copy, `compress`) rebinds its hooks to
    the copy's own `transform` module.
    """

    def __init__(self, transform):
        self.transform = transform

    def before(self, module, args):
        """Forward pre-hook: the layer's input c replaced."""
        return (self.transform(args[0]), *args[1:])

    def after(self, module, args, out):
        """Forward hook: the c the module returns replaced."""
        return self.transform(out)


def replace_c(model, transform, prepend=False):
    """Replace c by `transform(c)` wherever it enters `model` (`hooks.hook_points`); returns the hook handles.

    `prepend=True` runs these hooks before any registered earlier.
    """
    kind, modules = hook_points(model)
    hook = _Replace(transform)
    if kind == "input":
        return [m.register_forward_pre_hook(hook.before, prepend=prepend) for m in modules]
    return [m.register_forward_hook(hook.after, prepend=prepend) for m in modules]


class KeptCoordinates(nn.Module):
    """c (N, D) -> its kept coordinates (N, r); computed once per distinct c tensor (every layer of a pass shares it).

    `index` (r,) is a buffer, so it travels with the model (`.to`) and its state dict (`kept_coordinates.index`).
    The last c and its gather are held only until the model's forward pass ends (`forget`), so no tensor (nor its
    autograd graph) outlives a pass, and copies and pickles never carry one.
    """

    def __init__(self, index, width):
        super().__init__()
        self.width = int(width)
        self.register_buffer("index", torch.as_tensor(index, dtype=torch.long))
        self._last = (None, None)  # (the last c seen, its kept coordinates)

    def forward(self, c):
        if self._last[0] is not c:
            self._last = (c, c.index_select(-1, self.index))
        return self._last[1]

    def forget(self, *hook_args):
        """Drop the held c (a forward hook of the whole model: it runs when a pass ends)."""
        self._last = (None, None)

    def __getstate__(self):
        return {**super().__getstate__(), "_last": (None, None)}


def modulation_layers(model):
    """Every Linear that reads c (the modulation layers' Linears; diffusers: `norm1.linear` and `proj_out_1`), as
    (parent module, attribute name, Linear)."""
    kind, modules = hook_points(model)
    if kind == "output":
        return [(b.norm1, "linear", b.norm1.linear) for b in model.transformer_blocks] + \
            [(model, "proj_out_1", model.proj_out_1)]
    return [(m, name, child) for m in modules for name, child in m.named_children() if isinstance(child, nn.Linear)]


def kept_index(kept, width):
    """The kept coordinates as sorted indices (r,), from a boolean mask (D,) or indices; ValueError if neither."""
    kept = torch.as_tensor(kept).cpu()
    if kept.dtype == torch.bool:
        if kept.shape != (width,):
            raise ValueError(f"kept must be a boolean mask of shape ({width},) or indices; got shape {tuple(kept.shape)}")
        kept = kept.nonzero().flatten()
    if kept.dtype.is_floating_point or kept.ndim != 1 or not len(kept):
        raise ValueError(f"kept must be a non-empty boolean mask ({width},) or 1-d integer indices; got "
                         f"{kept.dtype} of shape {tuple(kept.shape)}")
    index = kept.long().unique()  # sorted
    if len(index) != len(kept) or index[0] < 0 or index[-1] >= width:
        raise ValueError(f"kept indices must be distinct and in [0, {width}); got {kept.tolist()[:8]}...")
    return index


def compress(model, kept):
    """A copy of `model` whose every modulation layer keeps only the input columns of the `kept` coordinates of c.

    `kept`: a boolean mask (D,) (True = kept; e.g. `~prune.global_mask(embedding, spec)`) or indices. The copy
    equals the model under `Pruner(model, spec, n, mask=~kept)` with the global reading at every step, to float
    rounding. ValueError if the model is already compressed.
    """
    if hasattr(model, GATHER):
        raise ValueError("model is already compressed (it has a `kept_coordinates` gather); compress the original")
    layers = modulation_layers(model)
    width = layers[0][2].in_features
    index = kept_index(kept, width)
    out = copy.deepcopy(model)
    with torch.no_grad():
        for parent, name, linear in modulation_layers(out):
            smaller = nn.Linear(len(index), linear.out_features, bias=linear.bias is not None,
                                device=linear.weight.device, dtype=linear.weight.dtype)
            smaller.weight.copy_(linear.weight[:, index.to(linear.weight.device)])
            if linear.bias is not None:
                smaller.bias.copy_(linear.bias)
            setattr(parent, name, smaller)
    setattr(out, GATHER, KeptCoordinates(index, width).to(layers[0][2].weight.device))
    replace_c(out, getattr(out, GATHER), prepend=True)
    out.register_forward_hook(getattr(out, GATHER).forget)
    return out


def global_kept(embedding, share):
    """The global reading's kept coordinates (D,) for a kept `share` of c: the round(share D) largest |mean c| over
    the embedding's conditions at t0 (at least one), as `prune.global_mask` zeroes the others."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1]; got {share!r}")
    return ~global_mask(embedding, PruneSpec("tail", fraction=1 - share, reading="global"))


def compressed_index(model):
    """The kept coordinates (r,) of a compressed model, or None for a model that is not compressed."""
    gather = getattr(model, GATHER, None)
    return None if gather is None else gather.index
