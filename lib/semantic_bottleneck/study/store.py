"""Finished rows of a pruning study on disk, so an interrupted run (a Colab session ending) resumes where it stopped."""
import os
from pathlib import Path

import torch

from ..cache import config_hash, lib_hash


class RowStore:
    """Finished rows of one run on disk, so an interrupted run (a Colab session ending) resumes where it stopped.

    One folder per run, named by a hash of everything the rows' numbers depend on (model, sampler, samples,
    seeds, judge, this library's source, cpu or cuda; not the batch size or the number of processes); one file per
    row and spec, written atomically when the row is done, with the number of processes that sampled it.
    """

    def __init__(self, root, protocol, judge, keep_images, device_type):
        from dataclasses import asdict

        key = {"protocol": asdict(protocol), "judge": judge.protocol(), "keep_images": keep_images, "lib": lib_hash(),
               "device": device_type}
        for name in ("batch_size", "processes"):  # results do not depend on them (per-index noise)
            key["protocol"].pop(name)
        self.folder = Path(root) / f"{protocol.model}-{config_hash(key)}"

    def path(self, row, key):
        """The file of one row under one key (its spec; for the baseline, the steps it records)."""
        return self.folder / f"{row}-{config_hash({'key': repr(key)})}.pt"

    def load(self, row, key):
        """A finished row's saved outputs, or None."""
        path = self.path(row, key)
        return torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None

    def save(self, row, key, outputs):
        """Write a finished row's outputs (records, removed, images, states, processes) atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(row, key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(outputs, tmp)
        os.replace(tmp, path)
