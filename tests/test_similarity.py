"""The similarity chapter's tables: paper beside this build, differences, readings."""
import pytest
import torch

from semantic_bottleneck.chapters.similarity import report as similarity_report, study as similarity_study
from semantic_bottleneck.chapters.similarity import tables as similarity
from semantic_bottleneck.condition.embedding import ConditionEmbedding


def _embedding(seed, family="repa", t0=1.0):
    g = torch.Generator().manual_seed(seed)
    d, f = 24, 256
    return ConditionEmbedding(0.1 * torch.randn(9, d, generator=g), 0.02 * torch.randn(d, f, generator=g),
                              torch.zeros(d), torch.randn(d, d, generator=g), torch.ones(d), info={"family": family, "t0": t0})


def test_real_model_rows_get_a_difference_row_equal_to_ours_minus_paper():
    rows = {"repa-xl": similarity_study.first_step_row(_embedding(0))}
    table = similarity.table1_beside_paper(rows)
    ours, paper = table.loc[("repa-xl", "this build")], table.loc[("REPA", "paper")]
    diff = table.loc[("repa-xl", "difference (this build - paper)")]
    assert diff["cosine"] == pytest.approx(ours["cosine"] - 0.9946)
    assert diff["nPR"] == pytest.approx(ours["nPR"] - paper["nPR"])
    t4 = similarity.table4_beside_paper(rows)
    assert t4.loc[("repa-xl", "difference (this build - paper)")]["cosine (y only)"] == pytest.approx(
        t4.loc[("repa-xl", "this build")]["cosine (y only)"] - 0.5194)


def test_tiny_model_has_no_difference_row_and_no_agreement_rows():
    rows = {"tiny-class": similarity_study.first_step_row(_embedding(1, "tiny", 999))}
    assert ("tiny-class", "difference (this build - paper)") not in similarity.table1_beside_paper(rows).index
    assert similarity.paper_agreement(rows).empty


def test_agreement_picks_the_closest_reading_and_says_when_none_matches():
    row = similarity_study.first_step_row(_embedding(2))
    row.update(cosine_mean=0.9946, cosine_min=0.90)
    agreement = similarity.paper_agreement({"repa-xl": row}).set_index("statistic")
    assert agreement.loc["T1 cosine", "closest reading"] == "mean over pairs"
    assert agreement.loc["T1 cosine", "verdict"] == "matches"
    row.update(cosine_mean=0.5, cosine_min=0.4)
    agreement = similarity.paper_agreement({"repa-xl": row}).set_index("statistic")
    assert agreement.loc["T1 cosine", "verdict"].startswith("no reading within")
    assert "does not match the paper's 0.9946" in similarity_report.describe({"repa-xl": row}, "paper")
    assert "What this scale cannot show" in similarity_report.describe({"repa-xl": row}, "tiny")


def test_timestep_grid_follows_the_time_convention():
    assert similarity_study.timestep_grid(_embedding(0, "dit", 999), 5).tolist() == [0, 250, 500, 749, 999]
    assert similarity_study.timestep_grid(_embedding(0, "repa", 1.0), 3).tolist() == [0.0, 0.5, 1.0]
    groups = similarity_study.by_time_convention({"a": _embedding(0, "dit", 999), "b": _embedding(0, "sit", 0.0)})
    assert groups == {"integer DDPM timesteps": ["a"], "continuous t in [0, 1]": ["b"]}
