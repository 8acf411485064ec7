"""The video-to-audio pruning study as tables, status-page rows and generated sentences.

The paper runs no pruning for video-to-audio and reports no audio metric, so every row here is a new experiment
with no paper value; the tables say so. `studies` maps "with guidance" / "without guidance" to a
`study.protocol.Study`.
"""
import pandas as pd

from .rows import label

NEW_TABLE = "V2A (new)"  # status-page table of experiments the paper did not run
METRIC_NAMES = {"removed_dims": "removed", "fid": "FD", "kid": "KID", "is": "IS", "precision": "precision",
                "recall": "recall", "onset_f1": "onset F1", "event_accuracy": "event accuracy",
                "pitch_accuracy": "pitch accuracy", "audioset_agreement": "AudioSet agreement"}
LOWER_IS_BETTER = ("fid", "kid")


def _cell(h):
    return f"{h.mean:.4g} ± {h.ci95:.2g}"


def pruning_table(studies, metrics):
    """Every row of every study: mean ± 95% interval over seeds, paired change from its own baseline with verdict."""
    out = []
    for guidance, study in studies.items():
        summary = study.summary.set_index(["row", "metric"])
        for row in dict.fromkeys(study.summary["row"]):
            entry = {"guidance": guidance, "row": label(row),
                     f"removed (of d = {study.dim})": f"{summary.loc[(row, 'removed_dims'), 'mean']:.1f}"}
            for metric in metrics:
                h = summary.loc[(row, metric)]
                entry[METRIC_NAMES[metric]] = f"{h['mean']:.4g} ± {h['ci95']:.2g}"
                if row != "baseline":
                    entry[f"Δ {METRIC_NAMES[metric]}"] = f"{h['delta']:+.3g} ({h['verdict']})"
            out.append(entry)
    return pd.DataFrame(out).set_index(["guidance", "row"]).fillna("")


def sweep_points(studies):
    """Per-sample rows as points for `chapters.figures.share_sweep`: series (part, guidance), share of d removed (in
    [0, 1]), metric, mean, ci95 (the baseline starts both parts)."""
    out = []
    for guidance, study in studies.items():
        removed = study.summary[study.summary["metric"] == "removed_dims"].set_index("row")["mean"]
        for row, spec in {"baseline": None, **study.specs}.items():
            if "@" in row or (spec is not None and spec.fraction is None):
                continue
            for part in ("tail", "head") if spec is None else (spec.part,):
                out += [{"series": f"{part}, {guidance}", "share": removed[row] / study.dim, "metric": h.metric,
                         "mean": h.mean, "ci95": h.ci95} for h in study.summary[study.summary["row"] == row].itertuples()]
    return pd.DataFrame(out).sort_values(["series", "share"])


def status_rows(studies, judge, profile):
    """The pruning rows for the status page: new experiments, no paper value; the reading says how each was made."""
    out = []
    for guidance, study in studies.items():
        n, s = study.protocol.samples_per_seed, study.protocol.seeds
        for h in study.summary.itertuples():
            if h.metric not in METRIC_NAMES or h.metric == "removed_dims":
                continue
            change = "" if h.row == "baseline" else (f"; change {h.delta:+.3g} (floor {h.noise_floor:.2g}): "
                                                     f"{h.verdict}")
            out.append({"table": NEW_TABLE, "row": f"{guidance}/{h.row}", "column": h.metric, "model": study.model,
                        "value": h.mean,
                        "reading": f"new experiment, no paper value: {label(h.row)}, {METRIC_NAMES[h.metric]} on "
                                   f"{n} samples per seed, mean of {s} seeds ± {h.ci95:.2g} (95%){change}; "
                                   f"{study.protocol.sampler.name}; {judge.extractor.name}"})
    return out


def _worse(metric, delta):
    return delta > 0 if metric in LOWER_IS_BETTER else delta < 0


def harmed_rows(study, metrics):
    """Row -> the metrics it makes worse by more than the noise floor (paired interval excluding zero), in order."""
    out = {}
    for h in study.summary.itertuples():
        if h.row != "baseline" and h.metric in metrics and h.verdict == "larger than noise" and _worse(h.metric, h.delta):
            out.setdefault(h.row, []).append(h)
    return out


def describe(studies, metrics, profile):
    """Sentences from the numbers: the baseline and its noise, which rows hurt, head against tail, with and without
    guidance."""
    lines, harmed = [], {}
    for guidance, study in studies.items():
        summary = study.summary
        base = summary[summary["row"] == "baseline"].set_index("metric")
        removed = summary[summary["metric"] == "removed_dims"].set_index("row")["mean"]
        harmed[guidance] = harmed_rows(study, metrics)
        safe = [r for r in study.specs if r not in harmed[guidance]]
        lines.append(f"- **{guidance}**, baseline: " + "; ".join(
            f"{METRIC_NAMES[m]} {base.loc[m, 'mean']:.3g} (two unpruned seeds differ by {base.loc[m, 'noise_floor']:.2g})"
            for m in metrics) + ". No metric worse by more than the noise: "
            + (", ".join(f"{label(r)} ({removed[r]:.1f} of {study.dim} removed)" for r in safe) or "no row") + ".")
        if harmed[guidance]:
            lines.append("- Worse than the noise: " + "; ".join(
                f"{label(r)}, {removed[r]:.1f} of {study.dim} removed (" + ", ".join(
                    f"{METRIC_NAMES[h.metric]} {h.delta:+.3g}" for h in hs) + ")" for r, hs in harmed[guidance].items()) + ".")
        first = {part: min((removed[r] for r, spec in study.specs.items() if r in harmed[guidance] and
                            spec.part == part and spec.reading == "per_sample"), default=None) for part in ("head", "tail")}
        if first["head"] is not None and first["tail"] is not None:
            lines.append(f"- Per sample, zeroing {first['head']:.1f} of the largest coordinates already hurts, and "
                         f"{first['tail']:.1f} of the smallest.")
    if len(studies) == 2:
        (a, sa), (b, sb) = studies.items()
        shared = [r for r in sa.specs if r in sb.specs]
        metric = metrics[0]
        delta = {name: s.summary[s.summary["metric"] == metric].set_index("row")["delta"] for name, s in studies.items()}
        lines.append(f"- {METRIC_NAMES[metric]} change {a} / {b}: " + "; ".join(
            f"{label(r)} {delta[a][r]:+.3g} / {delta[b][r]:+.3g}" for r in shared) + ".")
    if profile != "paper":
        lines.append("- What this scale cannot show: the tiny model is trained on procedural clips with a frame "
                     "encoder standing in for CAVP; its metrics use an evaluation network trained here, not VGGish, FAD proper or an alignment "
                     "classifier. It tests whether pruning c hurts sound that must follow the video, against a noise "
                     "floor; not MDSGen's own numbers.")
    return "\n".join(lines)
