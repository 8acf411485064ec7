"""The similarity chapter's closing verdicts on synthetic rows: each verdict can come out more than one way."""
import pandas as pd
import pytest
import torch

from semantic_bottleneck.chapters.similarity import study as similarity_study, tables as similarity, verdicts as closing
from semantic_bottleneck.chapters.verdicts import model_label
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.paper import paper_value

LABEL = "tiny-class, ci profile, training seed 0"


def _row(cosine=0.999, y_cosine=0.05, t_share=0.9):
    return {"cosine_mean": cosine, "cosine_min": cosine - 0.01, "y_cosine_mean": y_cosine, "t_share": t_share}


def _sweep(cosines, t_max=999.0):
    return pd.DataFrame({"t": pd.Series(range(len(cosines))) * t_max / (len(cosines) - 1), "cosine_mean": cosines})


def test_alignment_is_judged_at_the_papers_threshold_read_from_the_numbers_file():
    threshold = paper_value("TEXT", "eq3_cosine_all_pairs", "ImageNet class models")
    above = closing.alignment_verdict("tiny-class", _row(cosine=threshold + 0.001), LABEL)
    below = closing.alignment_verdict("tiny-class", _row(cosine=threshold - 0.001), LABEL)
    assert (above.verdict, below.verdict) == ("reproduced", "not reproduced")
    assert "SiLU" in closing.alignment_verdict("tiny-class", _row(), LABEL, "SiLU(c)").phenomenon


def test_the_papers_own_table1_models_below_its_threshold_are_named_from_the_file():
    claim = closing.paper_cosine_claim("dit-xl")
    dit = paper_value("T1", "cosine", "DiT")
    assert f"DiT {dit:.4f}" in claim and "3 of them below" in claim  # DiT, SiT, LightningDiT
    assert "REPA 0" not in claim.split("(")[1]  # REPA is above 0.99, not listed among those below
    assert claim.endswith(f"DiT: {dit:.4f}")


def test_y_alone_verdict_uses_table4s_smallest_gap_and_inverts_below_zero():
    least = closing.smallest_paper_gap()
    assert least == pytest.approx(min(paper_value("T4", "cosine_y_plus_t", m) - paper_value("T4", "cosine_y_only", m)
                                      for m in closing.IMAGENET))
    assert closing.y_alone_verdict(_row(0.99, 0.99 - least - 0.01), LABEL).verdict == "reproduced"
    assert closing.y_alone_verdict(_row(0.99, 0.99 - least / 2), LABEL).verdict == "not reproduced"
    assert closing.y_alone_verdict(_row(0.9, 0.95), LABEL).verdict == "inverted"


def test_time_share_verdict_needs_more_than_half():
    assert closing.time_share_verdict(_row(t_share=0.7), LABEL).verdict == "reproduced"
    assert closing.time_share_verdict(_row(t_share=0.4), LABEL).verdict == "not reproduced"


def test_schedule_verdict_counts_timesteps_above_the_a2_threshold():
    good = closing.schedule_verdict(_sweep([0.995] * 10), LABEL)
    bad = closing.schedule_verdict(_sweep([0.487, 0.9, 0.986, 0.995, 0.995]), LABEL)
    assert good.verdict == "reproduced" and "10 of 10 above" in good.this_build
    assert bad.verdict == "not reproduced" and "0.4870-0.9950" in bad.this_build and "2 of 5 above" in bad.this_build
    assert "nearly automatic" in closing.schedule_verdict(_sweep([0.995] * 3, t_max=1.0), LABEL).noise
    assert "nearly automatic" not in good.noise


def test_sample_verdict_against_chance_and_without_a_check():
    labels = torch.arange(20).repeat(10)
    check = {"labels": labels, "agreement": 0.9, "agreement_on_real_images": 1.0, "classifier_heldout_accuracy": 1.0}
    assert closing.sample_verdict(check, LABEL).verdict == "reproduced"
    assert closing.sample_verdict({**check, "agreement": 0.05}, LABEL).verdict == "not reproduced"
    assert closing.sample_verdict(None, LABEL).verdict == "not testable here"
    low, high = closing.wilson_interval(5, 10)
    assert low < 0.5 < high and high - 0.5 == pytest.approx(0.5 - low)
    with pytest.raises(ValueError, match="trials must be at least 1"):
        closing.wilson_interval(0, 0)


def test_verdicts_cover_every_phenomenon_per_model_and_the_sample_check_once():
    rows, silu = {"tiny-class": _row()}, {"tiny-class": _row(cosine=0.5)}
    out = closing.verdicts(rows, silu, {"tiny-class": _sweep([0.99, 0.5])}, None, {"tiny-class": LABEL})
    assert [v.verdict for v in out] == ["reproduced", "not reproduced", "reproduced", "reproduced", "not reproduced",
                                        "not testable here"]
    assert {v.model for v in out} == {LABEL}
    assert model_label("tiny-class", "ci") == LABEL
    assert model_label("repa-xl", "paper") == "repa-xl, official checkpoint (paper profile)"


def test_silu_row_is_the_statistics_of_silu_of_c():
    g = torch.Generator().manual_seed(0)
    d = 12
    emb = ConditionEmbedding(torch.randn(6, d, generator=g), torch.randn(d, 256, generator=g), torch.zeros(d),
                             torch.randn(d, d, generator=g), torch.zeros(d), info={"t0": 999.0})
    row = similarity_study.silu_row(emb)
    passed = torch.nn.functional.silu(emb.c(999.0).double())
    assert row["npr_of_mean_vector"] == pytest.approx(
        (passed.mean(0).abs().sum() ** 2 / passed.mean(0).pow(2).sum()).item() / d)
    frame = similarity.silu_beside_c({"m": similarity_study.first_step_row(emb)}, {"m": row})
    assert frame.loc[("m", "SiLU(c) (what the Linear receives)"), "cosine: mean over pairs"] == row["cosine_mean"]
