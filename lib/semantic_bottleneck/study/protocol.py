"""A pruning study of one model: the baseline and every row on shared noise, scored per seed, resumable.

Every row is sampled on the same per-index noise and conditions as the baseline, for `seeds` disjoint blocks
of `samples_per_seed` global indices (one block = one seed), and scored per seed; `judge.paired_seeds` turns
the scores into intervals, changes and verdicts. Which rows a chapter runs is the chapter's own
(`chapters.pruning.rows` for the paper's Table 2).
"""
from dataclasses import dataclass

import pandas as pd
import torch

from ..condition.prune import Pruner, global_mask
from ..devices import cpu_threads, resolve_device
from ..judge.metrics import concat_records, subset_records
from ..judge.paired_seeds import summarise
from ..registry import load_network, model
from ..sampling.generate import generate
from ..sampling.presets import SamplerConfig, preset
from .store import RowStore


@dataclass(frozen=True)
class Protocol:
    """What every number of one run shares: model, sampler, sample count, seeds, batch size, conditions."""

    model: str
    sampler: SamplerConfig
    samples_per_seed: int
    seeds: int
    seed: int = 0
    batch_size: int = 256
    conditions: str = ""

    def rows_of(self, replicate):
        """Positions (and global indices) of one seed's block of samples."""
        return range(replicate * self.samples_per_seed, (replicate + 1) * self.samples_per_seed)

    def table(self, judge):
        """The protocol as a one-column table, metric half from the judge."""
        return pd.DataFrame({"value": {
            "model": self.model, "sampler": self.sampler.describe(),
            "samples": f"{self.samples_per_seed} per seed ({self.conditions}), "
                       f"{self.seeds} seeds (disjoint index blocks, base seed {self.seed})",
            "noise": "per sample from its global index (CPU generator); every row sees the baseline's noise",
            **judge.protocol()}})


def run_rows(network, specs, protocol, judge, conditions, embedding=None, decode=None, keep_images=10, progress=True,
             resume_dir=None):
    """Sample the baseline and every row on the same noise and score each seed's block.

    Returns (long DataFrame: row, replicate, metric, value; {row: first `keep_images` images}).
    A `last_k_steps` row restarts from the baseline's recorded state k steps before the end, which
    gives exactly the images of a full run with the same noise (nothing is pruned before).
    With `resume_dir`, every finished row is saved there (`RowStore`) and a re-run loads it instead of sampling.
    """
    n = protocol.sampler.num_steps
    indices = range(protocol.seeds * protocol.samples_per_seed)
    specs = {"baseline": None, **{k: v for k, v in specs.items() if k != "baseline"}}
    record = sorted({n - s.k for s in specs.values() if s is not None and s.schedule == "last_k_steps"})
    device_type = next(network.parameters()).device.type
    store = RowStore(resume_dir, protocol, judge, keep_images, device_type) if resume_dir else None
    states, results, images = {}, [], {}
    for row, spec in specs.items():
        key = spec if spec is not None else ("baseline recording steps", tuple(record))
        saved = store.load(row, key) if store else None
        if saved is not None:
            states = saved["states"] if spec is None else states
            _score(results, row, saved["records"], saved["removed"], protocol, judge)
            images[row] = saved["images"]
            continue
        parts, shown = [], []

        def on_batch(chunk, conditions_batch, batch):
            """Score each decoded batch as it comes; keep the first images for the figures."""
            parts.append(judge.records(batch, conditions_batch, chunk))
            if sum(len(b) for b in shown) < keep_images:
                shown.append(batch.cpu())

        common = dict(conditions=conditions, batch_size=protocol.batch_size, decode=decode, on_batch=on_batch,
                      keep=False, progress=progress)
        if spec is None:
            out = generate(network, indices, protocol.seed, protocol.sampler, record_steps=record, **common)
            states, removed = out.states, 0.0
        else:
            mask = global_mask(embedding, spec) if spec.reading == "global" else None
            resume = (n - spec.k, states[n - spec.k]) if spec.schedule == "last_k_steps" else None
            with Pruner(network, spec, n, mask=mask) as pruner:
                generate(network, indices, protocol.seed, protocol.sampler, step_callback=pruner,
                                resume=resume, **common)
            removed = pruner.removed_dims()
        records = concat_records(parts)
        images[row] = torch.cat(shown)[:keep_images] if shown else None
        if store:
            store.save(row, key, {"records": records, "removed": removed, "images": images[row],
                                   "states": states if spec is None else {}})
        _score(results, row, records, removed, protocol, judge)
    return pd.DataFrame(results), images


def _score(results, row, records, removed, protocol, judge):
    """Append one row's per-seed metrics to `results`."""
    for r in range(protocol.seeds):
        scores = judge.score(subset_records(records, list(protocol.rows_of(r))), seed=r)
        for metric, value in {"removed_dims": removed, **scores}.items():
            results.append({"row": row, "replicate": r, "metric": metric, "value": value})


@dataclass
class Study:
    """One model's pruning run: protocol, rows, per-seed scores, summary, kept images, and what was loaded."""

    model: str
    protocol: Protocol
    specs: dict
    long: pd.DataFrame
    summary: pd.DataFrame
    images: dict
    dim: int
    embedding: object


def run_study(name, params, judge, make_specs, progress=True):
    """Load a model, sample the baseline and every row of `make_specs(params, dim)` on shared noise, score every seed.

    From `params` (a notebook's parameters): `samplers` (model -> preset; default the registry's),
    `samples_per_seed`, `seeds`, `seed`, `batch_size`, `device`, `dtype` (other than float32 runs the network
    under autocast), `grid_samples` (images kept per row), `threads` (CPU threads while it runs; 0: torch's
    default) and `resume_dir` (finished rows kept on disk, so that a re-run continues: `RowStore`).
    """
    with cpu_threads(params.threads):
        loaded = load_network(name, params.profile, resolve_device(params.device), progress)
        changes = {} if params.dtype == "float32" else {"dtype": params.dtype}
        config = preset(params.samplers.get(name) or model(name).sampler, **changes)
        protocol = Protocol(name, config, params.samples_per_seed, params.seeds, params.seed, params.batch_size,
                            loaded.conditions.describe(params.samples_per_seed))
        specs = make_specs(params, loaded.dim)
        long, images = run_rows(loaded.network, specs, protocol, judge, loaded.conditions, loaded.embedding,
                                loaded.decode, params.grid_samples, progress, params.resume_dir or None)
    return Study(name, protocol, specs, long, summarise(long), images, loaded.dim, loaded.embedding)
