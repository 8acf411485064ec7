"""Open a checkpoint file lazily and pick its weight set, whatever its format (zip or old pickle `.pt`, safetensors).

Zip-format `.pt` files are memory-mapped (`torch.load(mmap=True)`) and safetensors files are read one tensor
at a time, so reading the few embedder tensors of a multi-GB checkpoint costs a few MB. Old-format (non-zip)
pickles cannot be memory-mapped: torch reads them whole into memory (a 3 GB file costs 3 GB while it is open).
Pickles are only ever read with `weights_only=True`: a file whose pickle names anything else is refused.
"""
from argparse import Namespace
from collections.abc import Mapping
from dataclasses import dataclass
import json
from pathlib import Path
import pickle
import re
import stat

from safetensors import SafetensorError, safe_open
import torch

_PREFIXES = ("module.", "_orig_mod.")
_SUBDICTS = ("ema", "model", "state_dict", "module")
_SAFE_GLOBALS = [Namespace]  # trainers pickle their argparse arguments beside the weights


class CheckpointError(ValueError):
    """A source that cannot be read as a checkpoint of the requested family (one-line message)."""


def not_a_file(path):
    """What `path` is when it is not a regular file ("a folder", "a FIFO", ...), or None for a file or nothing."""
    try:
        mode = Path(path).stat().st_mode
    except OSError:
        return None
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, None))
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def require_file(path):
    """`path` as a Path if it is an existing regular file; CheckpointError saying what it is otherwise."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint file {path} does not exist")
    kind = not_a_file(path)
    if kind:
        raise CheckpointError(f"{path} is {kind}; expected a checkpoint file")
    return path


def safetensors_end(path):
    """Byte length a safetensors file must have according to its own header; CheckpointError if it has none."""
    try:
        with open(path, "rb") as f:
            n = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(n))
        return 8 + n + max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise CheckpointError(f"{path} has an unreadable safetensors header (not JSON, or no data offsets)") from None


def checkpoint_format(path):
    """Format of a checkpoint file from its magic bytes: "torch-zip", "torch-pickle" or "safetensors"."""
    try:
        with open(require_file(path), "rb") as f:
            head = f.read(9)
    except OSError as err:
        raise CheckpointError(f"{path} cannot be read: {err.strerror or err}") from None
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
        size, needed = path.stat().st_size, safetensors_end(path)
        if size < needed:
            raise CheckpointError(f"{path} is a truncated safetensors file ({size} bytes; its header needs {needed})")
        self._path = path
        try:
            self._file = safe_open(str(path), framework="pt")
        except SafetensorError as err:
            raise CheckpointError(f"{path} is not a readable safetensors file: {_first_line(err)}") from None
        self._keys = list(self._file.keys())
        self._known = set(self._keys)

    def __getitem__(self, key):
        if key not in self._known:
            raise KeyError(key)
        try:
            return self._file.get_tensor(key)
        except SafetensorError as err:
            raise CheckpointError(f"{self._path}: tensor {key} cannot be read: {_first_line(err)}") from None

    def __iter__(self):
        return iter(self._keys)

    def __len__(self):
        return len(self._keys)


def _first_line(err):
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def _refused(err, path):
    """The one-line reason a weights-only unpickling refused a file: the global it names, never torch's advice."""
    found = re.search(r"GLOBAL ([\w.]+)", str(err))
    if found:
        return CheckpointError(f"{path} was refused: its pickle names {found.group(1)}, which weights-only loading "
                               "(torch.load(weights_only=True)) never unpickles, as it could run code")
    detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", str(err))
    return CheckpointError(f"{path} is not a readable torch checkpoint: weights-only loading stopped at "
                           f"'{detail.group(1).strip() if detail else 'an unknown opcode'}' (a damaged file, or objects "
                           "other than tensors and plain containers)")


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
    path = require_file(path)
    fmt = checkpoint_format(path)
    if fmt == "safetensors":
        return _Opened(path, fmt, "state dict", _SafetensorsTensors(path))
    try:
        with torch.serialization.safe_globals(_SAFE_GLOBALS):
            obj = torch.load(path, map_location="cpu", mmap=fmt == "torch-zip", weights_only=True)
    except Exception as err:  # a damaged file raises many classes (RuntimeError, EOFError, KeyError, ...)
        if isinstance(err, pickle.UnpicklingError) and "Weights only load failed" in str(err):
            raise _refused(err, path) from None
        raise CheckpointError(f"{path} is not a readable torch checkpoint (truncated?): "
                              f"{type(err).__name__}: {_first_line(err)}") from None
    weights, state = _pick_weights(obj, path)
    if any(not isinstance(k, str) for k in state):
        raise CheckpointError(f"{path}: its {weights} has keys that are not strings, so it is not a state dict")
    return _Opened(path, fmt, weights, {_strip(k): v for k, v in state.items()})


def read_tensors(path):
    """The tensors of a checkpoint file's weight set ("ema" first), read lazily; CheckpointError for a bad file."""
    return open_checkpoint(path).tensors
