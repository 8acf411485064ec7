"""The tiny class model conditioned two other ways (`nets.mechanisms`): registry sources and what each measures.

`tiny-in-context` and `tiny-cross-attention` are `tiny-class` (adaLN-Zero) with only the conditioning path changed:
the profile's training configuration (data, width, depth, steps, batch, learning rate, seed) with the model's
configuration turned into the mechanism's, trained by the same loop (`train.load_or_train`).
`MechanismVectors` gives what each model's condition enters as, with the interface of
`condition.embedding.ConditionEmbedding` (`c(t)`, `label()`, `time(t)`, `dim`, `num_classes`, `info`).
Shapes: K classes, D width, L context tokens.
"""
from dataclasses import asdict, dataclass, field, replace

import torch

from ...nets.mechanisms import CrossAttentionConfig, InContextConfig
from ...sampling.conditions import ClassLabels
from ...sampling.network import LoadedNetwork
from . import shapes
from .class_model import load_trained, tiny_train_config
from ..train import first_step_t

MECHANISM_CONFIGS = {"in-context": InContextConfig, "cross-attention": CrossAttentionConfig}
MEASURED = {
    "adaLN-Zero": "c = t_emb + y_emb (D), the input of every adaLN modulation",
    "in-context": "the two condition tokens [t_emb; y_emb] (2D), put before the patch tokens",
    "cross-attention": "the context tokens of y (L x D, flat), the keys and values of every cross-attention; "
                       "t enters apart, by adaLN-Zero",
}


def mechanism_train_config(mechanism, profile):
    """`tiny-class`'s training configuration of a profile with its model turned into `mechanism`'s."""
    if mechanism not in MECHANISM_CONFIGS:
        raise ValueError(f"mechanism must be one of {', '.join(MECHANISM_CONFIGS)}; got {mechanism!r}")
    base = tiny_train_config(profile)
    return replace(base, model=MECHANISM_CONFIGS[mechanism](**asdict(base.model)))


@dataclass
class MechanismVectors:
    """What a tiny in-context or cross-attention model's condition enters as, per class, read by running its embedders.

    `c(t)`: [t; y] (K, 2D) in-context, the context tokens (K, L x D) for cross-attention; `label()`: y alone;
    `time(t)`: t_emb; `summed(t)`: t + y (K, D) in-context (the paper's reading of U-ViT's "y + t"), None for
    cross-attention, where t and y never meet before the blocks.
    """

    network: torch.nn.Module
    mechanism: str
    info: dict = field(default_factory=dict)

    @property
    def num_classes(self):
        """Number of real classes K."""
        return self.network.config.num_classes

    @property
    def dim(self):
        """Width of the entering vector."""
        return self.c(float(self.info["t0"])).shape[1]

    def _classes(self, classes):
        return torch.arange(self.num_classes) if classes is None else torch.as_tensor(classes).reshape(-1)  # (K,)

    def c(self, t, classes=None):
        """The entering vector of each class at timestep t."""
        labels = self._classes(classes)
        with torch.no_grad():
            return self.network.condition_vectors(torch.full((len(labels),), float(t)), labels).float()

    def label(self, classes=None):
        """y alone: the label table's rows (K, D or L x D)."""
        with torch.no_grad():
            return self.network.embed_condition(self._classes(classes)).float()

    def time(self, t):
        """t_emb (M, D) of timesteps t (M,)."""
        with torch.no_grad():
            return self.network.t_embedder(torch.as_tensor(t, dtype=torch.float32).reshape(-1)).float()  # (M, D)

    def summed(self, t):
        """t_emb + y_emb (K, D) in-context; None for cross-attention."""
        return self.label() + self.time([float(t)]) if self.mechanism == "in-context" else None


class TinyMechanismModel:
    """Registry source of `tiny-in-context` and `tiny-cross-attention`."""

    def __init__(self, mechanism):
        if mechanism not in MECHANISM_CONFIGS:
            raise ValueError(f"mechanism must be one of {', '.join(MECHANISM_CONFIGS)}; got {mechanism!r}")
        self.mechanism = mechanism

    def training_seed(self, profile):
        """The seed the profile's model was trained with."""
        return mechanism_train_config(self.mechanism, profile).seed

    def _load(self, model, profile, progress):
        network, _, folder = load_trained(mechanism_train_config(self.mechanism, profile), progress)
        vectors = MechanismVectors(network, self.mechanism, {
            "family": model.family, "model": model.name, "t0": first_step_t(), "source": str(folder),
            "time_convention": "integer DDPM t in 0..999, 999 = noise", "measured": MEASURED[self.mechanism],
            "class_names": shapes.class_names()[: network.config.num_classes]})
        return network, vectors

    def embedding(self, model, profile, progress=True):
        """The model's `MechanismVectors` (trained here on first use)."""
        return self._load(model, profile, progress)[1]

    def network(self, model, profile, device="cpu", progress=True):
        """The trained network on `device`, with its vectors."""
        network, vectors = self._load(model, profile, progress)
        return LoadedNetwork(network.to(device), vectors, None, ClassLabels(network.config.num_classes), model.family,
                             vectors.dim, vectors.info["class_names"])

    def class_names(self, model, profile):
        """The procedural classes the profile's model was trained on."""
        return shapes.class_names()[: tiny_train_config(profile).model.num_classes]
