"""The video-to-audio chapter's generated sentences: the statistics and the pruning studies."""
from ...condition.measure import similarity_row
from ...condition.reach import INERT_BELOW
from ...paper import paper_value
from .rows import label
from .study import CONTRIBUTION_HEAD, CONTRIBUTION_TAIL
from .tables import LOWER_IS_BETTER, METRIC_NAMES, PAPER_COLUMN, REACH_READINGS


def describe_statistics(step, model, scores, variance, reach=None):
    """Sentences generated from the numbers of the tables above: the cosine and nPR beside the paper's, y alone,
    variance, what reaches the modulation (`reach`: a `reach_table`), head against tail."""
    r = similarity_row(step.c, step.y, step.t)
    paper = {k: paper_value(t, k, PAPER_COLUMN) for t, k in (("T1", "cosine"), ("T1", "npr"), ("T5", "cosine_y_only"),
                                                               ("T5", "npr_y_only"))}
    lines = [f"- Over {len(step.indices)} clips at t0 = {step.t0:g}, the mean pairwise cosine of c is "
             f"{r['cosine_mean']:.4f} (minimum {r['cosine_min']:.4f}; the paper's MDSGen: {paper['cosine']:.4f}) and "
             f"nPR is {100 * r['npr_mean_over_classes']:.2f}% averaged over clips, {100 * r['npr_of_mean_vector']:.2f}% "
             f"of the mean vector (paper: {100 * paper['npr']:.2f}%), with d = {r['d']}.",
             f"- y alone: cosine {r['y_cosine_mean']:.4f} and nPR {100 * r['y_npr_mean_over_classes']:.2f}% (paper: "
             f"{paper['cosine_y_only']:.4f} and {100 * paper['npr_y_only']:.2f}%); t_emb carries "
             f"{100 * r['t_share']:.1f}% of |c|² on average.",
             f"- The variance across clips averages {variance.loc['mean variance across clips', 'value']:.3g} per "
             f"dimension; the top 2% of dimensions hold "
             f"{100 * variance.loc['share of the variance in the top 2% of dimensions', 'value']:.0f}% of it."]
    if reach is not None:
        v = reach["value"].rename(index={text: key for key, text in REACH_READINGS.items()})
        lines.append(f"- Through SiLU: {v['inert_head']:.0f} of the {v['head_dims']:.0f} |c|-head dimensions have "
                     f"mean c_i below {INERT_BELOW:.2f} (the most negative "
                     f"{v['most negative mean c_i in the |c|-head']:.3g}); the |c|-head holds "
                     f"{100 * v['head_share_magnitude']:.1f}% of sum |mean c| but "
                     f"{100 * v['head_share_contribution']:.1f}% of the contribution, against "
                     f"{100 * v['contribution_head_share']:.1f}% for the contribution-ranked head of the same size; "
                     f"nPR is {100 * v['npr_magnitude']:.1f}% by |c|, {100 * v['npr_contribution']:.1f}% by "
                     "contribution.")
    if scores is not None:
        event = scores.loc["event class"]
        lines.append(f"- Clips grouped by event class: k-NN accuracy {event.loc['full', 'knn_accuracy']:.2f} with all "
                     f"{len(step.c[0])} dimensions, {event.loc['head', 'knn_accuracy']:.2f} with the "
                     f"{int(event.loc['head', 'dims'])}-dimension head, {event.loc['tail', 'knn_accuracy']:.2f} with "
                     f"the tail and {event.loc['random', 'knn_accuracy']:.2f} with as many random dimensions (chance "
                     f"{event.loc['full', 'chance']:.2f})"
                     + (f"; {event.loc[CONTRIBUTION_HEAD, 'knn_accuracy']:.2f} with the contribution head and "
                        f"{event.loc[CONTRIBUTION_TAIL, 'knn_accuracy']:.2f} with its complement."
                        if CONTRIBUTION_HEAD in event.index else "."))
    return "\n".join(lines)


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


def describe_pruning(studies, metrics, profile):
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
