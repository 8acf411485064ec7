"""The compute chapter's closing verdicts on synthetic results, the official X-MDPT forward's source-latent pass, and
the spread of paired timings: each verdict function shown reaching at least two different verdicts."""
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from semantic_bottleneck.chapters.compute import cost, report, study as compute_study, verdicts
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.nets.xmdpt import XMDPT, XMDPTConfig
from semantic_bottleneck.study.protocol import Protocol, Study

XMDPT_SMALL = XMDPTConfig(image_size=4, patch_size=2, in_channels=4, hidden_size=16, depth=2, num_heads=2,
                          decode_layer=1, pose_token_count=5, pose_token_width=6, source_token_count=5,
                          source_token_width=7)


# ----------------------------------------------------------------------------- counts and timings

def test_xmdpt_counts_the_official_second_pass_of_every_block_over_the_source_latent():
    with torch.device("meta"):
        model = XMDPT(XMDPT_SMALL).eval()
        tokens, c = torch.randn(1, 4, 16), torch.randn(1, 16)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        for block in model.blocks:
            tokens = block(tokens, c)
    counts = cost.layout_costs(lambda: XMDPT(XMDPT_SMALL))
    assert counts["of which source-latent pass (GFLOP)"] * 1e9 == pytest.approx(counter.get_total_flops())
    dit = cost.layout_costs(lambda: DiT(DiTConfig(image_size=4, patch_size=2, in_channels=3, hidden_size=8, depth=2,
                                                  num_heads=2, num_classes=3)))
    assert dit["of which source-latent pass (GFLOP)"] == 0


def test_paired_savings_give_quartiles_and_bad_turns_are_refused():
    low, high = cost.saving_quartiles([10, 10, 10, 10, 10], [5, 6, 7, 8, 12])
    assert (low, high) == pytest.approx((0.2, 0.4))
    assert cost.saving_quartiles([10], [5]) == pytest.approx((0.5, 0.5))
    with pytest.raises(ValueError, match="dense and small must hold the same number"):
        cost.saving_quartiles([1, 2], [1])


# ----------------------------------------------------------------------------- verdicts on synthetic tables

def _costs(params, flops, source=0.0):
    rows = {"DiT-XL/2": (params, flops, 0.0), "X-MDPT-S/2": (params, flops, source), "tiny-class": (0.2, 0.004, 0.0)}
    return pd.DataFrame({name: {"modulation share of parameters": p, "modulation share of FLOPs": f,
                                "of which source-latent pass (GFLOP)": s, "GFLOP per sample": 10.0}
                         for name, (p, f, s) in rows.items()}).T


def test_cost_verdicts_follow_the_shares_against_the_negligible_rule():
    found = verdicts.cost_verdicts(_costs(0.3, 0.002, source=12.0), ["tiny-class"], "ci")
    assert [v.verdict for v in found] == ["reproduced", "not reproduced"]
    assert found[0].this_build.startswith("the adaLN modulation layers hold 30% of the parameters (tiny models: 20%)")
    assert "X-MDPT-S/2 12" in found[1].this_build
    found = verdicts.cost_verdicts(_costs(0.005, 0.05), ["tiny-class"], "ci")
    assert [v.verdict for v in found] == ["not reproduced", "reproduced"]
    assert "source latent" not in found[1].this_build


def _equal(difference, pixel=1.0):
    return pd.DataFrame({"samples": [4], "sampler": ["ddim"], "kept coordinates r": ["39 of 64"],
                         "max |pruned - compressed|": [difference], "max |pixel|": [pixel]}).set_index("samples")


def test_the_equality_verdict_allows_float_rounding_only():
    assert verdicts.equality_verdict(_equal(3e-6), "tiny-class", "ci", 0).verdict == "reproduced"
    assert verdicts.equality_verdict(_equal(3e-3), "tiny-class", "ci", 0).verdict == "not reproduced"
    assert verdicts.equality_verdict(_equal(3e-4, pixel=10.0), "tiny-class", "ci", 0).verdict == "reproduced"


def _compression(quartiles):
    rows = {"dense": {"time saved, batch 1": 0.0, "time saved q25, batch 1": 0.0, "time saved q75, batch 1": 0.0}}
    for label, (low, high) in quartiles.items():
        rows[label] = {"time saved, batch 1": (low + high) / 2, "time saved q25, batch 1": low,
                       "time saved q75, batch 1": high}
    return pd.DataFrame(rows).T


@pytest.mark.parametrize("quartiles,expected", [
    ({"keep 61%": (0.05, 0.2), "keep 34%": (0.01, 0.3)}, "reproduced"),
    ({"keep 61%": (0.05, 0.2), "keep 34%": (-0.01, 0.3)}, "not reproduced"),  # faster in 1 of 2: not most
    ({"keep 61%": (-0.3, -0.1), "keep 34%": (-0.2, -0.1)}, "inverted"),
    ({"keep 61%": (-0.3, -0.1), "keep 34%": (-0.2, 0.1)}, "not reproduced"),  # one slower timing is no inversion
    ({"keep 61%": (-0.1, 0.1), "keep 34%": (-0.2, 0.1)}, "not reproduced"),
    ({"keep 61%": (0.1, 0.2), "keep 34%": (-0.3, -0.1)}, "not reproduced")])
def test_the_time_verdict_reads_the_quartiles_of_the_paired_savings(quartiles, expected):
    found = verdicts.time_verdict(_compression(quartiles), list(quartiles), "tiny-class", "ci", "cpu")
    assert found.verdict == expected
    assert "keep 61%, batch 1" in found.this_build


# ----------------------------------------------------------------------------- directions against coordinates

BASE = {"fid": [10.0, 10.5, 10.2], "class_agreement": [0.90, 0.91, 0.92]}
NEAR = {"fid": [10.1, 10.4, 10.3], "class_agreement": [0.91, 0.90, 0.92]}


def _study(rows, ranks=(1, 64), dim=128):
    """A Study whose rows score the given per-seed values (row -> metric -> values; the baseline added)."""
    specs = compute_study.rank_specs(SimpleNamespace(ranks=list(ranks)), dim)
    long = pd.DataFrame([{"row": row, "metric": metric, "replicate": i, "value": v}
                         for row, metrics in {"baseline": BASE, **rows}.items()
                         for metric, values in metrics.items() for i, v in enumerate(values)])
    protocol = Protocol("tiny-class", None, 20, 3, 0)
    return Study("tiny-class", protocol, specs, long, summarise(long), {}, {}, dim, None)


WRECKS = {"coordinates_r1": {"fid": [500.0, 520.0, 510.0], "class_agreement": [0.10, 0.12, 0.11]},
          "directions_r1": {"fid": [100.0, 105.0, 102.0], "class_agreement": [0.30, 0.31, 0.29]}}


def test_ranks_where_both_arms_are_wrecked_are_not_counted():
    study = _study({**WRECKS, "coordinates_r64": NEAR, "directions_r64": NEAR})
    table = verdicts.eligible_ranks(study, ["fid", "class_agreement"])
    assert table.set_index(["r", "metric"]).loc[(1, "fid"), "better"] == "directions"  # a win between wrecks...
    assert not table[table["r"] == 1]["eligible"].any()  # ...that is not eligible
    assert verdicts.rank_outcomes(table) == {64: "within noise"}
    found = verdicts.direction_verdict("tiny-class", study, ["fid", "class_agreement"], "ci")
    assert found.verdict == "reproduced" and found.this_build.startswith("1 of 2 ranks eligible")


def test_directions_better_at_an_eligible_rank_is_not_reproduced_and_no_eligible_rank_is_not_testable():
    worse = {"fid": [20.0, 21.0, 20.5], "class_agreement": [0.80, 0.81, 0.79]}
    study = _study({**WRECKS, "coordinates_r64": worse, "directions_r64": NEAR})
    found = verdicts.direction_verdict("tiny-class", study, ["fid", "class_agreement"], "ci")
    assert found.verdict == "not reproduced" and "r = 64: directions" in found.this_build
    study = _study({**WRECKS, "coordinates_r64": worse, "directions_r64": worse})
    found = verdicts.direction_verdict("tiny-class", study, ["fid", "class_agreement"], "ci")
    assert found.verdict == "not testable here" and found.this_build.startswith("0 of 2 ranks eligible")


def test_one_outcome_per_rank_over_both_metrics():
    comparisons = pd.DataFrame([
        {"r": 4, "metric": "fid", "eligible": True, "better": "directions"},
        {"r": 4, "metric": "class_agreement", "eligible": True, "better": "coordinates"},
        {"r": 8, "metric": "fid", "eligible": True, "better": "directions"},
        {"r": 8, "metric": "class_agreement", "eligible": True, "better": "directions"},
        {"r": 16, "metric": "fid", "eligible": False, "better": "coordinates"}])
    assert verdicts.rank_outcomes(comparisons) == {4: "mixed", 8: "directions"}


def test_the_directions_sentence_reports_eligible_ranks_not_a_count_of_wins():
    study = _study({**WRECKS, "coordinates_r64": NEAR, "directions_r64": NEAR})
    judge = SimpleNamespace(agreement=SimpleNamespace(column="class_agreement"))
    sentence = report.directions_sentence({"tiny-class": (study, judge)}, "fid")
    assert "1 of 2 ranks are eligible" in sentence and "r = 64 within noise" in sentence
    assert "favour" not in sentence
