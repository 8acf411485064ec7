"""The chapter's closing verdicts, each computed from this run's numbers and set against the paper's.

- c over clips (Tables 1 and 5): is c nearly one direction (the paper's Eq. 3 threshold), is its nPR as low as
  MDSGen's, is y alone less aligned than c; the noise is the spread of each statistic over random halves of the clips.
- Head against tail (Fig. 13's claim, for clips): does the head tell the event classes apart better than the tail,
  under the paper's |c_i| ranking and under the contribution ranking; the noise is the binomial interval of the
  difference of two k-NN accuracies.
- Pruning (which the paper did not run for sound): each per-sample row against the paper's general claim, read from
  its Table 2 (REPA): the tail row of the nearest share, the head row of the nearest count, judged against the
  project's FID tolerance; and per ranking, whether its head matters and its tail does not. A change counts only
  beyond the noise floor with its paired 95% interval excluding zero (`judge.paired_seeds`).
"""
import math

import numpy as np
import torch

from ...condition.measure import cosine_summary, normalized_pr, similarity_row
from ...paper import TOLERANCE, paper_numbers, paper_value
from ...settings.chapters import AudioSettings
from ..verdicts import SEED_SCOPE, Verdict
from .report import reading
from .rows import label, ranking_of
from .study import CONTRIBUTION_HEAD, CONTRIBUTION_TAIL
from .tables import METRIC_NAMES, PAPER_COLUMN

HALVES = 200  # random halves of the clips behind the statistics' spread
Z95 = 1.96
PAPER_DIM = ("T1", "d", "REPA")  # Table 2 prunes REPA's c
NEAR_ONE_DIRECTION = ("TEXT", "eq3_cosine_all_pairs", "ImageNet class models")  # the paper's "≈ 0.99" of Eq. 3


def half_spread(step, draws=HALVES, seed=0):
    """2.5th and 97.5th percentiles over `draws` random halves of the clips of: cosine (mean over pairs) of c and of
    y, their gap, and c's nPR (mean over clips); {} with fewer than 4 clips (halves of at least 2 are needed)."""
    count = len(step.c)
    if count < 4:
        return {}
    rng = np.random.default_rng(seed)
    values = {"cosine": [], "y_cosine": [], "gap": [], "npr": []}
    for _ in range(draws):
        half = torch.from_numpy(rng.choice(count, count // 2, replace=False))
        c, y = step.c[half], step.y[half]
        values["cosine"].append(cosine_summary(c)["cosine_mean"])
        values["y_cosine"].append(cosine_summary(y)["cosine_mean"])
        values["gap"].append(values["cosine"][-1] - values["y_cosine"][-1])
        values["npr"].append(normalized_pr(c).mean().item())
    return {key: tuple(np.percentile(v, [2.5, 97.5])) for key, v in values.items()}


def _spread_text(spread, key, count, scale=1.0, unit=""):
    if key not in spread:
        return f"no spread: {count} clips are too few to halve"
    low, high = spread[key]
    return (f"{scale * low:.4g}{unit} to {scale * high:.4g}{unit}: 2.5-97.5 percentiles over {HALVES} random halves "
            f"of the {count} clips (wider than the spread of the full set)")


def threshold_verdict(spread, key, value, threshold, above):
    """'reproduced' when the whole spread (the value itself without one) lies on the paper's side of `threshold`
    (`above` it, or at or below it), else 'not reproduced'."""
    low, high = spread.get(key, (value, value))
    return "reproduced" if (low >= threshold if above else high <= threshold) else "not reproduced"


def sign_verdict(low, high):
    """'reproduced' when an interval lies above zero, 'inverted' below zero, 'not reproduced' when it holds zero."""
    return "reproduced" if low > 0 else "inverted" if high < 0 else "not reproduced"


def statistics_verdicts(step, row, spread, model):
    """c nearly one direction, low nPR, y alone less aligned: `row` is `condition.measure.similarity_row` of `step`,
    `spread` its `half_spread`, `model` the model, profile and seed in words."""
    count = len(step.indices)
    threshold = paper_value(*NEAR_ONE_DIRECTION)
    cosine, npr = paper_value("T1", "cosine", PAPER_COLUMN), paper_value("T1", "npr", PAPER_COLUMN)
    y_cosine = paper_value("T5", "cosine_y_only", PAPER_COLUMN)
    gap = row["cosine_mean"] - row["y_cosine_mean"]
    gap_low, gap_high = spread.get("gap", (gap, gap))
    return [
        Verdict("c is nearly one direction across clips",
                f"MDSGen's cosine {cosine:.4f} (Table 1); nearly one direction means cosine ≥ {threshold:g} (Eq. 3)",
                f"cosine {row['cosine_mean']:.4f} (mean over pairs; minimum {row['cosine_min']:.4f}), "
                f"{count} clips at t0 = {step.t0:g}", threshold_verdict(spread, "cosine", row["cosine_mean"],
                                                                        threshold, above=True),
                _spread_text(spread, "cosine", count), model),
        Verdict("c's normalized participation ratio is low",
                f"MDSGen's nPR {100 * npr:.2f}% (Table 1); reproduced at or below it",
                f"nPR {100 * row['npr_mean_over_classes']:.1f}% (mean over clips; "
                f"{100 * row['npr_of_mean_vector']:.1f}% of the mean vector)",
                threshold_verdict(spread, "npr", row["npr_mean_over_classes"], npr, above=False),
                _spread_text(spread, "npr", count, 100, "%"), model),
        Verdict("y alone is less aligned than c = y + t_emb",
                f"MDSGen's cosine {y_cosine:.4f} for y alone against {cosine:.4f} for c (Table 5)",
                f"cosine {row['y_cosine_mean']:.4f} for y alone against {row['cosine_mean']:.4f} for c "
                f"(gap {gap:+.4f})", sign_verdict(gap_low, gap_high),
                "gap " + _spread_text(spread, "gap", count), model)]


def knn_gap(event, head, tail, clips):
    """Head minus tail k-NN accuracy and the half-width of its 95% interval (binomial, both over `clips` clips)."""
    p, q = event.loc[head, "knn_accuracy"], event.loc[tail, "knn_accuracy"]
    return p - q, Z95 * math.sqrt((p * (1 - p) + q * (1 - q)) / clips)


def separation_verdicts(scores, clips, model):
    """Does the head tell the event classes apart better than the tail, for the |c_i| head and (where scored) the
    contribution head, each against its own complement; one 'not testable here' verdict without labels."""
    paper = ("Fig. 13 and Sec. 2.7 (SiT-XL on ImageNet; no such figure for MDSGen): the head dimensions keep the "
             "class clusters, the tail alone collapses into entangled points")
    if scores is None:
        return [Verdict("the head carries the event classes, the tail does not", paper, "no event labels",
                        "not testable here", "the conditions (CAVP files) carry no labels to score", model)]
    event = scores.loc["event class"]
    pairs = {"by |c_i|, the paper's ranking": ("head", "tail")}
    if CONTRIBUTION_HEAD in event.index:
        pairs["by contribution"] = (CONTRIBUTION_HEAD, CONTRIBUTION_TAIL)
    out = []
    for ranking, (head, tail) in pairs.items():
        gap, half = knn_gap(event, head, tail, clips)
        out.append(Verdict(
            f"the head carries the event classes, the tail does not (ranked {ranking})", paper,
            f"k-NN accuracy by event class {event.loc[head, 'knn_accuracy']:.2f} in the "
            f"{int(event.loc[head, 'dims'])}-dimension head, {event.loc[tail, 'knn_accuracy']:.2f} in the "
            f"{int(event.loc[tail, 'dims'])}-dimension tail (chance {event.loc[head, 'chance']:.2f})",
            sign_verdict(gap - half, gap + half),
            f"head minus tail {gap:+.2f} ± {half:.2f} (95%, binomial over {clips} clips, unpaired: conservative)",
            model))
    return out


def paper_row(part, share, count):
    """The Table 2 (REPA, every step) row nearest a pruning row: for the tail by share of d, for the head by the
    number of dimensions. Returns (row id, removed dims, FID change from the baseline)."""
    d = paper_value(*PAPER_DIM)
    numbers = paper_numbers()
    rows = [r for r in dict.fromkeys(numbers[numbers["table"] == "T2"]["row"])
            if r.startswith(f"{part}_") and r.endswith("_every_step")]
    removed = {r: paper_value("T2", r, "removed_dims") for r in rows}
    distance = (lambda r: abs(removed[r] / d - share)) if part == "tail" else (lambda r: abs(removed[r] - count))
    row = min(rows, key=distance)
    return row, removed[row], paper_value("T2", row, "fid") - paper_value("T2", "baseline", "fid")


def _changes(study, row, metrics):
    """Each metric's change of `row` in words (`report.reading`, in `metrics` order), and which metrics are worse and
    which better beyond the noise."""
    summary = study.summary
    lines = [h for m in metrics for h in summary[(summary["row"] == row) & (summary["metric"] == m)].itertuples()]
    worse = [h.metric for h in lines if reading(h) == "worse"]
    better = [h.metric for h in lines if reading(h) == "better"]
    text = "; ".join(f"{METRIC_NAMES[h.metric]} {h.delta:+.3g} ({reading(h)}; floor {h.noise_floor:.2g})"
                     for h in lines)
    return text, worse, better


def row_verdict(expects_harm, worse, better):
    """A row against the paper's expectation: harm expected (head, or a tail share the paper's FID rises past its
    tolerance at): reproduced when a metric is worse, inverted when one is only better, else not reproduced; no harm
    expected: reproduced unless a metric is worse."""
    if expects_harm:
        return "reproduced" if worse else "inverted" if better else "not reproduced"
    return "not reproduced" if worse else "reproduced"


CLAIMS = {("head", True): "zeroing the head degrades quality",
          ("head", False): "zeroing this few head dimensions barely changes quality",
          ("tail", True): "zeroing this much of the tail degrades quality too",
          ("tail", False): "zeroing the tail barely changes quality"}  # (part, the paper's nearest row harms)


def pruning_verdicts(study, metrics, model):
    """One verdict per per-sample share row of `study` (by |c_i| and by contribution), against Table 2's nearest row."""
    summary = study.summary
    removed = summary[summary["metric"] == "removed_dims"].set_index("row")["mean"]
    noise = ("a change counts when beyond its floor (RMS difference of unpruned seeds) with its paired 95% interval "
             f"excluding zero; {study.protocol.seeds} seeds x {study.protocol.samples_per_seed} samples; {SEED_SCOPE}")
    d = paper_value(*PAPER_DIM)
    out = []
    for row, spec in study.specs.items():
        if spec.fraction is None or spec.reading != "per_sample":
            continue
        twin, paper_removed, fid_change = paper_row(spec.part, spec.fraction, round(spec.fraction * study.dim))
        harm = fid_change > TOLERANCE["fid"]
        text, worse, better = _changes(study, row, metrics)
        by = "" if ranking_of(row) == "magnitude" else " (the paper ranks by |c_i| only)"
        paper = (f"{CLAIMS[spec.part, harm]}{by}; Table 2's nearest row, {twin} (REPA, {paper_removed:.0f} of {d:.0f} "
                 f"zeroed): FID {fid_change:+.3g}, " + ("past" if harm else "within")
                 + f" the project's {TOLERANCE['fid']:g} FID tolerance")
        out.append(Verdict(f"zeroing {label(row)}", paper,
                           f"{removed[row]:.1f} of {study.dim} zeroed: {text}", row_verdict(harm, worse, better),
                           noise, model))
    return out


def head_tail_verdict(head_worse, tail_worse):
    """'reproduced' when only the head row harms, 'inverted' when only the tail row does, else 'not reproduced'."""
    if bool(head_worse) == bool(tail_worse):
        return "not reproduced"
    return "reproduced" if head_worse else "inverted"


def _names(metrics):
    return ", ".join(METRIC_NAMES[m] for m in metrics) or "none"


def ranking_verdicts(study, metrics, model):
    """Per ranking, for each (tail share, head count) run under both: does zeroing its head make a metric worse
    while zeroing its tail does not (reproduced), the reverse (inverted), or neither (not reproduced)."""
    tails = {(ranking_of(r), s.fraction): r for r, s in study.specs.items()
             if s.part == "tail" and s.fraction is not None and s.reading == "per_sample"}
    heads = {(ranking_of(r), s.fraction): r for r, s in study.specs.items()
             if s.part == "head" and s.fraction is not None and s.reading == "per_sample"}
    contribution = [(t, h) for (rk, t) in tails for (rh, h) in heads if rk == rh == "contribution"]
    out = []
    for tail_share, head_share in contribution:
        for ranking in ("magnitude", "contribution"):
            tail, head = tails.get((ranking, tail_share)), heads.get((ranking, head_share))
            if tail is None or head is None:
                continue
            tail_worse, head_worse = _changes(study, tail, metrics)[1], _changes(study, head, metrics)[1]
            out.append(Verdict(
                f"ranked by {'|c_i|' if ranking == 'magnitude' else 'contribution'}: the head matters, the tail not",
                "the head matters and the tail barely does (the paper ranks by |c_i|; Table 2, Figs 7 and 8)",
                f"metrics worse beyond the noise: {label(head)}: {_names(head_worse)}; {label(tail)}: "
                f"{_names(tail_worse)}", head_tail_verdict(head_worse, tail_worse), "as each row's verdict above",
                model))
    return out


def verdicts(step, scores, study, metrics, settings: AudioSettings):
    """Every closing verdict of the chapter, in the order of its sections: `step` and `scores` from `statistics`,
    `study` the guided pruning study, `metrics` its metrics, `settings` the notebook's (profile, seed)."""
    row, spread = similarity_row(step.c, step.y, step.t), half_spread(step, seed=settings.seed)
    statistics_model = (f"{settings.model}, {settings.profile} profile, c at t0 of {len(step.indices)} test clips "
                        f"(noise seed {settings.seed})")
    protocol = study.protocol
    pruning_model = (f"{study.model}, {settings.profile} profile, with guidance ({protocol.sampler.name}), base seed "
                     f"{protocol.seed}, {protocol.seeds} seeds x {protocol.samples_per_seed} clips")
    return (statistics_verdicts(step, row, spread, statistics_model)
            + separation_verdicts(scores, len(step.indices), statistics_model)
            + pruning_verdicts(study, metrics, pruning_model) + ranking_verdicts(study, metrics, pruning_model))
