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
    """Per-sample rows as points for `chapters.figures.share_sweep`: series (part, ranking other than |c_i|,
    guidance), share of d removed (in [0, 1]), metric, mean, ci95 (the baseline starts both parts by |c_i|)."""
    out = []
    for guidance, study in studies.items():
        removed = study.summary[study.summary["metric"] == "removed_dims"].set_index("row")["mean"]
        for row, spec in {"baseline": None, **study.specs}.items():
            if "@" in row or (spec is not None and spec.fraction is None):
                continue
            by = "" if spec is None or spec.ranking == "magnitude" else f" by {spec.ranking}"
            for part in ("tail", "head") if spec is None else (spec.part,):
                out += [{"series": f"{part}{by}, {guidance}", "share": removed[row] / study.dim, "metric": h.metric,
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


def changed_rows(study, metrics):
    """Row -> the metrics it changes by more than the noise floor (paired interval excluding zero), in order."""
    out = {}
    for h in study.summary.itertuples():
        if h.row != "baseline" and h.metric in metrics and h.verdict == "larger than noise":
            out.setdefault(h.row, []).append(h)
    return out


def harmed_rows(study, metrics):
    """Row -> the metrics it makes worse by more than the noise floor (paired interval excluding zero), in order."""
    out = {}
    for row, hs in changed_rows(study, metrics).items():
        worse = [h for h in hs if _worse(h.metric, h.delta)]
        if worse:
            out[row] = worse
    return out


def reading(h):
    """A change in words: 'worse' / 'better' beyond the noise, else why it is not detected (within the floor, or
    beyond it with a paired interval that holds zero)."""
    if h.verdict == "larger than noise":
        return "worse" if _worse(h.metric, h.delta) else "better"
    if abs(h.delta) > h.noise_floor:
        return f"not detected: past its floor, but its 95% interval ±{h.delta_ci95:.2g} holds zero"
    return "not detected: within its floor"


def _change(h):
    return f"{METRIC_NAMES[h.metric]} {h.delta:+.3g} ({reading(h)})"


def beyond_floor(study, metrics):
    """Row -> the metrics whose change exceeds the noise floor although its paired interval holds zero."""
    out = {}
    for h in study.summary.itertuples():
        if h.row != "baseline" and h.metric in metrics and h.verdict == "within noise" and abs(h.delta) > h.noise_floor:
            out.setdefault(h.row, []).append(h)
    return out


def describe(studies, metrics, profile):
    """Sentences from the numbers of the pruning table: the baseline and its noise, which rows change a metric beyond
    the noise (and in which direction), which change none detectably (naming any change past its floor whose
    interval holds zero), with and without guidance."""
    lines = []
    for guidance, study in studies.items():
        summary = study.summary
        base = summary[summary["row"] == "baseline"].set_index("metric")
        removed = summary[summary["metric"] == "removed_dims"].set_index("row")["mean"]
        changed, harmed = changed_rows(study, metrics), harmed_rows(study, metrics)
        unsure = beyond_floor(study, metrics)
        quiet = [r for r in study.specs if r not in changed]
        lines.append(f"- **{guidance}**, baseline: " + "; ".join(
            f"{METRIC_NAMES[m]} {base.loc[m, 'mean']:.3g} (two unpruned seeds differ by {base.loc[m, 'noise_floor']:.2g})"
            for m in metrics) + ". No change detected in any metric (each within its floor or its interval): "
            + (", ".join(f"{label(r)} ({removed[r]:.1f} of {study.dim} removed"
                         + "".join(f"; {_change(h)}" for h in unsure.get(r, [])) + ")" for r in quiet) or "no row")
            + ".")
        if changed:
            lines.append(f"- Changed beyond the noise ({guidance}): " + "; ".join(
                f"{label(r)}, {removed[r]:.1f} of {study.dim} removed (" + ", ".join(_change(h) for h in hs) + ")"
                for r, hs in changed.items()) + ".")
        first = {part: min((removed[r] for r, spec in study.specs.items() if r in harmed and spec.part == part
                            and spec.reading == "per_sample" and spec.ranking == "magnitude"), default=None)
                 for part in ("head", "tail")}
        if first["head"] is not None and first["tail"] is not None:
            lines.append(f"- Per sample and by |c_i|, the fewest zeroed coordinates that make a metric worse beyond "
                         f"the noise, among the rows run: {first['head']:.1f} of the largest, {first['tail']:.1f} of "
                         "the smallest.")
    if len(studies) == 2:
        (a, sa), (b, sb) = studies.items()
        shared = [r for r in sa.specs if r in sb.specs]
        metric = metrics[0]
        delta = {name: s.summary[s.summary["metric"] == metric].set_index("row")["delta"] for name, s in studies.items()}
        lines.append(f"- {METRIC_NAMES[metric]} change {a} / {b} (the table's Δ): " + "; ".join(
            f"{label(r)} {delta[a][r]:+.3g} / {delta[b][r]:+.3g}" for r in shared) + ".")
    if profile != "paper":
        lines.append("- What this scale cannot show: the tiny model is trained on procedural clips with a frame "
                     "encoder standing in for CAVP; its metrics use an evaluation network trained here, not VGGish, "
                     "FAD proper or an alignment classifier. It tests whether pruning c hurts sound that must follow "
                     "the video, against a noise floor; not MDSGen's own numbers.")
    return "\n".join(lines)
