"""A network ready to sample, with what a study needs to know about it (every registry source returns one)."""
from dataclasses import dataclass, field


@dataclass
class LoadedNetwork:
    """A samplable model: network, c's tensors (None where c only comes from running it), decoder, conditions, facts.

    `decode` maps final latents to images in [-1, 1] (None: pixel space); `conditions` gives each global sample
    index its condition (`conditions.ClassLabels` for class models); `dim` is the width of c.
    """

    network: object
    embedding: object
    decode: object
    conditions: object
    family: str
    dim: int
    class_names: list | None = None
    info: dict = field(default_factory=dict)
