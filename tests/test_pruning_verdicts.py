"""The pruning chapter's verdicts are computed from the rows: each claim's rule, on synthetic summaries."""
import pandas as pd
import pytest

from semantic_bottleneck.chapters.pruning import rows, tables as chapter_tables, verdicts
from semantic_bottleneck.condition.prune import PruneSpec
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study.protocol import Protocol, Study
import helpers

BASE = {"fid": 145.0, "class_agreement": 0.93, "removed_dims": 0.0}


def make_study(shifts, seeds=3):
    """A study whose rows move FID and class agreement by the given amounts from a baseline whose seeds differ by 1
    (FID) and 0.01 (agreement): noise floors about 1.4 and 0.014; a constant shift has a zero-width interval."""
    long = []
    for row, (fid, agreement, removed) in {"baseline": (0.0, 0.0, 0.0), **shifts}.items():
        for s in range(seeds):
            for metric, value in (("fid", BASE["fid"] + s + fid), ("class_agreement", BASE["class_agreement"]
                                  + s / 100 + agreement), ("removed_dims", removed)):
                long.append({"row": row, "replicate": s, "metric": metric, "value": value})
    long = pd.DataFrame(long)
    specs = {r: None if r == "baseline" else PruneSpec("tail", fraction=0.5) for r in ["baseline", *shifts]}
    protocol = Protocol("tiny-class", preset("tiny-ddim-10"), 300, seeds)
    return Study("tiny-class", protocol, specs, long, summarise(long), {}, {}, 64, None)


def by_phenomenon(found, words):
    hits = [v for v in found if words in v.phenomenon]
    assert len(hits) == 1, [v.phenomenon for v in found]
    return hits[0]


def test_each_claim_has_its_own_rule():
    assert verdicts.claim_verdict("unchanged", ["within noise", "within noise"]) == "reproduced"
    assert verdicts.claim_verdict("unchanged", ["better", "within noise"]) == "not reproduced"  # never "inverted"
    assert verdicts.claim_verdict("hurts", ["worse", "within noise"]) == "reproduced"
    assert verdicts.claim_verdict("hurts", ["better", "within noise"]) == "inverted"
    assert verdicts.claim_verdict("hurts", ["better", "worse"]) == "not reproduced"
    assert verdicts.claim_verdict("destroys", ["worse", "within noise"]) == "not reproduced"
    assert verdicts.claim_verdict("destroys", ["worse", "worse"]) == "reproduced"
    assert verdicts.claim_verdict("destroys", ["worse", None]) == "not testable here"
    with pytest.raises(ValueError, match="claim must be one of unchanged, hurts, destroys; got 'helps'"):
        verdicts.claim_verdict("helps", ["worse"])


def test_a_change_is_worse_or_better_by_the_metrics_direction():
    study = make_study({"r": (+20.0, +0.1, 5.0)})
    assert verdicts.change(study.summary, "r", "fid")["direction"] == "worse"  # FID up
    assert verdicts.change(study.summary, "r", "class_agreement")["direction"] == "better"  # agreement up
    assert verdicts.change(study.summary, "missing", "fid") is None


def test_claims_are_read_from_the_rows_the_way_the_tiny_model_shows_them():
    study = make_study({
        "tail_tau0.01_every_step": (-12.0, +0.005, 25.0),  # FID improves beyond noise, agreement within it
        "tail_tau0.01_first_step": (0.3, 0.0, 25.0),
        "tail_tau0.01_last_k_steps": (-0.2, 0.001, 25.0),
        "tail_tau0.02_every_step": (+40.0, -0.19, 42.0),
        "head_tau1.0_every_step": (+114.0, -0.005, 1.0),  # FID worse, agreement within noise: hurt, not destroyed
        "tail_tau0.01_every_step@global": (0.1, 0.0, 25.0),
        "tail_tau0.01_first_step@global": (0.1, 0.0, 25.0),
        "tail_tau0.01_every_step@conditional": (+30.0, 0.0, 25.0)})
    found = verdicts.claim_verdicts(study, "fid", "class_agreement", "tiny")
    assert by_phenomenon(found, "Tail τ=0.01 (t_i)").verdict == "not reproduced"
    assert by_phenomenon(found, "Tail τ=0.01 (t_0)").verdict == "reproduced"
    assert by_phenomenon(found, "two thirds").verdict == "reproduced"
    head = by_phenomenon(found, "handful")
    assert head.verdict == "not reproduced" and "FID 146 → 260 (Δ +114" in head.this_build
    assert "1.0 of 64 zeroed" in head.this_build and "8 of 1152 zeroed" in head.paper and "523.76" in head.paper
    assert by_phenomenon(found, "global mask reading").verdict == "reproduced"
    assert by_phenomenon(found, "conditional branch only").verdict == "not reproduced"
    assert "noise floor FID 1.41" in head.noise
    assert head.noise.endswith("sampling seeds of one trained model: how another training draw would differ is not "
                               "in this noise")  # the training draw is not in the floor
    assert head.model == "tiny-class, tiny profile, base seed 0, 3 seeds of 300 samples"


def test_a_single_seed_leaves_every_claim_untestable():
    study = make_study({"tail_tau0.01_every_step": (-12.0, 0.0, 25.0)}, seeds=1)
    found = verdicts.claim_verdicts(study, "fid", "class_agreement", "ci")
    assert {v.verdict for v in found} == {"not testable here"}
    assert "one seed" in found[0].noise


def test_the_ranking_that_reproduces_the_head_tail_result_is_named():
    study = make_study({
        "tail_tau0.01_every_step": (+50.0, -0.1, 25.0), "head_tau1.0_every_step": (0.2, 0.0, 1.0),
        "tail_tau0.01_every_step@contribution": (0.2, 0.0, 25.0),
        "head_tau1.0_every_step@contribution": (+90.0, -0.2, 1.0),
        "tail_tau0.01_every_step@silu": (0.2, 0.0, 25.0)})  # no silu head row: silu is left out
    found = verdicts.ranking_verdicts(study, "fid", "class_agreement", "tiny")
    assert [v.verdict for v in found] == ["inverted", "reproduced"]
    assert "ranked by magnitude" in found[0].phenomenon and "[ranked by contribution]" in found[1].this_build
    assert verdicts.head_tail_verdict(["within noise"], ["within noise"]) == "not reproduced"


def test_silu_aware_rows_zero_the_paper_rows_share_ranked_otherwise():
    specs = rows.ranking_specs(["contribution", "silu"], ["tail_tau0.01_every_step", "head_tau1.0_every_step"])
    assert list(specs) == ["tail_tau0.01_every_step@contribution", "head_tau1.0_every_step@contribution",
                           "tail_tau0.01_every_step@silu", "head_tau1.0_every_step@silu"]
    tail = specs["tail_tau0.01_every_step@contribution"]
    assert tail.ranking == "contribution" and tail.part == "tail" and tail.fraction == pytest.approx(448 / 1152)
    assert specs["head_tau1.0_every_step@silu"].part == "head"
    assert chapter_tables.label("head_tau1.0_every_step@silu") == "Head τ=1 (t_i) [ranked by silu]"
    with pytest.raises(ValueError, match="rankings must name rankings other than magnitude"):
        rows.ranking_specs(["magnitude"], ["tail_tau0.01_every_step"])
    with pytest.raises(ValueError, match="ranking_rows must be every-step rows of Table 2"):
        rows.ranking_specs(["silu"], ["tail_tau0.01_first_step"])
    with pytest.raises(ValueError, match="ranking must be one of magnitude, silu, contribution"):
        rows.ranking_specs(["gain"], ["tail_tau0.01_every_step"])


def test_the_sweep_table_lists_a_parts_rows_by_the_share_removed():
    study = make_study({"sweep_tail_0.800": (5.0, 0.0, 51.0), "tail_tau0.01_every_step": (0.0, 0.0, 25.0)})
    study.specs["sweep_tail_0.800"] = PruneSpec("tail", fraction=0.8)
    assert chapter_tables.sweep_rows(study, "tail") == ["baseline", "tail_tau0.01_every_step", "sweep_tail_0.800"]


def test_each_ranked_row_sits_under_the_row_it_re_ranks_and_the_parameters_add_them():
    study = make_study({"tail_tau0.01_every_step": (0, 0, 25.0), "head_tau1.0_every_step": (0, 0, 1.0),
                        "head_tau1.0_every_step@silu": (0, 0, 1.0),
                        "tail_tau0.01_every_step@contribution": (0, 0, 25.0),
                        "tail_tau0.01_every_step@global": (0, 0, 25.0)})
    assert chapter_tables.ranking_rows(study.summary) == ["head_tau1.0_every_step", "head_tau1.0_every_step@silu",
                                                  "tail_tau0.01_every_step", "tail_tau0.01_every_step@contribution"]
    params = helpers.study_params(rankings=["silu"], ranking_rows=["head_tau5.0_every_step"])
    specs = rows.table2_specs(params, 64)
    assert specs["head_tau5.0_every_step@silu"].ranking == "silu" and len(specs) == len(rows.paper_rows()) + 1
