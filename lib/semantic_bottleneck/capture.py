"""Read c from any live model by hooking where it enters the modulation layers.

Class-conditional checkpoints give c from two tensors (`conditioning`); models whose condition is
not a class label (a pose and a source image for X-MDPT, video features for MDSGen) only give c by
running them. `CaptureC` records it from the first modulation layer of every forward pass, on the
tiny DiT, an official-layout model or diffusers' `DiTTransformer2DModel` alike.
"""
import torch

from .prune import hook_points


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
