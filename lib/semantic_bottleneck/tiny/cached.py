"""A network trained once per configuration and kept in the model cache (`cache.entry_dir`), read once per process.

The checkpoint and a small JSON record (what the training measured) are written under temporary names and renamed,
the checkpoint last: an entry with a checkpoint is complete, and concurrent trainers never share a temporary file.
"""
from dataclasses import asdict
import json
import os
import time

import torch

from ..cache import cache_root, entry_dir

_LOADED = {}  # (kind, configuration, cache folder) -> (network, record)


def load_or_train(kind, config, build, train, version, progress=True):
    """`(network, record)` for a frozen dataclass `config`: from the cache, else `train(config, progress)` and cached.

    `build(config)` makes an untrained network to load the weights into; `train` returns (network, record dict);
    `version` is part of the cache key (bump it when the training code changes the weights). The record holds the
    configuration, what `train` returned and the training's wall time.
    """
    key = (kind, config, version, str(cache_root()))
    if key in _LOADED:
        return _LOADED[key]
    folder = entry_dir(kind, {**asdict(config), "cache_version": version})
    checkpoint, record_path = folder / "model.pt", folder / "record.json"
    if checkpoint.exists() and record_path.exists():
        network = build(config)
        network.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True), strict=True)
        _LOADED[key] = network.eval(), json.loads(record_path.read_text())
        return _LOADED[key]
    start = time.perf_counter()
    network, record = train(config, progress)
    record = {**asdict(config), **record, "train_seconds": time.perf_counter() - start}
    folder.mkdir(parents=True, exist_ok=True)
    tmp = f".{os.getpid()}.tmp"
    (folder / f"record.json{tmp}").write_text(json.dumps(record, indent=1))
    torch.save(network.state_dict(), folder / f"model.pt{tmp}")
    os.replace(folder / f"record.json{tmp}", record_path)
    os.replace(folder / f"model.pt{tmp}", checkpoint)
    _LOADED[key] = network.eval(), record
    return _LOADED[key]
