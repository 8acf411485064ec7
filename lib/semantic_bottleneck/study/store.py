"""Finished rows of a pruning study on disk, so an interrupted run (a Colab session ending) resumes where it stopped.

A row is only ever read back under the key it was written with, and that key names the weights that produced it:
rows of other weights (a retrained tiny model, another mirror's checkpoint) are never mixed with this run's.
"""
from dataclasses import asdict
import hashlib
import os
from pathlib import Path

import torch
from torch import nn

from ..cache import config_hash, lib_hash, set_aside, unreadable


def _modules(part):
    """The networks of one part of a run: a module, the module of a bound method, or the modules among an object's
    attributes (an extractor's classifier, a decoder's VAE)."""
    if part is None:
        return []
    if isinstance(part, nn.Module):
        return [part]
    if isinstance(getattr(part, "__self__", None), nn.Module):
        return [part.__self__]
    return [value for value in getattr(part, "__dict__", {}).values() if isinstance(value, nn.Module)]


def weights_digest(*parts):
    """sha256 (16 hex digits) of every tensor of the networks of `parts` (`_modules`), names and bytes, in order: the
    weights a run's rows came from. Reads each tensor once (a few seconds for a multi-GB checkpoint on a GPU)."""
    digest = hashlib.sha256()
    for part in parts:
        for module in _modules(part):
            digest.update(type(module).__name__.encode())
            for name, tensor in module.state_dict().items():
                flat = tensor.detach().reshape(-1).cpu().contiguous()  # (numel,): its bytes in order
                digest.update(f"{name} {tensor.dtype} {tuple(tensor.shape)}".encode())
                digest.update(flat.view(torch.uint8).numpy())  # (numel * itemsize,) bytes, without a copy
    return digest.hexdigest()[:16]


class RowStore:
    """Finished rows of one run on disk, so an interrupted run (a Colab session ending) resumes where it stopped.

    One folder per run, named by a hash of everything the rows' numbers depend on (model and the digest of the
    weights that produced them (`weights_digest`), sampler, samples, seeds, judge, this library's source, cpu or
    cuda; not the batch size or the number of processes); one file per row and spec, written atomically when the row
    is done, with the number of processes that sampled it and its full key. A file read back is checked against its
    key: one that is not this run's row (copied over another) or cannot be read is moved aside (kept) with one
    warning line and sampled again.
    """

    def __init__(self, root, protocol, judge, keep_images, device_type, weights):
        self.key = {"protocol": asdict(protocol), "judge": judge.protocol(), "keep_images": keep_images,
                    "lib": lib_hash(), "device": device_type, "weights": weights}
        for name in ("batch_size", "processes"):  # results do not depend on them (per-index noise)
            self.key["protocol"].pop(name)
        self.folder = Path(root) / f"{protocol.model}-{config_hash(self.key)}"

    def path(self, row, key):
        """The file of one row under one key (its spec; for the baseline, the steps it records)."""
        return self.folder / f"{row}-{config_hash({'key': repr(key)})}.pt"

    def row_key(self, row, key):
        """What a row's file must say it is: this run's key, the row's name and its spec (as text)."""
        return {"run": config_hash(self.key), "row": row, "spec": repr(key)}

    def load(self, row, key):
        """A finished row's saved outputs, or None (absent; or damaged or another row's, then moved aside)."""
        path = self.path(row, key)
        if not path.exists():
            return None
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a truncated or garbage file raises many classes (EOFError, RuntimeError, ...)
            set_aside(path, f"(a finished row) cannot be read ({unreadable(err)})", f"sampling row {row} again")
            return None
        if not isinstance(saved, dict) or saved.get("key") != self.row_key(row, key):
            found = saved.get("key") if isinstance(saved, dict) else None
            what = f"row {found['row']} of another run or spec" if isinstance(found, dict) and "row" in found else \
                "a file without this row's key"
            set_aside(path, f"(a finished row) holds {what}, not row {row} of this run", f"sampling row {row} again")
            return None
        return saved

    def save(self, row, key, outputs):
        """Write a finished row's outputs (records, removed, images, states, processes) and its key atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(row, key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save({**outputs, "key": self.row_key(row, key)}, tmp)
        os.replace(tmp, path)

