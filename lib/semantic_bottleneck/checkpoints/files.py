"""Open a checkpoint file lazily and pick its weight set, whatever its format (zip or old pickle `.pt`, safetensors).

Zip-format `.pt` files are memory-mapped (`torch.load(mmap=True)`) and safetensors files are read one tensor
at a time, so reading the few embedder tensors of a multi-GB checkpoint costs a few MB.
"""
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
import pickle

from safetensors import safe_open
import torch

_PREFIXES = ("module.", "_orig_mod.")
_SUBDICTS = ("ema", "model", "state_dict", "module")
_SAFE_GLOBALS = [Namespace]  # trainers pickle their argparse arguments beside the weights


class CheckpointError(ValueError):
    """A source that cannot be read as a checkpoint of the requested family (one-line message)."""


def checkpoint_format(path):
    """Format of a checkpoint file from its magic bytes: "torch-zip", "torch-pickle" or "safetensors"."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head.startswith(b"PK\x03\x04"):
        return "torch-zip"
    if head[:1] == b"\x80":
        return "torch-pickle"
    if len(head) == 9 and head[8:9] == b"{" and 1 < int.from_bytes(head[:8], "little") < 1 << 30:
        return "safetensors"
    if head.lstrip()[:1] == b"<":
        raise CheckpointError(f"{path} is an HTML page, not a checkpoint (a failed download?)")
    raise CheckpointError(f"{path} is not a checkpoint (starts with {head[:4]!r}; expected a zip/pickle .pt or "
                          "safetensors file)")


@dataclass
class _Opened:
    """A checkpoint file opened lazily: the chosen weight set and its tensors by name."""

    path: Path
    fmt: str
    weights: str
    tensors: Mapping


class _SafetensorsTensors(Mapping):
    """Tensors of a safetensors file, read one at a time on access."""

    def __init__(self, path):
        self._file = safe_open(str(path), framework="pt")
        self._keys = list(self._file.keys())
        self._known = set(self._keys)

    def __getitem__(self, key):
        if key not in self._known:
            raise KeyError(key)
        return self._file.get_tensor(key)

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)


def _strip(key):
    for prefix in _PREFIXES:
        while key.startswith(prefix):
            key = key[len(prefix):]
    return key


def _pick_weights(obj, path):
    """Choose the weight set of a loaded pickle: top-level tensors, else "ema", "model", "state_dict"."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict")
    if any(isinstance(v, torch.Tensor) for v in obj.values()):
        return "state dict", obj
    for name in _SUBDICTS:
        if isinstance(obj.get(name), Mapping):
            return name, obj[name]
    raise CheckpointError(f"{path} has no state dict (top-level keys: {', '.join(map(str, list(obj)[:8]))})")


def open_checkpoint(path):
    """Open a checkpoint file lazily; raises CheckpointError for anything that is not one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint file {path} does not exist" if not path.exists()
                              else f"{path} is a folder; this family expects a checkpoint file")
    fmt = checkpoint_format(path)
    if fmt == "safetensors":
        return _Opened(path, fmt, "state dict", _SafetensorsTensors(path))
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            obj = torch.load(path, map_location="cpu", mmap=fmt == "torch-zip", weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(f"{path} pickles objects that weights_only=True refuses: "
                              f"{str(err).strip().splitlines()[0]}") from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise CheckpointError(f"{path} is not a readable torch checkpoint (truncated?): "
                              f"{str(err).strip().splitlines()[0]}") from None
    weights, state = _pick_weights(obj, path)
    return _Opened(path, fmt, weights, {_strip(k): v for k, v in state.items()})


def read_tensors(path):
    """The tensors of a checkpoint file's weight set ("ema" first), read lazily; CheckpointError for a bad file."""
    return open_checkpoint(path).tensors
