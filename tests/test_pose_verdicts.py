"""The pose chapter's closing verdicts on synthetic results: the task gate, Table 7's claim, head over tail, statistics
(cosine, nPR, share below tau)."""
import pandas as pd
import pytest

from semantic_bottleneck.chapters.pose import verdicts
from semantic_bottleneck.chapters.pose.study import COPY, REAL
from semantic_bottleneck.paper import paper_value

LARGER, WITHIN = "larger than noise", "within noise"


def _summary(rows):
    """A study summary: row -> {metric: (mean, ci95, delta, verdict)}; noise floors 0.01."""
    return pd.DataFrame([{"row": row, "metric": metric, "mean": m, "ci95": ci, "delta": d, "delta_ci95": 0.0,
                          "noise_floor": 0.01, "verdict": v, "seeds": 3}
                         for row, metrics in rows.items() for metric, (m, ci, d, v) in metrics.items()])


def _calibration(pose_copy=0.38, ssim_copy=0.6):
    return pd.DataFrame({"pose_accuracy": {REAL: 0.92, COPY: pose_copy}, "ssim": {REAL: 1.0, COPY: ssim_copy}})


def _study(base_pose, base_ssim, tail_ssim, head_ssim, tail_by=None, head_by=None):
    """Baseline, the |c| tail/head 40% rows and the contribution rows, each with an SSIM change and a KID change."""
    rows = {"baseline": {"pose_accuracy": (base_pose, 0.02, 0.0, "baseline"),
                         "ssim": (base_ssim, 0.01, 0.0, "baseline"), "kid": (0.01, 0.002, 0.0, "baseline")}}
    for row, (ssim, verdict) in {"tail_40pct": tail_ssim, "head_40pct": head_ssim,
                                 "tail_40pct_by_contribution": tail_by or (base_ssim, WITHIN),
                                 "head_40pct_by_contribution": head_by or (base_ssim, WITHIN)}.items():
        rows[row] = {"ssim": (ssim, 0.01, ssim - base_ssim, verdict), "kid": (0.01, 0.002, 0.0, WITHIN)}
    return _summary(rows)


def test_the_task_gate_needs_pose_accuracy_above_the_bar_and_above_the_copy_beyond_noise():
    gate = verdicts.task_gate(_calibration(), _study(0.418, 0.538, (0.003, LARGER), (0.53, WITHIN)))
    assert not gate.passed
    assert "pose accuracy below 0.7" in gate.reason and "SSIM not above the copied source" in gate.reason
    assert "pose accuracy 0.418 ± 0.02 (source copied 0.38, real answers 0.92)" in gate.text
    good = verdicts.task_gate(_calibration(), _study(0.8, 0.7, (0.7, WITHIN), (0.2, LARGER)))
    assert good.passed and "failed" not in good.reason
    close = verdicts.task_gate(_calibration(pose_copy=0.79), _study(0.8, 0.7, (0.7, WITHIN), (0.2, LARGER)))
    assert not close.passed and "pose accuracy not above" in close.reason  # 0.8 - 0.02 is not above 0.79
    with pytest.raises(ValueError, match="summary and calibration must share one of pose_accuracy, ssim"):
        verdicts.task_gate(pd.DataFrame({"psnr": {REAL: 30.0, COPY: 10.0}}), _study(0.8, 0.7, (0.7, WITHIN),
                                                                                      (0.2, LARGER)))


def test_head_over_tail_reads_which_end_harms_beyond_noise():
    summary = _study(0.8, 0.7, (0.69, WITHIN), (0.2, LARGER))
    assert verdicts.head_over_tail(summary, "tail_40pct", "head_40pct", ("kid", "ssim")) == "reproduced"
    inverted = _study(0.8, 0.7, (0.003, LARGER), (0.69, WITHIN))
    assert verdicts.head_over_tail(inverted, "tail_40pct", "head_40pct", ("kid", "ssim")) == "inverted"
    both = _study(0.8, 0.7, (0.1, LARGER), (0.2, LARGER))
    assert verdicts.head_over_tail(both, "tail_40pct", "head_40pct", ("kid", "ssim")) == "not reproduced"
    better = _study(0.8, 0.7, (0.9, LARGER), (0.69, WITHIN))  # the tail's change is beyond noise but a gain
    assert verdicts.head_over_tail(better, "tail_40pct", "head_40pct", ("ssim",)) == "not reproduced"
    assert verdicts.unchanged(better, "tail_40pct", ("kid", "ssim")) == "not reproduced"
    assert verdicts.unchanged(summary, "tail_40pct", ("kid", "ssim")) == "reproduced"


def test_pruning_verdicts_are_not_testable_when_the_model_fails_its_task_and_still_state_the_change():
    summary = _study(0.418, 0.538, (0.003, LARGER), (0.53, WITHIN), tail_by=(0.53, WITHIN), head_by=(0.1, LARGER))
    rows = verdicts.pruning_verdicts(summary, _calibration(), "tail_40pct", ("kid", "ssim"), ["contribution"], None,
                                     "tiny-pose, ci profile")
    assert [v.verdict for v in rows] == ["not reproduced"] + ["not testable here"] * 3
    assert "read alone: not reproduced" in rows[1].this_build and "SSIM 0.538 -> 0.003" in rows[1].this_build
    assert "read alone: inverted" in rows[2].this_build and "by |c_i|" in rows[2].phenomenon
    assert "read alone: reproduced" in rows[3].this_build and "contribution (SiLU-aware)" in rows[3].phenomenon
    assert "does not do its task" in rows[2].noise and "SSIM 0.01" in rows[2].noise
    assert f"{paper_value('T7', 'baseline', 'ssim'):.4g}" in rows[1].paper
    passing = _study(0.8, 0.7, (0.003, LARGER), (0.69, WITHIN))
    rows = verdicts.pruning_verdicts(passing, _calibration(), "tail_40pct", ("kid", "ssim"), [], None, "m")
    assert [v.verdict for v in rows] == ["reproduced", "not reproduced", "inverted"]


def test_statistics_verdicts_hold_cosine_npr_and_the_share_below_tau_against_the_paper():
    row = {"cosine_mean": 0.99995, "cosine_min": 0.9998, "npr_mean_over_classes": 0.71, "tau": 0.1, "pairs": 64,
           "below_tau_mean_over_pairs": 0.2, "below_tau_of_mean_vector": 0.25}
    cosine, npr, below = verdicts.statistics_verdicts(row, "X-MDPT-L", "tiny-pose")
    assert cosine.verdict == "reproduced" and npr.verdict == "not reproduced" and below.verdict == "not reproduced"
    assert "less sparse" in npr.noise and "71.00%" in npr.this_build
    assert f"{100 * paper_value('T5', 'npr_y_plus_t', 'X-MDPT-L'):.2f}%" in npr.paper
    exact = {**row, "cosine_mean": 0.9, "npr_mean_over_classes": paper_value("T5", "npr_y_plus_t", "X-MDPT-L"),
             "below_tau_mean_over_pairs": 0.6}
    cosine, npr, below = verdicts.statistics_verdicts(exact, "X-MDPT-L", "tiny-pose")
    assert (cosine.verdict, npr.verdict, below.verdict) == ("not reproduced", "reproduced", "reproduced")


def test_the_gate_sentence_says_why_the_rows_are_not_meaningful_only_when_it_fails():
    failed = verdicts.TaskGate(False, "pose accuracy 0.418", "bar: ...; failed: pose accuracy below 0.7")
    text = verdicts.describe_gate(failed, "tiny-pose", "tiny")
    assert "does not do its task" in text and "not testable here" in text and "left for later" in text
    assert "left for later" not in verdicts.describe_gate(failed, "xmdpt-l", "paper")
    passed = verdicts.describe_gate(verdicts.TaskGate(True, "pose accuracy 0.9", "bar: ..."), "tiny-pose", "tiny")
    assert "does its task" in passed and "not testable" not in passed

