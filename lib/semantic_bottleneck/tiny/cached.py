"""A network trained once per configuration and kept in the model cache (`cache.entry_dir`), read once per process.

The checkpoint and a small JSON record (what the training measured) are written under temporary names and renamed,
the checkpoint last: an entry with a checkpoint is complete, and concurrent trainers never share a temporary file.
Every read checks the files against the sha256 recorded beside them (`cache.read_entry`): an entry that does not
match, or cannot be read, is moved aside with one warning line and trained again.
"""
from dataclasses import asdict
import json
import time

import torch

from ..cache import cache_root, entry_dir, read_entry, save_entry
from ..devices import cpu_threads, training_key
from ..timing import span

_LOADED = {}  # (kind, configuration, version, cache folder, training threads) -> (network, record)


def load_or_train(kind, config, build, train, version, progress=True):
    """`(network, record)` for a frozen dataclass `config`: from the cache, else `train(config, progress)` and cached.

    `build(config)` makes an untrained network to load the weights into; `train` returns (network, record dict);
    `version` is part of the cache key (bump it when the training code changes the weights), and so are the training's
    CPU threads (`devices.training_threads`, which it runs with). The record holds the configuration, the threads, what
    `train` returned and the training's wall time.
    """
    threads = training_key()
    key = (kind, config, version, str(cache_root()), threads["training_threads"])
    if key in _LOADED:
        return _LOADED[key]
    folder = entry_dir(kind, {**asdict(config), "cache_version": version, **threads})

    def load_weights(path):
        """The cached network, its weights read weights-only."""
        network = build(config)
        network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
        return network.eval()

    cached = read_entry(folder, {"record.json": lambda path: json.loads(path.read_text()), "model.pt": load_weights})
    if cached is not None:
        _LOADED[key] = cached["model.pt"], cached["record.json"]
        return _LOADED[key]
    start = time.perf_counter()
    with span("training", kind), cpu_threads(threads["training_threads"]):
        network, record = train(config, progress)
    record = {**asdict(config), **threads, **record, "train_seconds": time.perf_counter() - start}
    save_entry(folder, {"record.json": lambda path: path.write_text(json.dumps(record, indent=1)),
                        "model.pt": lambda path: torch.save(network.state_dict(), path)})
    _LOADED[key] = network.eval(), record
    return _LOADED[key]
