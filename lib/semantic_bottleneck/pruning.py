"""The pruning protocol of Tables 2, 3 and 6: rows, paired seeds, noise floor, verdicts, tables beside the paper.

Every row is sampled on the same per-index noise as the baseline, for `seeds` disjoint blocks of
`samples_per_seed` global indices (one block = one seed). Each metric gets a mean and 95% t-interval
over seeds, a paired change from the baseline (with its own 95% interval), and a noise floor: the
root-mean-square difference between two unpruned runs on different seeds. A change counts as larger
than the noise only when it exceeds the floor and its paired interval excludes zero.
"""
from dataclasses import dataclass, replace
import math

import pandas as pd
import torch
from scipy import stats

from . import sample
from .metrics import concat_records, subset_records
from .paper import paper_table, paper_value
from .prune import SCHEDULE_SYMBOLS, Pruner, PruneSpec, closest_reading, count_readings, global_mask

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


def run_rows(network, specs, protocol, judge, embedding=None, decode=None, keep_images=10, progress=True):
    """Sample the baseline and every row on the same noise and score each seed's block.

    Returns (long DataFrame: row, replicate, metric, value; {row: first `keep_images` images}).
    A `last_k_steps` row restarts from the baseline's recorded state k steps before the end, which
    gives exactly the images of a full run with the same noise (nothing is pruned before).
    """
    n = protocol.sampler.num_steps
    indices = range(protocol.seeds * protocol.samples_per_seed)
    specs = {"baseline": None, **{k: v for k, v in specs.items() if k != "baseline"}}
    record = sorted({n - s.k for s in specs.values() if s is not None and s.schedule == "last_k_steps"})
    states, results, images = {}, [], {}
    for row, spec in specs.items():
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
        for r in range(protocol.seeds):
            scores = judge.score(subset_records(records, list(protocol.rows_of(r))), seed=r)
            for metric, value in {"removed_dims": removed, **scores}.items():
                results.append({"row": row, "replicate": r, "metric": metric, "value": value})
    return pd.DataFrame(results), images


def _interval(values):
    """Mean and 95% t-interval half-width of a list (NaN half-width with fewer than 2 values)."""
    values = [float(v) for v in values]
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, float("nan")
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    return mean, stats.t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))


def noise_floor(values):
    """Root-mean-square difference between two unpruned runs over all pairs of seeds (NaN with one seed)."""
    values = [float(v) for v in values]
    pairs = [(a - b) ** 2 for i, a in enumerate(values) for b in values[i + 1:]]
    return math.sqrt(sum(pairs) / len(pairs)) if pairs else float("nan")


def summarise(long):
    """Per row and metric: mean, 95% interval, paired change vs the baseline (with interval), noise floor, verdict."""
    out = []
    base = long[long["row"] == "baseline"]
    for (row, metric), group in long.groupby(["row", "metric"], sort=False):
        group = group.sort_values("replicate")
        b = base[base["metric"] == metric].sort_values("replicate")["value"].tolist()
        mean, half = _interval(group["value"])
        delta, delta_half = _interval([v - w for v, w in zip(group["value"], b)])
        floor = noise_floor(b)
        if row == "baseline":
            verdict = "baseline"
        elif math.isnan(floor) or metric == "removed_dims":
            verdict = ""
        else:
            tiny = 1e-9 * max(1.0, abs(mean))  # a float-rounding change never counts, even over a zero floor
            excludes_zero = not abs(delta) <= delta_half  # NaN half-width (one seed) cannot exclude zero
            verdict = "larger than noise" if abs(delta) > max(floor, tiny) and excludes_zero else "within noise"
        out.append({"row": row, "metric": metric, "mean": mean, "ci95": half, "delta": delta, "delta_ci95": delta_half,
                    "noise_floor": floor, "verdict": verdict, "seeds": len(group)})
    return pd.DataFrame(out)


def label(row):
    """The paper's way of naming a row, e.g. 'Tail τ=0.01 (t_0)'; sweep rows keep their id."""
    if row.startswith(("sweep_", "k_sweep_")):
        return row
    parsed = parse_row(row.split("@")[0])
    if parsed is None:
        return "Baseline"
    part, tau, schedule = parsed
    return f"{part.capitalize()} τ={tau:g} ({SCHEDULE_SYMBOLS[schedule]})" + (f" [{row.split('@')[1]} mask]" if "@" in row else "")


def table_rows(summary):
    """The rows of the Table 2 analog, in order: the paper's rows and their other-reading variants."""
    return [r for r in dict.fromkeys(summary["row"]) if not r.startswith(("sweep_", "k_sweep_"))]


def floors(summary):
    """The noise floor (unpruned vs unpruned, root-mean-square over seed pairs) of every metric."""
    base = summary[summary["row"] == "baseline"]
    return dict(zip(base["metric"], base["noise_floor"]))


def _paper(model, row, metric):
    """The paper's number for one of our rows and metrics (Table 2/3, else Table 6), or None."""
    table, prefix, t6 = PAPER_TABLES.get(model, PAPER_TABLES["tiny-class"])
    for tab, row_id in ((table, prefix + row.split("@")[0]), ("T6", t6 + row.split("@")[0])):
        try:
            return paper_value(tab, row_id, metric)
        except KeyError:
            continue
    return None


def beside_paper(summary, metrics, model="tiny-class", dim=None, rows=None):
    """Our rows (mean ± 95% interval over seeds, change vs baseline with verdict) beside the paper's numbers."""
    out = []
    for row in rows or table_rows(summary):
        entry = {"row": label(row)}
        for metric in metrics:
            hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
            if hit.empty:
                continue
            h, paper = hit.iloc[0], _paper(model, row, metric)
            name = {"removed_dims": "removed", "fid": "FID", "is": "IS", "clip": "CLIP"}.get(metric, metric)
            if metric == "removed_dims":
                entry[f"removed (paper, of {PAPER_D})"] = "" if paper is None else f"{paper:.0f}"
                entry[f"removed (ours{f', of {dim}' if dim else ''})"] = f"{h['mean']:.1f}"
                continue
            if paper is not None:
                entry[f"{name} (paper)"] = f"{paper:.4g}"
            entry[f"{name} (ours)"] = f"{h['mean']:.4g} ± {h['ci95']:.2g}"
            if row != "baseline":
                entry[f"Δ{name}"] = f"{h['delta']:+.3g} ({h['verdict']})"
        out.append(entry)
    return pd.DataFrame(out).set_index("row").fillna("")


def removed_dims_readings(embedding, step_timesteps):
    """How many of d coordinates each of the paper's thresholds removes under each mask reading, beside the paper."""
    thresholds = [(info[0], info[1], round(info[3] * PAPER_D)) for info in paper_rows().values()
                  if info is not None and info[2] == "every_step"]
    return count_readings(embedding, thresholds, step_timesteps,
                          paper_column="paper (REPA; also MG and LightningDiT at τ=0.01)")


METRIC_NAMES = {"fid": "FID", "is": "IS", "kid": "KID", "precision": "precision", "recall": "recall",
                "class_agreement": "class agreement", "clip": "CLIP score"}


def status_rows(summary, model, protocol, extractor_name, agreement_column, dim, mapping, reading):
    """This run's numbers for the status page: T2 (T3 for MG/LightningDiT) and T6 rows, row ids as in paper.py."""
    table, prefix, t6 = PAPER_TABLES.get(model, ("T2", "", "REPA/"))
    known = set(paper_table(table).index)
    n, s = protocol.samples_per_seed, protocol.seeds
    out = []

    def add(tab, row_id, metric, h):
        """Append one status row with its reading."""
        if metric == "removed_dims":
            text = (f"mean zeroed coordinates per c the network sees (conditional and CFG-unconditional rows) and "
                    f"pruned step, of d = {dim} ({reading} mask, {mapping} mapping)")
        else:
            on = {"is": f"the logits of {extractor_name}", "class_agreement": "the evaluation classifier's labels",
                  "clip": "CLIP"}.get(metric, extractor_name)
            text = (f"{METRIC_NAMES[metric]}-{n} on {on}, mean of {s} seeds ± {h.ci95:.2g} (95%)"
                    + ("" if h.row == "baseline" else
                       f"; change vs baseline {h.delta:+.3g}, noise floor {h.noise_floor:.2g}: {h.verdict}"))
        out.append({"table": tab, "row": row_id, "column": metric, "model": model, "reading": text, "value": h.mean})

    for h in summary.itertuples():
        if prefix + h.row in known and h.metric in ("removed_dims", "fid", "is", agreement_column):
            add(table, prefix + h.row, h.metric, h)
        if h.row in T6_ROWS and h.metric in ("precision", "recall"):
            add("T6", t6 + h.row, h.metric, h)
    return out


def _get(summary, row, metric):
    hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def describe(summary, protocol, agreement_column, profile, readings=None, dim=None):
    """Sentences generated from this run's numbers: baseline and noise floor, the tau=0.01 schedules, the extremes."""
    base = _get(summary, "baseline", "fid")
    lines = [f"- Baseline: FID-{protocol.samples_per_seed} = {base['mean']:.4g} ± {base['ci95']:.2g} over "
             f"{protocol.seeds} seeds; two unpruned runs on different seeds differ by {base['noise_floor']:.3g} "
             f"(root-mean-square), i.e. {100 * base['noise_floor'] / base['mean']:.1f}% of the baseline. The paper's "
             f"three τ=0.01 rows change REPA's FID-5K by {_paper_changes()}."]
    schedules = []
    for row in ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps"):
        h = _get(summary, row, "fid")
        if h is not None:
            schedules.append(f"{label(row)}: {h['delta']:+.3g} ({100 * h['delta'] / base['mean']:+.1f}%, {h['verdict']})")
    if schedules:
        lines.append("- Removing the paper's τ=0.01 share of dimensions changes FID by " + "; ".join(schedules) + ".")
    pruned = summary[(summary["metric"] == "fid") & (summary["row"] != "baseline")].sort_values("delta")
    if len(pruned):
        top, best = pruned.iloc[-1], pruned.iloc[0]
        agree, base_agree = _get(summary, top["row"], agreement_column), _get(summary, "baseline", agreement_column)
        lines.append(f"- The most damaging row is {label(top['row'])} (FID {top['mean']:.4g}, {top['mean'] / base['mean']:.1f}x "
                     f"the baseline; {METRIC_NAMES[agreement_column]} {agree['mean']:.3f} against {base_agree['mean']:.3f}); "
                     f"the least damaging is {label(best['row'])} (change {best['delta']:+.3g}, {best['verdict']}).")
        verdicts = pruned["verdict"].value_counts()
        lines.append(f"- Of the {len(pruned)} pruned rows, {verdicts.get('larger than noise', 0)} change FID by more than "
                     f"the noise floor and {verdicts.get('within noise', 0)} do not.")
    heads = [_get(summary, r, "removed_dims") for r in ("head_tau5.0_every_step", "head_tau1.0_every_step")]
    if all(h is not None for h in heads) and heads[0]["mean"] == heads[1]["mean"]:
        paper_heads = [paper_value("T2", r, "removed_dims") for r in ("head_tau5.0_every_step", "head_tau1.0_every_step")]
        lines.append(f"- The paper's two head rows remove {paper_heads[0]:.0f} and {paper_heads[1]:.0f} of {PAPER_D} "
                     f"dimensions; at d = {dim} both round to "
                     f"{heads[0]['mean']:.0f}, so they are one row here (the head sweep adds larger counts).")
    if readings is not None:
        closest, first = closest_reading(readings), readings.iloc[0]
        if closest[readings.index[0]][1] <= 0.1 * first.iloc[0]:
            lines.append("- Removed dimensions at the paper's thresholds, reading closest to the paper's count: " + "; ".join(
                f"{t}: '{name}' (off by {diff:.1f})" for t, (name, diff) in closest.items()) + ".")
        else:
            lines.append(f"- At τ=0.01 this model zeroes {first.iloc[1]:.0f} of its {dim} coordinates under the global "
                         f"reading and {first.iloc[2]:.1f} per sample at t0: its magnitudes are on another scale than "
                         f"REPA's, so whether the paper's {first.iloc[0]:.0f} is a global or a per-sample count needs the "
                         "real checkpoints.")
        counts = [paper_value(t, r, "removed_dims") for t, r in (("T2", "tail_tau0.01_every_step"),
                  ("T3", "MG/tail_tau0.01_every_step"), ("T3", "LightningDiT/tail_tau0.01_every_step"))]
        if len(set(counts)) == 1:
            lines.append(f"- The paper prints {counts[0]:.0f} of {PAPER_D} at τ=0.01 for REPA, MG and LightningDiT alike: "
                         "one identical count for three different models.")
    if profile != "paper":
        lines.append("- What this scale cannot show: the tiny model's c has another magnitude scale than REPA's, so rows "
                     "are matched by the share of dimensions removed, not by τ; its metrics use the evaluation classifier's "
                     "features, not Inception, and a few hundred samples, not 5,000. It tests whether the effect, and the "
                     "paper's reading of small differences, survive a noise floor; not the paper's values.")
    return "\n".join(lines)


def _paper_changes():
    base = paper_value("T2", "baseline", "fid")
    rows = ("tail_tau0.01_every_step", "tail_tau0.01_first_step", "tail_tau0.01_last_k_steps")
    return ", ".join(f"{paper_value('T2', r, 'fid') - base:+.4f} ({label(r)})" for r in rows)


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
              batch_size=256, device="cpu", dtype="float32", keep_images=10, threads=1, progress=True):
    """Load a model, sample the baseline, Table 2's rows and the sweeps on shared noise, and score every seed.

    `sampler` names a preset (default: `sample.default_sampler`); `dtype` other than
    float32 runs the network under autocast; `threads` CPU threads while it runs (0: torch's default).
    """
    from .networks import cpu_threads

    with cpu_threads(threads):
        return _run_study(name, profile, judge, sampler, samples_per_seed, seeds, seed, mapping, reading, k, other_reading,
                          tail_fractions, head_dims, k_values, batch_size, device, dtype, keep_images, progress)


def _run_study(name, profile, judge, sampler, samples_per_seed, seeds, seed, mapping, reading, k, other_reading,
               tail_fractions, head_dims, k_values, batch_size, device, dtype, keep_images, progress):
    from .networks import load_network

    network, embedding, decode, info = load_network(name, profile, device, progress)
    config = sample.preset(sampler or sample.default_sampler(name, info["family"]),
                           **({} if dtype == "float32" else {"dtype": dtype}))
    protocol = Protocol(name, config, samples_per_seed, seeds, seed, batch_size, info["num_classes"])
    specs = {**row_specs(mapping, reading, k),
             **extra_specs(info["dim"], mapping, reading, k, other_reading, tail_fractions, head_dims, k_values)}
    long, images = run_rows(network, specs, protocol, judge, embedding, decode, keep_images, progress)
    readings = removed_dims_readings(embedding, sample.timesteps(config))
    return Study(name, protocol, specs, long, summarise(long), images, readings, info["dim"])
