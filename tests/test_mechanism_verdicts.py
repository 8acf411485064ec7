"""The mechanisms chapter's closing verdicts on synthetic results (cosine, tail, head, matched arms), the reference
table's registry column, and each figure drawn once: every verdict function reaches at least two verdicts."""
from types import SimpleNamespace

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from semantic_bottleneck.chapters.mechanisms import figures as mechanisms_figures, study as mechanisms_study
from semantic_bottleneck.chapters.mechanisms import tables as mechanisms_tables, verdicts
from semantic_bottleneck.chapters.mechanisms.study import ENTERING, SUMMED, Y_ONLY
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.paper import paper_value

MODELS = {"adaLN-Zero": "tiny-class", "in-context": "tiny-in-context", "cross-attention": "tiny-cross-attention"}


def test_cosine_verdicts_hold_each_entering_vector_against_the_papers_lowest_high_cosine():
    threshold, column = verdicts.high_cosine()
    assert threshold == paper_value("T4", "cosine_y_plus_t", column)
    rows = [("adaLN-Zero", ENTERING, threshold + 0.01), ("adaLN-Zero", Y_ONLY, 0.3),
            ("in-context", ENTERING, threshold - 0.01), ("in-context", SUMMED, 0.99),
            ("cross-attention", ENTERING, 0.2)]
    stats = pd.DataFrame([{"mechanism": m, "reading": r, "width": 8, "cosine_mean": c, "cosine_min": c - 0.1}
                          for m, r, c in rows]).set_index(["mechanism", "reading"])
    found = {v.phenomenon: v for v in verdicts.cosine_verdicts(stats, MODELS, "ci")}
    assert [v.verdict for v in found.values()] == ["reproduced", "not reproduced", "not reproduced"]
    assert "the sum t + y: 0.990" in found["c is nearly the same for every class (in-context)"].this_build
    cross = found["c is nearly the same for every class (cross-attention)"]
    assert "AudioLDM" in cross.paper and "class embedding concatenated with t" in cross.paper


BASE = {"fid": [10.0, 10.5, 10.2], "class_agreement": [0.92, 0.93, 0.94]}
SAME = {"fid": [10.1, 10.4, 10.3], "class_agreement": [0.93, 0.92, 0.94]}
WORSE = {"fid": [40.0, 41.0, 42.0], "class_agreement": [0.50, 0.52, 0.51]}


def _study(rows, base=BASE, dim=64):
    """A study-like record scoring per-seed values (row -> metric -> values) beside the baseline `base`."""
    long = pd.DataFrame([{"row": row, "metric": metric, "replicate": i, "value": v}
                         for row, metrics in {"baseline": base, **rows}.items()
                         for metric, values in metrics.items() for i, v in enumerate(values)])
    return SimpleNamespace(model="tiny", specs={"baseline": None, **{r: None for r in rows}}, summary=summarise(long),
                           dim=dim, protocol=SimpleNamespace(seeds=3, seed=0))


def test_pruning_verdicts_reproduce_invert_or_withhold():
    weak = {"fid": [30.0, 30.4, 30.2], "class_agreement": [0.45, 0.46, 0.47]}
    studies = {"adaLN-Zero": _study({"tail_40pct": SAME, "tail_66pct": WORSE, "head_1pct": WORSE}),
               "cross-attention": _study({"tail_40pct": WORSE, "tail_66pct": WORSE, "head_1pct": SAME}),
               "in-context": _study({"tail_40pct": SAME, "tail_66pct": SAME, "head_1pct": SAME}, base=weak)}
    found = verdicts.pruning_verdicts(studies, ["fid", "class_agreement"], "class_agreement", "ci")
    assert [(v.phenomenon.split(" (")[0][:12], v.verdict) for v in found] == [
        ("zeroing the ", "reproduced"), ("the head, no", "reproduced"),
        ("zeroing the ", "not reproduced"), ("the head, no", "inverted"),
        ("zeroing the ", "not testable here"), ("the head, no", "not testable here")]
    assert "below it by more than the floor" in found[4].noise and "matched" in found[0].noise
    assert found[0].this_build.startswith("tail 40% (26 of 64)")  # the smallest tail share is the one judged
    assert "448 of 1152" in found[0].paper


def test_neither_part_harming_is_not_reproduced_and_a_study_without_head_rows_is_refused():
    studies = {"adaLN-Zero": _study({"tail_40pct": SAME, "head_1pct": SAME})}
    found = verdicts.pruning_verdicts(studies, ["fid"], "class_agreement", "ci")
    assert [v.verdict for v in found] == ["reproduced", "not reproduced"]
    with pytest.raises(ValueError, match="tail_shares and head_shares must each hold at least one share"):
        verdicts.pruning_verdicts({"adaLN-Zero": _study({"tail_40pct": SAME})}, ["fid"], "class_agreement", "ci")


def test_an_arm_above_the_reference_or_within_its_floor_is_matched():
    studies = {"adaLN-Zero": _study({"tail_40pct": SAME}),
               "better": _study({}, base={"fid": BASE["fid"], "class_agreement": [0.99, 0.98, 0.97]}),
               "close": _study({}, base={"fid": BASE["fid"], "class_agreement": [0.92, 0.92, 0.93]})}
    matched = verdicts.matched_arms(studies, "class_agreement")
    assert all(ok for ok, _ in matched.values())


def test_the_reference_table_puts_the_registrys_mechanism_beside_the_papers_label():
    table = mechanisms_tables.paper_mechanism_table_reference().set_index("paper column")
    assert table.loc["AudioLDM", "paper's label"] == "cross-attention (3)"
    assert table.loc["AudioLDM", "registry's mechanism"].startswith("class embedding concatenated")
    with pytest.raises(ValueError, match="column must be a paper column the registry reads"):
        mechanisms_study.registry_mechanism("PixArt")


def test_the_changes_figure_is_returned_closed_so_it_is_drawn_once():
    plt.close("all")
    study = _study({"tail_40pct": SAME, "head_1pct": WORSE})
    fig = mechanisms_figures.changes_figure({"adaLN-Zero": study, "in-context": study}, "fid")
    assert fig.caption and not plt.get_fignums()
