"""The video-to-audio chapter's closing verdicts and its SiLU-aware reading, on synthetic results: every verdict
function gives at least two different verdicts, each from the numbers it is handed."""
from dataclasses import fields

import pandas as pd
import pytest
import torch

from semantic_bottleneck.chapters.audio import report, rows, study as audio_study, tables as audio_tables
from semantic_bottleneck.chapters.audio import verdicts as findings
from semantic_bottleneck.chapters.audio.study import CONTRIBUTION_HEAD, CONTRIBUTION_TAIL, FirstStep
from semantic_bottleneck.condition.measure import similarity_row
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.paper import paper_value
from semantic_bottleneck.settings.chapters import AudioSettings
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study.protocol import Protocol, Study
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")
PARAMS = dict(model="tiny-mdsgen", profile="ci", seed=0, samplers={}, tail_shares=[0.1, 0.5, 0.9], head_dims=[2],
              tail_taus=[], head_taus=[], global_rows=False, contribution_tail_shares=[0.5],
              contribution_head_dims=[2])
METRICS = ["fid", "onset_f1"]


def step_of(c, y, t):
    return FirstStep(c, y, t, 999.0, list(range(len(c))))


def aligned_step(clips=40, dim=32, spread=0.01, seed=0):
    """c nearly one one-hot-like direction (cosine ~1, low nPR), y alone less aligned (t carries the direction)."""
    g = torch.Generator().manual_seed(seed)
    t = torch.zeros(dim)
    t[0] = 10.0
    y = spread * torch.randn(clips, dim, generator=g)
    return step_of(y + t, y, t)


def spread_step(clips=40, dim=32, seed=0):
    """c in random directions (cosine ~0, nPR high); y = v + noise with t = -v: y alone far more aligned than c."""
    g = torch.Generator().manual_seed(seed)
    v = torch.ones(dim) * 3
    y = v + torch.randn(clips, dim, generator=g)
    return step_of(y - v, y, -v)


def test_the_statistics_verdicts_follow_the_numbers_and_their_spread():
    step = aligned_step()
    spread = findings.half_spread(step, draws=20)
    assert set(spread) == {"cosine", "y_cosine", "gap", "npr"} and spread["cosine"][0] > 0.99
    good = findings.statistics_verdicts(step, similarity_row(step.c, step.y, step.t), spread, "m")
    assert [v.verdict for v in good] == ["reproduced", "reproduced", "reproduced"]
    assert f"{paper_value('T1', 'cosine', 'MDSGen'):.4f}" in good[0].paper
    assert "random halves of the 40" in good[0].noise
    step = spread_step()
    row = similarity_row(step.c, step.y, step.t)
    bad = findings.statistics_verdicts(step, row, findings.half_spread(step, 20), "m")
    assert [v.verdict for v in bad] == ["not reproduced", "not reproduced", "inverted"]
    few = step_of(step.c[:3], step.y[:3], step.t)
    assert findings.half_spread(few) == {}
    lone = findings.statistics_verdicts(few, similarity_row(few.c, few.y, few.t), {}, "m")
    assert "too few to halve" in lone[0].noise


def test_threshold_and_sign_verdicts_read_the_whole_interval():
    assert findings.threshold_verdict({"x": (0.991, 0.999)}, "x", 0.995, 0.99, above=True) == "reproduced"
    assert findings.threshold_verdict({"x": (0.985, 0.999)}, "x", 0.995, 0.99, above=True) == "not reproduced"
    assert findings.threshold_verdict({}, "x", 0.10, 0.1357, above=False) == "reproduced"
    assert findings.threshold_verdict({"x": (0.12, 0.14)}, "x", 0.13, 0.1357, above=False) == "not reproduced"
    assert [findings.sign_verdict(*i) for i in ((0.1, 0.2), (-0.2, -0.1), (-0.1, 0.1))] == [
        "reproduced", "inverted", "not reproduced"]


def scores_of(head, tail, contribution=None):
    """An `audio_study.separation` table: event-class k-NN accuracies of the head, the tail (and contribution split)."""
    values = {"head": head, "tail": tail, **({CONTRIBUTION_HEAD: contribution[0], CONTRIBUTION_TAIL: contribution[1]}
                                            if contribution else {})}
    frame = pd.DataFrame([{"labels": "event class", "subset": s, "dims": 4 if "head" in s else 60, "knn_accuracy": a,
                           "silhouette": 0.0, "chance": 0.25} for s, a in values.items()])
    return frame.set_index(["labels", "subset"])


def test_the_head_tail_verdicts_compare_the_two_accuracies_beyond_their_interval():
    verdicts = findings.separation_verdicts(scores_of(0.56, 0.79, contribution=(0.9, 0.4)), 256, "m")
    assert [v.verdict for v in verdicts] == ["inverted", "reproduced"]
    assert "0.56 in the 4-dimension head, 0.79 in the 60-dimension tail" in verdicts[0].this_build
    assert "-0.23 ±" in verdicts[0].noise and "ranked by contribution" in verdicts[1].phenomenon
    assert [v.verdict for v in findings.separation_verdicts(scores_of(0.6, 0.58), 64, "m")] == ["not reproduced"]
    assert [v.verdict for v in findings.separation_verdicts(None, 64, "m")] == ["not testable here"]


def test_the_nearest_paper_row_and_its_expectation():
    d = paper_value("T1", "d", "REPA")
    row, removed, change = findings.paper_row("tail", 0.1, None)
    assert row == "tail_tau0.01_every_step" and removed == paper_value("T2", row, "removed_dims")
    assert change == pytest.approx(paper_value("T2", row, "fid") - paper_value("T2", "baseline", "fid"))
    assert findings.paper_row("tail", 0.9, None)[0] == "tail_tau0.05_every_step" and removed / d < 0.5
    assert findings.paper_row("head", 0.0625, 4)[0] == "head_tau5.0_every_step"
    assert findings.paper_row("head", 0.1, 7)[0] == "head_tau1.0_every_step"
    assert findings.row_verdict(True, ["fid"], []) == "reproduced"
    assert findings.row_verdict(True, [], ["fid"]) == "inverted"
    assert findings.row_verdict(True, [], []) == "not reproduced"
    assert findings.row_verdict(False, ["fid"], []) == "not reproduced"
    assert findings.row_verdict(False, [], ["fid"]) == "reproduced"
    assert [findings.head_tail_verdict(h, t) for h, t in ((["fid"], []), ([], ["fid"]), (["fid"], ["fid"]))] == [
        "reproduced", "inverted", "not reproduced"]


def _per_seed(change, replicate):
    return change[replicate] if isinstance(change, tuple) else change


def study_of(deltas, dim=32):
    """A study whose rows change each metric by `deltas[row][metric]` from the baseline (one number, or one per
    seed), on three seeds."""
    long = []
    for row, change in {"baseline": {}, **deltas}.items():
        for r, noise in enumerate((0.0, 0.01, -0.01)):
            long += [{"row": row, "replicate": r, "metric": m, "value": 1.0 + _per_seed(change.get(m, 0.0), r) + noise}
                     for m in METRICS]
            long.append({"row": row, "replicate": r, "metric": "removed_dims",
                         "value": 0.0 if row == "baseline" else 8})
    specs = rows.guided_specs(AudioSettings(**PARAMS), dim)
    frame = pd.DataFrame(long)
    values = dict(model="tiny-mdsgen", protocol=Protocol("tiny-mdsgen", preset("tiny-v2a-dpmpp-20"), 8, 3),
                  specs={k: specs[k] for k in deltas}, long=frame, summary=summarise(frame), images={}, per_sample={},
                  dim=dim, embedding=None)
    return Study(**{f.name: values[f.name] for f in fields(Study)})


def test_each_pruning_row_is_judged_against_its_nearest_paper_row_and_the_noise():
    study = study_of({"tail_share0.1": {"fid": 0.61}, "tail_share0.5": {"fid": 0.001}, "tail_share0.9": {"fid": 0.5},
                      "head_dims2": {"onset_f1": 0.2}, "tail_contribution_share0.5": {},
                      "head_contribution_dims2": {"onset_f1": -0.3}})
    verdicts = {v.phenomenon: v for v in findings.pruning_verdicts(study, METRICS, "m")}
    assert {k: v.verdict for k, v in verdicts.items()} == {
        "zeroing tail 10% (per sample)": "not reproduced", "zeroing tail 50% (per sample)": "reproduced",
        "zeroing tail 90% (per sample)": "reproduced",
        "zeroing head 2 dims (per sample)": "inverted",
        "zeroing tail 50% by contribution (per sample)": "reproduced",
        "zeroing head 2 dims by contribution (per sample)": "reproduced"}
    tail = verdicts["zeroing tail 10% (per sample)"].this_build
    assert "FD +0.61 (worse; floor 0.014)" in tail
    assert "onset F1 +0 (not detected: within its floor; floor 0.014)" in tail
    row, removed, change = findings.paper_row("tail", 0.5, None)
    assert (f"{row} (REPA, {removed:.0f} of {paper_value('T1', 'd', 'REPA'):.0f} zeroed): FID {change:+.3g}, within "
            "the project's 0.15 FID tolerance") in verdicts["zeroing tail 50% (per sample)"].paper
    assert "past the project's 0.15 FID tolerance" in verdicts["zeroing head 2 dims (per sample)"].paper
    assert verdicts["zeroing tail 90% (per sample)"].paper.startswith("zeroing this much of the tail degrades")
    ranking = findings.ranking_verdicts(study, METRICS, "m")
    assert [(v.phenomenon.split(":")[0], v.verdict) for v in ranking] == [
        ("ranked by |c_i|", "not reproduced"), ("ranked by contribution", "reproduced")]
    assert "head 2 dims by contribution (per sample): onset F1; tail 50% by contribution (per sample): none" in \
        ranking[1].this_build


def test_the_contribution_rows_and_the_reach_of_c():
    specs = rows.guided_specs(AudioSettings(**PARAMS), dim=32)
    assert specs["head_contribution_dims2"].ranking == "contribution" and specs["head_dims2"].ranking == "magnitude"
    assert rows.label("tail_contribution_share0.5") == "tail 50% by contribution (per sample)"
    assert rows.ranking_of("head_contribution_dims2") == "contribution" and rows.ranking_of("head_dims2") == "magnitude"
    c = torch.full((6, 8), 0.5)
    c[:, 0], c[:, 1] = -11.5, 3.0  # the largest |c_i| is inert through SiLU
    step = step_of(c, c, torch.zeros(8))
    gains = torch.ones(8)
    reach = audio_tables.reach_table(step, gains, 0.125)["value"]
    assert reach[audio_tables.REACH_READINGS["inert_head"]] == 1
    assert reach["most negative mean c_i in the |c|-head"] == pytest.approx(-11.5)
    _, subsets = audio_study.separation(step, {}, 0.125, gains=gains)
    assert subsets["head"].tolist() == [0] and subsets[CONTRIBUTION_HEAD].tolist() == [1]
    assert sorted(subsets[CONTRIBUTION_TAIL].tolist()) == [0, 2, 3, 4, 5, 6, 7]
    text = report.describe_statistics(aligned_step(), "m", None, audio_tables.variance_summary(aligned_step()),
                               audio_tables.reach_table(aligned_step(), torch.ones(32), 0.05))
    assert "|c|-head dimensions have mean c_i below" in text and "so the similarity" not in text


def test_the_protocol_table_names_only_the_metrics_shown():
    study = study_of({"tail_share0.5": {}})
    judge = helpers.small_judge()
    shown = audio_tables.protocol_table(study, judge, ["fid", "onset_f1"])
    assert "IS" not in shown.index and "KID" not in shown.index and "FD" in shown.index
    assert "IS" in audio_tables.protocol_table(study, judge, ["fid", "is"]).index


def test_describe_names_every_change_beyond_the_noise_and_calls_the_rest_not_detected():
    study = study_of({"tail_share0.1": {"fid": 0.61}, "tail_share0.5": {"fid": (0.4, -0.1, 0.8)},
                      "head_dims2": {"onset_f1": 0.2}})
    text = report.describe_pruning({"with guidance": study}, METRICS, "ci")
    assert "Changed beyond the noise (with guidance): tail 10% (per sample), 8.0 of 32 removed (FD +0.61 " \
        "(worse))" in text
    assert "head 2 dims (per sample), 8.0 of 32 removed (onset F1 +0.2 (better))" in text
    assert ("No change detected in any metric (each within its floor or its interval): tail 50% (per sample) (8.0 of "
            "32 removed; FD +0.367 (not detected: past its floor, but its 95% interval ±1.1 holds zero))") in text
    assert "No metric worse" not in text
    verdict = findings.pruning_verdicts(study, METRICS, "m")[1]
    assert verdict.phenomenon == "zeroing tail 50% (per sample)" and verdict.verdict == "reproduced"
    assert "FD +0.367 (not detected: past its floor" in verdict.this_build
