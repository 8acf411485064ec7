"""A network trained once per configuration and kept in the model cache (`cache.entry_dir`).

Two entry layouts: `load_or_train` keeps the checkpoint and a JSON record of what the training measured
(`record.json`, read once per process); `load_or_train_logged` keeps the checkpoint, the training's log
(`training_log.csv`) and its record (`config.json`, which `checkpoints.read.read_tiny` reads back). Either way every
training runs here, with `devices.training_threads` CPU threads (part of the key) under a timing span; the files are
written under temporary names and renamed, the checkpoint last: an entry with a checkpoint is complete, and
concurrent trainers never share a temporary file. Every read checks the files against the sha256 recorded beside
them (`cache.read_entry`): an entry that does not match, or cannot be read, is moved aside with one warning line and
trained again.
"""
from dataclasses import asdict
import json
import time

import pandas as pd
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
    cached = read_entry(folder, {"record.json": lambda path: json.loads(path.read_text()),
                                 "model.pt": lambda path: _weights_into(build(config), path)})
    if cached is not None:
        _LOADED[key] = cached["model.pt"], cached["record.json"]
        return _LOADED[key]
    (network, record), seconds = _trained(kind, threads, lambda: train(config, progress))
    record = {**asdict(config), **threads, **record, "train_seconds": seconds}
    save_entry(folder, {"record.json": lambda path: path.write_text(json.dumps(record, indent=1)),
                        "model.pt": lambda path: torch.save(network.state_dict(), path)})
    _LOADED[key] = network.eval(), record
    return _LOADED[key]


def load_or_train_logged(kind, identity, build, train, label, progress=True):
    """`(network, training log, cache folder, record)` of the configuration `identity` (a dict of what determines the
    weights; with the training threads it is the cache key): from the cache, else `train(progress)`, which returns
    (network, log DataFrame), and cached.

    `build()` makes an untrained network to load the weights into; `label` names the training in the timing ledger.
    The record (`config.json`) is `identity`, the threads and the training's wall time (`train_seconds`).
    """
    threads = training_key()
    identity = {**identity, **threads}
    folder = entry_dir(kind, identity)
    cached = read_entry(folder, {"config.json": lambda path: json.loads(path.read_text()),
                                 "training_log.csv": pd.read_csv,
                                 "model.pt": lambda path: _weights_into(build(), path)})
    if cached is not None:
        return cached["model.pt"], cached["training_log.csv"], folder, cached["config.json"]
    (network, log), seconds = _trained(label, threads, lambda: train(progress))
    record = {**identity, "train_seconds": seconds}
    save_entry(folder, {"config.json": lambda path: path.write_text(json.dumps(record, indent=1)),
                        "training_log.csv": lambda path: log.to_csv(path, index=False),
                        "model.pt": lambda path: torch.save(network.state_dict(), path)})
    return network.eval(), log, folder, record


def _weights_into(network, path):
    """`network` with the weights of checkpoint `path` (read weights-only, strictly), in eval mode."""
    network.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    return network.eval()


def _trained(label, threads, train):
    """(what `train()` returned, its wall seconds), run with the training threads of `threads` under a timing span."""
    start = time.perf_counter()
    with span("training", label), cpu_threads(threads["training_threads"]):
        result = train()
    return result, time.perf_counter() - start
