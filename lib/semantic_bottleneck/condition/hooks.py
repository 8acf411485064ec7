"""Where c enters a live model, and reading it there.

Class-conditional checkpoints give c from two tensors (`embedding`); models whose condition is
not a class label (a pose and a source image for X-MDPT, video features for MDSGen) only give c by
running them. `hook_points` finds the layers that receive c (every `adaLN_modulation`, or diffusers'
`norm1.emb`; in the tiny in-context and cross-attention models, `nets.mechanisms`, the `condition_entry` layer
that their condition passes through instead); `CaptureC` records c from the first of them on every forward pass,
on the tiny DiT, an official-layout model or diffusers' `DiTTransformer2DModel` alike. `prune.Pruner` hooks the same layers.
"""
import torch


def hook_points(model):
    """Where c enters a model: ("output", [norm1.emb, ...]) for diffusers' DiT, ("input", [condition_entry]) for the
    tiny models conditioned otherwise than by adaLN, ("input", [adaLN_modulation, ...]) otherwise."""
    entry = getattr(model, "condition_entry", None)
    if entry is not None:
        return "input", [entry]
    blocks = getattr(model, "transformer_blocks", None)
    if blocks is not None and len(blocks) and all(hasattr(getattr(b, "norm1", None), "emb") for b in blocks):
        return "output", [b.norm1.emb for b in blocks]
    found = [m for name, m in model.named_modules() if name.rsplit(".", 1)[-1] == "adaLN_modulation"]
    if not found:
        raise ValueError("model must have `adaLN_modulation` layers (official DiT layout) or diffusers "
                         "`transformer_blocks[i].norm1.emb`; it has neither")
    return "input", found


class CaptureC:
    """Context manager: `vectors` collects c (N, D) once per forward pass while the `with` block runs."""

    def __init__(self, model):
        self.model = model
        self.vectors = []
        self._handle = None

    def __enter__(self):
        kind, modules = hook_points(self.model)
        first = modules[0]  # every block receives the same c: one copy per forward pass is enough
        if kind == "input":
            self._handle = first.register_forward_pre_hook(lambda m, args: self.vectors.append(args[0].detach().clone()))
        else:
            self._handle = first.register_forward_hook(lambda m, args, out: self.vectors.append(out.detach().clone()))
        return self

    def __exit__(self, *exc):
        self._handle.remove()
        return False

    def stacked(self):
        """Every captured c as one tensor (total N, D)."""
        return torch.cat(self.vectors)
