"""The pose-guided chapter's closing verdicts, computed from this run's statistics, calibration and pruning study.

Phenomena: c is nearly one direction across pairs (Table 1's cosine), its nPR (Table 1 / 5), the share of c below
tau (Table 7, Fig. 4), whether the model does its task at all (the task gate), Table 7's claim that zeroing its share
of the tail leaves the metrics unchanged, and whether the head matters more than the tail at that share, ranked by |c_i|
(the paper's) and by each SiLU-aware ranking that was run. A model that does not make the target pose from the
source person has no person or pose information for pruning to lose: every pruning verdict is then "not testable
here", its noise column says why, and `this_build` still states the measured change and what it would read alone.
"""
from dataclasses import dataclass

from ...paper import TOLERANCE, paper_value
from ..verdicts import Verdict, model_label
from .rows import PAPER_T7_ROW, paper_share, ranked_row_id, row_id
from .study import COPY, REAL
from .tables import NAMES, T7_METRICS, metric_labels

HIGHER_IS_BETTER = frozenset({"ssim", "psnr", "pose_accuracy", "person_preservation"})
GATE_METRICS = ("pose_accuracy", "ssim")  # the task: the target pose, and the answer's look
MIN_POSE_ACCURACY = 0.7  # this book's bar for an X-MDPT that does its task (the paper reports no pose accuracy)


@dataclass(frozen=True)
class TaskGate:
    """Whether the unpruned model does its task: `text` its scores beside the copied source and the real answers,
    `reason` the bar and, when it fails, what fell short."""

    passed: bool
    text: str
    reason: str


def _hit(summary, row, metric):
    """The summary row of (row, metric), or None."""
    hit = summary[(summary["row"] == row) & (summary["metric"] == metric)]
    return None if hit.empty else hit.iloc[0]


def task_gate(calibration, summary, names=None):
    """The task gate: the baseline's pose accuracy (where measured) at least MIN_POSE_ACCURACY, and its pose accuracy
    and SSIM above the copied source's beyond the baseline's 95% interval over seeds (`calibration`:
    `study.calibration`; `summary`: the study's)."""
    names = metric_labels(names)
    texts, short = [], []
    for metric in GATE_METRICS:
        h = _hit(summary, "baseline", metric)
        if h is None or metric not in calibration.columns:
            continue
        copy, real = calibration.loc[COPY, metric], calibration.loc[REAL, metric]
        texts.append(f"{names[metric]} {h['mean']:.3g} ± {h['ci95']:.2g} (source copied {copy:.3g}, real answers "
                     f"{real:.3g})")
        if not h["mean"] - h["ci95"] > copy:
            short.append(f"{names[metric]} not above the copied source's beyond its 95% interval")
        if metric == "pose_accuracy" and h["mean"] < MIN_POSE_ACCURACY:
            short.append(f"pose accuracy below {MIN_POSE_ACCURACY:g}")
    if not texts:
        raise ValueError(f"summary and calibration must share one of {', '.join(GATE_METRICS)}; got calibration "
                         f"columns {list(calibration.columns)}")
    bar = (f"bar: pose accuracy >= {MIN_POSE_ACCURACY:g} (this book's bar, not the paper's) and above the copied source "
           "beyond the baseline's 95% interval over seeds, SSIM too")
    return TaskGate(not short, "; ".join(texts), bar + ("" if not short else "; failed: " + ", ".join(short)))


def describe_gate(gate, name, profile):
    """A plain sentence on the task gate, read before the pruning rows: what they can and cannot show (and, for a
    tiny model that fails, that a better one is not trained yet)."""
    if gate.passed:
        return (f"**{name} does its task**: {gate.text} ({gate.reason}). Its pruning rows below measure what zeroing "
                "part of c takes from the person and the pose.")
    return (f"**{name} does not do its task**: {gate.text} ({gate.reason}). Its pruning rows below measure wrecked "
            "images, not lost person or pose information, so every pruning verdict of this chapter is \"not testable "
            "here\" (the measured changes are still shown)." + ("" if profile == "paper" else
            " Training a tiny X-MDPT that passes this gate is left for later: it needs more training than the tiny "
            "book's CPU budget gives now."))


def harms(h, metric):
    """Whether a summary row's change is a loss (the metric gets worse) larger than the noise."""
    worse = h["delta"] < 0 if metric in HIGHER_IS_BETTER else h["delta"] > 0
    return h["verdict"] == "larger than noise" and bool(worse)


def _changes(summary, row, metrics, names):
    """'SSIM 0.538 -> 0.003 (Δ -0.535, larger than noise)' for each metric of a row."""
    out = []
    for metric in metrics:
        h, base = _hit(summary, row, metric), _hit(summary, "baseline", metric)
        if h is not None and base is not None:
            out.append(f"{names[metric]} {base['mean']:.3g} -> {h['mean']:.3g} (Δ {h['delta']:+.3g}, {h['verdict']})")
    return "; ".join(out)


def _floors(summary, metrics, names):
    """The noise floors of the metrics, and the rule a change is read by."""
    floors = ", ".join(f"{names[m]} {h['noise_floor']:.2g}" for m in metrics
                       if (h := _hit(summary, "baseline", m)) is not None)
    return (f"noise floor (rms change between two unpruned runs on different seeds): {floors}; a change counts when "
            "it exceeds its floor and its paired 95% interval excludes zero")


def _gated(verdict, this_build, noise, gate):
    """A pruning verdict as the task gate allows: itself, or "not testable here" with what it would read alone."""
    if gate.passed:
        return verdict, this_build, noise
    return ("not testable here", f"{this_build} (read alone: {verdict})",
            f"the model does not do its task ({gate.reason}): its rows measure wrecked images, not lost person or "
            f"pose information; {noise}")


def unchanged(summary, row, metrics):
    """Table 7's claim on one row: "reproduced" when no metric changes beyond noise, else "not reproduced"."""
    hits = [h for m in metrics if (h := _hit(summary, row, m)) is not None]
    if not hits:
        raise ValueError(f"summary has no row {row!r} with any of {', '.join(metrics)}")
    return "not reproduced" if any(h["verdict"] == "larger than noise" for h in hits) else "reproduced"


def head_over_tail(summary, tail, head, metrics):
    """The head matters more than the tail at the same share: "reproduced" when zeroing the head harms some metric
    beyond noise and zeroing the tail harms none; "inverted" when the tail harms and the head does not; else "not
    reproduced" (both harm, or neither)."""
    def harmed(row):
        """Whether zeroing `row` harms some metric beyond noise."""
        hits = [(m, h) for m in metrics if (h := _hit(summary, row, m)) is not None]
        if not hits:
            raise ValueError(f"summary has no row {row!r} with any of {', '.join(metrics)}")
        return any(harms(h, m) for m, h in hits)

    tail_harms, head_harms = harmed(tail), harmed(head)
    if head_harms and not tail_harms:
        return "reproduced"
    if tail_harms and not head_harms:
        return "inverted"
    return "not reproduced"


def statistics_verdicts(row, column, model):
    """Cosine, nPR and the share below tau of c at t0 (`study.statistics_row`) against Tables 1/5 and 7."""
    cosine, npr = paper_value("T5", "cosine_y_plus_t", column), paper_value("T5", "npr_y_plus_t", column)
    below = paper_value("TEXT", "table7_below_tau_0.1", "X-MDPT")
    pairs = f"one forward at t0 over {row['pairs']} random test pairs (no seed spread)"
    side = "less sparse" if row["npr_mean_over_classes"] > npr else "sparser"
    return [
        Verdict("c is nearly one direction across pairs", f"mean pairwise cosine {cosine:.5g} ({column}, Tables 1/5)",
                f"mean pairwise cosine {row['cosine_mean']:.5f} (minimum {row['cosine_min']:.5f})",
                "reproduced" if row["cosine_mean"] >= cosine - TOLERANCE["cosine"] else "not reproduced",
                f"{pairs}; reproduced at or above the paper's value less {TOLERANCE['cosine']:g}", model),
        Verdict("c's nPR (its effective share of dimensions)", f"nPR {100 * npr:.2f}% ({column}, Tables 1/5)",
                f"nPR {100 * row['npr_mean_over_classes']:.2f}% (mean over pairs)",
                "reproduced" if abs(row["npr_mean_over_classes"] - npr) <= TOLERANCE["npr"] else "not reproduced",
                f"{pairs}; reproduced within {100 * TOLERANCE['npr']:g} points; otherwise this build's c is {side}",
                model),
        Verdict(f"a large share of c lies below tau = {row['tau']:g}",
                f"{100 * below:.0f}% of X-MDPT's c below tau = {row['tau']:g} (Table 7)",
                f"{100 * row['below_tau_mean_over_pairs']:.1f}% per pair on average "
                f"({100 * row['below_tau_of_mean_vector']:.1f}% of the mean c)",
                "reproduced" if row["below_tau_mean_over_pairs"] >= below else "not reproduced",
                f"{pairs}; reproduced at or above Table 7's share", model),
    ]


def pruning_verdicts(summary, calibration, t7_row, metrics, rankings, names, model):
    """The task gate, Table 7's tail row, and head over tail at Table 7's share by |c_i| and by each ranking of
    `rankings` whose rows the study ran; `metrics` are the headline metrics (`tables.headline_metrics`)."""
    names = metric_labels(names)
    gate = task_gate(calibration, summary, names)
    floors = _floors(summary, metrics, names)
    t7 = "; ".join(f"{NAMES[m]} {paper_value('T7', 'baseline', m):.4g} -> "
                   f"{paper_value('T7', PAPER_T7_ROW, m):.4g}" for m in T7_METRICS)
    share = f"{100 * paper_share():.0f}%"
    out = [Verdict("the unpruned model does its task (the source person in the target pose)",
                   f"X-MDPT-L: SSIM {paper_value('T7', 'baseline', 'ssim'):.4g} against the answers (Table 7); no pose "
                   "accuracy reported", gate.text, "reproduced" if gate.passed else "not reproduced",
                   gate.reason + "; the copy and the answers are fixed calibrations over the same pairs", model)]
    verdict, text, noise = _gated(unchanged(summary, t7_row, metrics), f"{t7_row}: " +
                                  _changes(summary, t7_row, metrics, names), floors, gate)
    out.append(Verdict(f"zeroing the {share} tail (smallest |c_i|) leaves the metrics unchanged",
                       f"Table 7, row {PAPER_T7_ROW}: {t7}", text, verdict, noise, model))
    first = row_id("tail", None, None, share=paper_share())  # the first mask reading's row
    pairs = [("|c_i| (the paper's ranking)", first, first.replace("tail", "head", 1))]
    pairs += [(f"{r} (SiLU-aware)", ranked_row_id("tail", r), ranked_row_id("head", r)) for r in rankings]
    for ranking, tail, head in pairs:
        if _hit(summary, tail, metrics[0]) is None or _hit(summary, head, metrics[0]) is None:
            continue
        verdict, text, noise = _gated(head_over_tail(summary, tail, head, metrics),
                                      f"{tail}: {_changes(summary, tail, metrics, names)}. {head}: "
                                      f"{_changes(summary, head, metrics, names)}", floors, gate)
        paper = ("the tail is redundant and the semantics sit in the head (Section 3; for X-MDPT only the tail is "
                 "pruned, Table 7)") if ranking.startswith("|c_i|") else (
                 "not measured: the paper ranks by |c_i| (its Eq. 5 and 7 omit the SiLU); its claim read under this "
                 "ranking")
        out.append(Verdict(f"the {share} head matters more than the {share} tail, ranked by {ranking}", paper, text,
                           verdict, noise, model))
    return out


def verdicts(name, profile, stats_row, column, study, calibration, t7_row, metrics, rankings, names=None):
    """The chapter's closing verdicts for one model: its statistics (`stats_row`, beside the paper's `column`), then
    its first pruning study's (`study`, with `calibration`), each naming model, profile and seeds."""
    protocol = study.protocol
    label = f"{model_label(name, profile)}, noise seed {protocol.seed}"
    return statistics_verdicts(stats_row, column, label) + pruning_verdicts(
        study.summary, calibration, t7_row, metrics, rankings, names,
        f"{label}; {protocol.sampler.name}, {protocol.seeds} seeds x {protocol.samples_per_seed} pairs")
