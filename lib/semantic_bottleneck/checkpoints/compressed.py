"""Compressed (head-only) networks as checkpoint files, and the registry source of a compressed model.

A compressed network (`condition.compress`) is saved as a safetensors file: its state dict in the official key
layout (the modulation layers' weights have r columns instead of D), the kept coordinates as
`kept_coordinates.index`, and, in the file's metadata, the architecture (network class and configuration), so
that `load_compressed` rebuilds it without the model it was compressed from: the network is built on the meta
device, compressed, and filled from the tensors that `files.read_tensors` (the reader of every checkpoint here)
reads. `CompressedModel` is a registry source: a registered model's network with every modulation layer keeping
a share of c's coordinates (the global reading: the largest |mean c| over conditions at t0), compressed once,
saved in the model cache and read back from the file.
"""
import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from ..cache import entry_dir
from ..condition.compress import GATHER, compress, compressed_index, global_kept
from ..nets.architectures import network_class, network_classes
from .files import CheckpointError, read_tensors, require_file

FORMAT = "semantic-bottleneck compressed network v1"


def architecture(network):
    """The network's class name and configuration as plain values (this project's networks only:
    `nets.architectures`)."""
    classes = network_classes()
    name = type(network).__name__
    if classes.get(name) is not type(network):
        raise ValueError(f"network must be one of this project's networks ({', '.join(classes)}) to be saved "
                         f"compressed; got {type(network).__name__}")
    return {"class": name, "config": asdict(network.config)}


def save_compressed(network, path):
    """Write a compressed network to `path` (safetensors, written under a temporary name and renamed)."""
    if compressed_index(network) is None:
        raise ValueError("network must be compressed (condition.compress.compress) before it is saved as one")
    state = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    metadata = {"format": FORMAT, "architecture": json.dumps(architecture(network))}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(tmp), metadata=metadata)
    os.replace(tmp, path)
    return path


def load_compressed(path):
    """The compressed network a `save_compressed` file holds, in eval mode on the CPU; CheckpointError for a file
    that is not one."""
    path = require_file(path)
    tensors = read_tensors(path)  # refuses anything that is not a checkpoint, with one line
    try:
        with safe_open(str(path), framework="pt") as opened:
            metadata = opened.metadata() or {}
    except SafetensorError:  # a .pt file: read_tensors opened it, safe_open cannot
        metadata = {}
    if metadata.get("format") != FORMAT or f"{GATHER}.index" not in tensors:
        raise CheckpointError(f"{path} is not a compressed network (no `{GATHER}.index` and {FORMAT!r} metadata)")
    spec = json.loads(metadata["architecture"])
    try:
        network_type = network_class(spec.get("class"))
    except ValueError as err:
        raise CheckpointError(f"{path} names an unknown architecture: {err}") from None
    with torch.device("meta"):
        skeleton = network_type(network_type.config_class(**spec["config"]))
    network = compress(skeleton, tensors[f"{GATHER}.index"])
    try:
        network.load_state_dict(dict(tensors), strict=True, assign=True)
    except RuntimeError as err:
        raise CheckpointError(f"{path} does not fit its own architecture: {str(err).strip().splitlines()[-1]}") from None
    return network.eval()


def fingerprint(network):
    """A short hash of a network's weights (names, shapes and bytes), to key what is derived from them."""
    digest = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().flatten().view(torch.uint8).numpy().tobytes())  # (bytes,)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class CompressedModel:
    """Registry source: the network of `base` (another registry source, whose model is named `base_name`) with every
    modulation layer keeping the `kept_share` of c's coordinates that are largest in the mean c at t0.

    The compressed checkpoint is written once per base weights into the model cache (`cache.entry_dir`) and every
    load reads it back from that file; c's tensors, conditions and decoder are the base's.
    """

    base: object
    base_name: str
    kept_share: float

    def __post_init__(self):
        if not 0 < self.kept_share <= 1:
            raise ValueError(f"kept_share must be in (0, 1]; got {self.kept_share!r}")

    def training_seed(self, profile):
        """The seed its base was trained with, or None for a released base."""
        seed = getattr(self.base, "training_seed", None)
        return seed(profile) if seed else None

    def _base(self, model):
        """The base model's registry entry, as the base source expects it."""
        return replace(model, name=self.base_name, source=self.base)

    def checkpoint(self, model, profile, device="cpu", progress=True):
        """(path of the compressed checkpoint, the base's loaded network on `device`), the file written on first use."""
        loaded = self.base.network(self._base(model), profile, device, progress)
        kept = global_kept(loaded.embedding, self.kept_share)
        key = {"base": self.base_name, "profile": profile, "kept": kept.nonzero().flatten().tolist(),
               "weights": fingerprint(loaded.network), "format": FORMAT}
        path = entry_dir("compressed", key) / "model.safetensors"
        if not path.exists():
            save_compressed(compress(loaded.network, kept), path)
        return path, loaded

    def network(self, model, profile, device="cpu", progress=True):
        """The compressed network read from its checkpoint file, with the base's c, conditions and decoder."""
        path, loaded = self.checkpoint(model, profile, device, progress)
        network = load_compressed(path).to(device)
        r = len(compressed_index(network))
        info = {**loaded.info, "compressed from": self.base_name, "checkpoint": str(path),
                "kept coordinates": f"{r} of {loaded.dim} (largest |mean c| over conditions at t0)"}
        return replace(loaded, network=network, info=info)

    def embedding(self, model, profile, progress=True):
        """c's tensors: the base model's (its embedders are not compressed)."""
        return self.base.embedding(self._base(model), profile, progress)

    def class_names(self, model, profile):
        """The base model's class names."""
        return self.base.class_names(self._base(model), profile)
