"""The pruning protocol of Tables 2, 3 and 6: the paper's rows as pruning specs, run on paired seeds.

Every row is sampled on the same per-index noise as the baseline, for `seeds` disjoint blocks of
`samples_per_seed` global indices (one block = one seed), and scored per seed; `seed_stats` turns the
scores into intervals, changes and verdicts, `pruning_report` into tables and sentences.
"""
from dataclasses import dataclass, replace
import os
from pathlib import Path
import pandas as pd
import torch

from . import sample
from .metrics import concat_records, subset_records
from .paper import paper_table, paper_value
from .prune import Pruner, PruneSpec, count_readings, global_mask
from .seed_stats import summarise

PAPER_D = int(paper_value("T1", "d", "REPA"))  # Table 2 counts dimensions of REPA's c
MAPPINGS = ("fraction", "threshold")
# Which of the paper's tables each model's numbers belong to: (table of FID/IS/CLIP, its row prefix, Table 6 prefix).
PAPER_TABLES = {"tiny-class": ("T2", "", "REPA/"), "repa-xl": ("T2", "", "REPA/"), "mg-xl": ("T3", "MG/", "MG/"),
                "lightningdit-xl": ("T3", "LightningDiT/", "LightningDiT/")}
T6_ROWS = ("baseline", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps")


def parse_row(row):
    """(part, tau, schedule) of a paper row id such as "tail_tau0.01_first_step"; None for "baseline"."""
    if row == "baseline":
        return None
    part, rest = row.split("_tau", 1)
    tau, schedule = rest.split("_", 1)
    return part, float(tau), schedule


def paper_rows():
    """Table 2's rows: row id -> (part, tau, schedule, removed fraction of d = 1152), baseline -> None."""
    out = {}
    for row in paper_table("T2").index:
        parsed = parse_row(row)
        out[row] = None if parsed is None else (*parsed, paper_value("T2", row, "removed_dims") / PAPER_D)
    return out


def row_specs(mapping, reading="per_sample", k=1):
    """Every Table 2 row as a PruneSpec (None for the baseline).

    `fraction`: the same share of dimensions as the paper's row (removed_dims / 1152), for models whose
    magnitudes differ from REPA's; `threshold`: the paper's tau itself.
    """
    if mapping not in MAPPINGS:
        raise ValueError(f"mapping must be one of {', '.join(MAPPINGS)}; got {mapping!r}")
    out = {}
    for row, info in paper_rows().items():
        if info is None:
            out[row] = None
            continue
        part, tau, schedule, fraction = info
        size = {"fraction": fraction} if mapping == "fraction" else {"tau": tau}
        out[row] = PruneSpec(part, reading=reading, schedule=schedule, k=k, **size)
    return out


def extra_specs(dim, mapping, reading, k, other_reading=False, tail_fractions=(), head_dims=(), k_values=()):
    """Rows beyond the paper's: the tau=0.01 rows with the other mask reading, and sweeps over the share and k.

    Sweep rows prune every step with the per-sample reading, by share of d; the k sweep varies the k of the
    `tail_tau0.01_last_k_steps` row. Names: `<row>@<reading>`, `sweep_tail_<share>`, `sweep_head_<n>dims`, `k_sweep_<k>`.
    """
    out = {}
    if other_reading:
        other = "global" if reading == "per_sample" else "per_sample"
        out.update({f"{row}@{other}": spec for row, spec in row_specs(mapping, other, k).items()
                    if row.startswith("tail_tau0.01_")})
    for f in tail_fractions:
        out[f"sweep_tail_{f:.3f}"] = PruneSpec("tail", fraction=f)
    for n in head_dims:
        out[f"sweep_head_{n}dims"] = PruneSpec("head", fraction=n / dim)
    base = row_specs(mapping, reading, k)["tail_tau0.01_last_k_steps"]
    for kk in k_values:
        out[f"k_sweep_{kk}"] = replace(base, k=kk)
    return out


@dataclass(frozen=True)
class Protocol:
    """What every number of one run shares: model, sampler, sample count, seeds, batch size."""

    model: str
    sampler: sample.SamplerConfig
    samples_per_seed: int
    seeds: int
    seed: int = 0
    batch_size: int = 256
    num_classes: int = 1000

    def rows_of(self, replicate):
        """Positions (and global indices) of one seed's block of samples."""
        return range(replicate * self.samples_per_seed, (replicate + 1) * self.samples_per_seed)

    def table(self, judge):
        """The protocol as a one-column table, metric half from the judge."""
        per_class = self.samples_per_seed / self.num_classes
        return pd.DataFrame({"value": {
            "model": self.model, "sampler": self.sampler.describe(),
            "samples": f"{self.samples_per_seed} per seed ({per_class:g} per class, label = index mod {self.num_classes}), "
                       f"{self.seeds} seeds (disjoint index blocks, base seed {self.seed})",
            "noise": "per sample from its global index (CPU generator); every row sees the baseline's noise",
            **judge.protocol()}})


class RowStore:
    """Finished rows of one run on disk, so an interrupted run (a Colab session ending) resumes where it stopped.

    One folder per run, named by a hash of everything the rows' numbers depend on (model, sampler, samples,
    seeds, judge, this library's source, cpu or cuda); one file per row and spec, written atomically when the
    row is done.
    """

    def __init__(self, root, protocol, judge, keep_images, device_type):
        from dataclasses import asdict

        from .cache import config_hash, lib_hash

        key = {"protocol": asdict(protocol), "judge": judge.protocol(), "keep_images": keep_images, "lib": lib_hash(),
               "device": device_type}
        key["protocol"].pop("batch_size")  # results do not depend on it (per-index noise)
        self.folder = Path(root) / f"{protocol.model}-{config_hash(key)}"

    def path(self, row, key):
        """The file of one row under one key (its spec; for the baseline, the steps it records)."""
        from .cache import config_hash

        return self.folder / f"{row}-{config_hash({'key': repr(key)})}.pt"

    def load(self, row, key):
        """A finished row's saved outputs, or None."""
        path = self.path(row, key)
        return torch.load(path, map_location="cpu", weights_only=True) if path.exists() else None

    def save(self, row, key, outputs):
        """Write a finished row's outputs (records, removed, images, states) atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(row, key)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        torch.save(outputs, tmp)
        os.replace(tmp, path)


def run_rows(network, specs, protocol, judge, embedding=None, decode=None, keep_images=10, progress=True,
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

        def on_batch(chunk, labels, batch):
            """Score each decoded batch as it comes; keep the first images for the figures."""
            parts.append(judge.records(batch, labels))
            if sum(len(b) for b in shown) < keep_images:
                shown.append(batch.cpu())

        common = dict(num_classes=protocol.num_classes, batch_size=protocol.batch_size, decode=decode,
                      on_batch=on_batch, keep=False, progress=progress)
        if spec is None:
            out = sample.generate(network, indices, protocol.seed, protocol.sampler, record_steps=record, **common)
            states, removed = out.states, 0.0
        else:
            mask = global_mask(embedding, spec) if spec.reading == "global" else None
            resume = (n - spec.k, states[n - spec.k]) if spec.schedule == "last_k_steps" else None
            with Pruner(network, spec, n, mask=mask) as pruner:
                sample.generate(network, indices, protocol.seed, protocol.sampler, step_callback=pruner,
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


def removed_dims_readings(embedding, step_timesteps):
    """How many of d coordinates each of the paper's thresholds removes under each mask reading, beside the paper."""
    thresholds = [(info[0], info[1], round(info[3] * PAPER_D)) for info in paper_rows().values()
                  if info is not None and info[2] == "every_step"]
    return count_readings(embedding, thresholds, step_timesteps,
                          paper_column="paper (REPA; also MG and LightningDiT at τ=0.01)")


@dataclass
class Study:
    """One model's pruning run: protocol, rows, per-seed scores, summary, kept images, removed-dims readings."""

    model: str
    protocol: Protocol
    specs: dict
    long: pd.DataFrame
    summary: pd.DataFrame
    images: dict
    readings: pd.DataFrame
    dim: int


def run_study(name, profile, judge, sampler=None, samples_per_seed=100, seeds=3, seed=0, mapping="fraction",
              reading="per_sample", k=1, other_reading=False, tail_fractions=(), head_dims=(), k_values=(),
              batch_size=256, device="cpu", dtype="float32", keep_images=10, threads=1, progress=True, resume_dir=None):
    """Load a model, sample the baseline, Table 2's rows and the sweeps on shared noise, and score every seed.

    `sampler` names a preset (default: `sample.default_sampler`); `dtype` other than
    float32 runs the network under autocast; `threads` CPU threads while it runs (0: torch's default);
    `resume_dir` keeps finished rows on disk so that a re-run after an interruption continues (`RowStore`).
    """
    from .networks import cpu_threads

    with cpu_threads(threads):
        return _run_study(name, profile, judge, sampler, samples_per_seed, seeds, seed, mapping, reading, k, other_reading,
                          tail_fractions, head_dims, k_values, batch_size, device, dtype, keep_images, progress,
                          resume_dir)


def _run_study(name, profile, judge, sampler, samples_per_seed, seeds, seed, mapping, reading, k, other_reading,
               tail_fractions, head_dims, k_values, batch_size, device, dtype, keep_images, progress, resume_dir):
    from .networks import load_network

    network, embedding, decode, info = load_network(name, profile, device, progress)
    config = sample.preset(sampler or sample.default_sampler(name, info["family"]),
                           **({} if dtype == "float32" else {"dtype": dtype}))
    protocol = Protocol(name, config, samples_per_seed, seeds, seed, batch_size, info["num_classes"])
    specs = {**row_specs(mapping, reading, k),
             **extra_specs(info["dim"], mapping, reading, k, other_reading, tail_fractions, head_dims, k_values)}
    long, images = run_rows(network, specs, protocol, judge, embedding, decode, keep_images, progress, resume_dir)
    readings = removed_dims_readings(embedding, sample.timesteps(config))
    return Study(name, protocol, specs, long, summarise(long), images, readings, info["dim"])
