"""A pruning study of one model: the baseline and every row on shared noise, scored per seed, resumable.

Every row is sampled on the same per-index noise and conditions as the baseline, for `seeds` disjoint blocks
of `samples_per_seed` global indices (one block = one seed), and scored per seed; `judge.paired_seeds` turns
the scores into intervals, changes and verdicts. Which rows a chapter runs is the chapter's own
(`chapters.pruning.rows` for the paper's Table 2). A `distributed.Team` of several processes (torchrun) splits
every row's indices among them and stores each row on rank 0; one process then scores the stored rows, with the
numbers of a run on one process.
"""
from dataclasses import dataclass, replace

import pandas as pd
import torch

from ..condition.project import row_hooks
from ..condition.prune import removed_per_row
from ..devices import cpu_threads, resolve_device
from ..timing import span
from ..judge.metrics import concat_records, subset_records
from ..judge.paired_seeds import summarise
from ..registry import load_network, model
from ..sampling.generate import generate, timesteps
from ..sampling.presets import SamplerConfig, preset
from .distributed import Team
from .store import RowStore, weights_digest


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
    processes: str = ""  # how many processes produced the rows (`run_study` fills it in from the rows)

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
            **({"processes": self.processes} if self.processes else {}), **judge.protocol()}})


def run_rows(network, specs, protocol, judge, conditions, embedding=None, decode=None, keep_images=10, progress=True,
             resume_dir=None, team=None):
    """Sample the baseline and every row on the same noise and score each seed's block.

    Returns (long DataFrame: row, replicate, metric, value, processes; {row: first `keep_images` images}; {row:
    {score column: per-sample scores (N,) in global-index order}}).
    A `last_k_steps` row restarts from the baseline's recorded state k steps before the end, which
    gives exactly the images of a full run with the same noise (nothing is pruned before).
    With `resume_dir`, every finished row is saved there (`RowStore`, keyed by the digest of every network the rows
    come from: the model, the decoder, the judge's) and a re-run loads it instead of sampling.
    With a `team` of several processes (`resume_dir` required), each samples its share of every unfinished row's
    indices, the lead (rank 0) gathers the records and saves the row, and nothing is scored: every process
    returns (None, None, None), and a run on one process then scores the saved rows without sampling (scoring
    inside a process group would make torchmetrics synchronise its states with the other processes). Each
    process keeps the baseline's recorded state of its own share for the last-k rows; the state is gathered only
    for the row store (a restart with another number of processes splits it anew).
    """
    team = team or Team()
    n = protocol.sampler.num_steps
    count = protocol.seeds * protocol.samples_per_seed
    if team.size > 1 and not resume_dir:
        raise ValueError("resume_dir must be given when several processes sample (they only store the rows)")
    if count < team.size:
        raise ValueError(f"processes must be at most the number of samples per row ({count}); got {team.size}")
    indices = team.share(range(count))
    specs = {"baseline": None, **{k: v for k, v in specs.items() if k != "baseline"}}
    record = sorted({n - s.k for s in specs.values() if s is not None and s.schedule == "last_k_steps"})
    device_type = next(network.parameters()).device.type
    store = None
    if resume_dir and team.lead:
        weights = weights_digest(network, decode, judge.extractor, *judge.scorers)  # the networks the rows come from
        store = RowStore(resume_dir, protocol, judge, keep_images, device_type, weights)
    states, results, images, per_sample = {}, [], {}, {}
    for row, spec in specs.items():
        key = spec if spec is not None else ("baseline recording steps", tuple(record))
        saved = store.load(row, key) if store else None
        if team.broadcast(saved is not None):
            if spec is None:
                states = team.scatter_rows(saved["states"] if team.lead else None, count)
            if team.size == 1:
                _score(results, row, saved["records"], saved["removed"], protocol, judge, saved["processes"])
                images[row], per_sample[row] = saved["images"], _per_sample(saved["records"])
            continue
        parts, shown = [], []

        def on_batch(chunk, conditions_batch, batch):
            """Score each decoded batch as it comes; keep the first images for the figures."""
            with span("judging", "features and scores of each sample"):
                parts.append(judge.records(batch, conditions_batch, chunk))
            if sum(len(b) for b in shown) < keep_images:
                shown.append(batch.cpu())

        common = dict(conditions=conditions, batch_size=protocol.batch_size, decode=decode, on_batch=on_batch,
                      keep=False, progress=progress and team.lead)
        if spec is None:
            out = generate(network, indices, protocol.seed, protocol.sampler, record_steps=record, **common)
            states, masks = out.states, []
        else:
            resume = (n - spec.k, states[n - spec.k]) if spec.schedule == "last_k_steps" else None
            with row_hooks(network, spec, n, embedding, timesteps(protocol.sampler)) as pruner:
                generate(network, indices, protocol.seed, protocol.sampler, step_callback=pruner,
                         rows_callback=pruner.set_conditional_rows, resume=resume, **common)
            masks = pruner.records
        gathered = team.gather((parts, shown, masks))
        saved_states = team.gather(states) if spec is None and resume_dir else None
        if not team.lead:
            continue
        records, images[row], removed = _combine(gathered, keep_images)
        if len(records["features"]) != count:
            raise RuntimeError(f"row {row}: {len(records['features'])} records gathered for {count} samples")
        if store:
            full_states = {s: torch.cat([part[s] for part in saved_states]) for s in states} if spec is None else {}
            store.save(row, key, {"records": records, "removed": removed, "images": images[row],
                                   "states": full_states, "processes": team.size})
        if team.size == 1:
            with span("judging", "metrics of a row"):
                _score(results, row, records, removed, protocol, judge, team.size)
            per_sample[row] = _per_sample(records)
    return (pd.DataFrame(results), images, per_sample) if team.size == 1 else (None, None, None)


def _combine(gathered, keep_images):
    """One row from every process's (records per batch, first images, `Pruner.records`), in rank order: the
    records in global-index order, the first `keep_images` images, and `Pruner.removed_dims` over every mask."""
    records = concat_records([part for parts, _, _ in gathered for part in parts])
    shown = [batch for _, batches, _ in gathered for batch in batches]
    masks = [record for _, _, mask_records in gathered for record in mask_records]
    return records, torch.cat(shown)[:keep_images] if shown else None, removed_per_row(masks)


def _per_sample(records):
    """{score column: per-sample scores (N,)} of one row's records."""
    return {key.removeprefix("score:"): value for key, value in records.items() if key.startswith("score:")}


def _score(results, row, records, removed, protocol, judge, processes):
    """Append one row's per-seed metrics to `results`, with the number of processes that sampled the row."""
    for r in range(protocol.seeds):
        scores = judge.score(subset_records(records, list(protocol.rows_of(r))), seed=r)
        for metric, value in {"removed_dims": removed, **scores}.items():
            results.append({"row": row, "replicate": r, "metric": metric, "value": value, "processes": processes})


def describe_processes(long):
    """How many processes produced a run's rows, as the protocol table says it: "1 (every row)", "2 (every row): ...",
    or the rows of each count when a run was restarted with another count."""
    counts = long.groupby("row", sort=False)["processes"].first()
    rows_of = {n: [row for row, m in counts.items() if m == n] for n in sorted(set(counts))}
    text = f"{counts.iloc[0]} (every row)" if len(rows_of) == 1 else \
        "; ".join(f"{n} for {', '.join(rows)}" for n, rows in rows_of.items())
    split = ": each row's sample indices split among them (torch.distributed), the numbers of one process to " \
            "float rounding"
    return text + (split if max(rows_of) > 1 else "")


@dataclass
class Study:
    """One model's pruning run: protocol, rows, per-seed scores, summary, kept images, per-sample scores (row ->
    column -> (N,) in global-index order), and what was loaded."""

    model: str
    protocol: Protocol
    specs: dict
    long: pd.DataFrame
    summary: pd.DataFrame
    images: dict
    per_sample: dict
    dim: int
    embedding: object


def run_study(name, settings, judge, make_specs, progress=True, team=None, sampler=None):
    """Load a model, sample the baseline and every row of `make_specs(settings, dim)` on shared noise, score every seed.

    The sampler preset is `sampler`, else the chapter's `samplers` (model -> preset), else the registry's. From
    `settings` (a chapter's `settings.SamplingSettings`): `samples_per_seed`, `seeds`, `seed`, `batch_size`,
    `device`, `dtype` (other than float32 runs the network under autocast), `grid_samples` (images kept per row),
    `threads` (CPU threads while it runs; 0: torch's default) and `resume_dir` (finished rows kept on disk, so that
    a re-run continues: `RowStore`).
    With a `team` of several processes (`distributed.join_team`), all of them sample every unfinished row into
    `resume_dir` and return None; a run on one process then reads the rows back and scores them (`run_rows`).
    """
    team = team or Team()
    with cpu_threads(settings.threads):
        with team.lead_first():  # the lead trains or downloads what is not cached yet; the others then read it
            loaded = load_network(name, settings.profile, resolve_device(settings.device), progress and team.lead)
        changes = {} if settings.dtype == "float32" else {"dtype": settings.dtype}
        config = preset(sampler or settings.samplers.get(name) or model(name).sampler, **changes)
        protocol = Protocol(name, config, settings.samples_per_seed, settings.seeds, settings.seed, settings.batch_size,
                            loaded.conditions.describe(settings.samples_per_seed))
        specs = make_specs(settings, loaded.dim)
        long, images, per_sample = run_rows(loaded.network, specs, protocol, judge, loaded.conditions,
                                            loaded.embedding, loaded.decode, settings.grid_samples, progress,
                                            settings.resume_dir or None, team)
    if team.size > 1:
        return None
    protocol = replace(protocol, processes=describe_processes(long))
    return Study(name, protocol, specs, long, summarise(long), images, per_sample, loaded.dim, loaded.embedding)
