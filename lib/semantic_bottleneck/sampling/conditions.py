"""What a sample is conditioned on, drawn from its global index like its noise.

A condition batch is a tensor (class labels, (N,)) or a dict of tensors (a pose and a source image, per-frame
video features); `ClassLabels` is the class-conditional source, and the pose-guided and video-to-audio
chapters bring their own with the same three methods: `for_indices`, `null_like`, `describe`.
"""
import torch


class ClassLabels:
    """Class conditions: sample i gets label i mod K (balanced over any K consecutive indices); the null label is K."""

    def __init__(self, num_classes, null_label=None):
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1; got {num_classes!r}")
        self.num_classes = num_classes
        self.null_label = num_classes if null_label is None else null_label

    def for_indices(self, indices):
        """The labels (N,) of global sample indices."""
        return torch.as_tensor([int(i) % self.num_classes for i in indices], dtype=torch.long)

    def null_like(self, labels):
        """The unconditional (CFG) labels for a batch."""
        return torch.full_like(labels, self.null_label)

    def describe(self, count):
        """One line for protocol tables, for `count` samples."""
        return f"{count / self.num_classes:g} per class, label = index mod {self.num_classes}"


def concat(a, b):
    """Two condition batches as one (tensors, or dicts of tensors key by key)."""
    if isinstance(a, dict):
        return {key: torch.cat([a[key], b[key]]) for key in a}
    return torch.cat([a, b])


def to_device(batch, device):
    """A condition batch on `device`."""
    if isinstance(batch, dict):
        return {key: value.to(device) for key, value in batch.items()}
    return batch.to(device)


def join(batches):
    """Condition batches of consecutive chunks as one batch (on the CPU)."""
    if isinstance(batches[0], dict):
        return {key: torch.cat([b[key].cpu() for b in batches]) for key in batches[0]}
    return torch.cat([b.cpu() for b in batches])
