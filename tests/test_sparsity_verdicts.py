"""The sparsity chapter's SiLU-aware table, contribution head and closing verdicts on synthetic inputs."""
import math

import pandas as pd
import pytest
import torch

from semantic_bottleneck.chapters.sparsity import study as sparsity_study, tables as sparsity_tables
from semantic_bottleneck.chapters.sparsity import verdicts as closing
from semantic_bottleneck.condition.reach import modulation_gains
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.paper import paper_value
from semantic_bottleneck.tiny.train import TrainConfig

LABEL = "tiny-class, ci profile, training seed 0"


# ----------------------------------------------------------------------------- SiLU-aware table and subsets

def _planted(d=40):
    """c (3, d) whose two largest coordinates are large and negative (inert), with two positive ones behind them."""
    c = torch.full((3, d), 0.01)
    c[:, :2] = -8.0
    c[:, 2:4] = 3.0
    return c


def test_contribution_head_skips_inert_and_unweighted_coordinates():
    c, gains = _planted(), torch.ones(40)
    assert sparsity_study.contribution_subsets(c, gains, 0.05)["contribution head"].tolist() == [2, 3]
    gains[2] = 0.0  # the Linear ignores input 2: it cannot reach the modulation
    subsets = sparsity_study.contribution_subsets(c, gains, 0.05)
    assert 2 not in subsets["contribution head"].tolist() and 3 in subsets["contribution head"].tolist()
    assert sorted(subsets["contribution head"].tolist() + subsets["contribution tail"].tolist()) == list(range(40))


def test_reach_table_names_every_reading_and_counts_the_inert_head():
    rows = sparsity_study.reach_rows({"m": _planted()}, {"m": torch.ones(40)}, 0.05)
    assert rows["m"]["d"] == 40 and rows["m"]["inert_head"] == 2 and rows["m"]["head_overlap"] == 0.0
    table = sparsity_tables.reach_table(rows)
    assert table.loc["m", sparsity_tables.COLUMNS["inert_head"]] == 2
    assert list(table.columns) == list(sparsity_tables.COLUMNS.values())


def test_first_step_subsets_add_the_contribution_split_only_with_gains_and_a_dit_gives_its_gains():
    network = DiT(DiTConfig(hidden_size=16, depth=1, num_heads=2, num_classes=4))
    gains = modulation_gains(network)
    assert gains.shape == (16,) and (gains >= 0).all()
    c = torch.randn(4, 16)
    with_gains = sparsity_study.contribution_subsets(c, gains, 0.25)
    assert len(with_gains["contribution head"]) == 4
    table = sparsity_tables.subsets_table({"head": torch.tensor([0, 1]), **with_gains}, c)
    assert table.loc["contribution head", "rule"] == sparsity_tables.RULES["contribution head"]


# ----------------------------------------------------------------------------- statistics at t0

def test_npr_verdict_against_the_largest_imagenet_npr_and_names_the_models_column():
    top = max(paper_value("T1", "npr", m) for m in closing.IMAGENET)
    row = {"npr_mean_over_classes": top - 0.01, "npr_of_mean_vector": 0.5, "d": 64}
    assert closing.npr_verdict("tiny-class", row, LABEL).verdict == "reproduced"
    assert closing.npr_verdict("tiny-class", {**row, "npr_mean_over_classes": top + 0.01}, LABEL).verdict == \
        "not reproduced"
    assert f"REPA: {100 * paper_value('T1', 'npr', 'REPA'):.2f}%" in closing.npr_verdict("repa-xl", row, LABEL).paper


def test_magnitude_contrast_reads_its_claim_from_the_file_and_judges_a_planted_head():
    head, tail, ratio = closing.magnitude_contrast_claim()
    assert head == pytest.approx(paper_value("TEXT", "sec2_5_dims_above_1", "six ImageNet models") / 1152)
    assert tail == paper_value("TEXT", "fig11_fraction_below_0.01", "mean conditional vector")
    assert ratio == pytest.approx(100)  # the thresholds 1 and 0.01 of the two rows' names
    spiky = torch.full((2, 64), 0.001)
    spiky[:, 0] = 5.0
    assert closing.magnitude_contrast_verdict(spiky, LABEL).verdict == "reproduced"
    assert closing.magnitude_contrast_verdict(torch.rand(2, 64) + 1, LABEL).verdict == "not reproduced"


def test_variance_verdict_compares_with_the_papers_share_of_d():
    k = math.ceil(paper_value("TEXT", "fig9b_variance_head_dims_high", "six ImageNet models") / 1152 * 128)
    row = pd.Series({"dims_for_90pct_of_variance": k, "dims_for_half_the_variance": 1})
    assert closing.variance_verdict(row, 128, LABEL).verdict == "reproduced"
    assert closing.variance_verdict({**row, "dims_for_90pct_of_variance": k + 1}, 128, LABEL).verdict == \
        "not reproduced"


# ----------------------------------------------------------------------------- head against tail, reach

def _scores(head, tail, points=200, spread=0.5):
    frame = pd.DataFrame({"knn_accuracy": [1.0, head, tail, head, tail], "dims": [64, 4, 60, 4, 60], "chance": 0.05,
                          "points": points, "t from": 999.0, "t to": 899.0, "spread within / between": spread},
                         index=["full", "head", "tail", "contribution head", "contribution tail"])
    frame.index.name = "subset"
    return frame


def test_separation_verdict_reproduces_inverts_or_stays_within_its_interval():
    assert closing.separation_verdict(_scores(0.9, 0.3), "head", "tail", LABEL).verdict == "reproduced"
    assert closing.separation_verdict(_scores(0.56, 0.79), "head", "tail", LABEL).verdict == "inverted"
    within = closing.separation_verdict(_scores(0.80, 0.78), "head", "tail", LABEL)
    assert within.verdict == "not reproduced"
    assert f"±{1.96 * math.sqrt((0.8 * 0.2 + 0.78 * 0.22) / 200):.2f}" in within.noise
    assert "close to trivial" not in within.noise
    assert "close to trivial" in closing.separation_verdict(_scores(1.0, 1.0, spread=0.01), "head", "tail", LABEL).noise
    assert "contribution" in closing.separation_verdict(_scores(0.9, 0.3), "contribution head", "contribution tail",
                                                       LABEL).phenomenon


def test_reach_verdict_most_of_the_contribution_or_less_than_its_share():
    reach = {"head_dims": 4, "d": 64, "head_share_magnitude": 0.3, "head_share_contribution": 0.6,
             "contribution_head_share": 0.7, "inert_head": 0, "head_overlap": 0.75}
    assert closing.reach_verdict(reach, LABEL).verdict == "reproduced"
    assert closing.reach_verdict({**reach, "head_share_contribution": 0.2}, LABEL).verdict == "not reproduced"
    inert = closing.reach_verdict({**reach, "head_share_contribution": 0.01, "inert_head": 4}, LABEL)
    assert inert.verdict == "inverted" and "4 of its 4 dims are inert" in inert.this_build


def test_head_verdicts_add_the_contribution_split_where_it_was_scored():
    table = pd.concat({0.1: _scores(0.9, 0.3)}, names=["window"])
    reach = {"head_dims": 4, "d": 64, "head_share_magnitude": 0.3, "head_share_contribution": 0.6,
             "contribution_head_share": 0.7, "inert_head": 0, "head_overlap": 0.75}
    assert len(closing.head_verdicts({"m": table}, {"m": reach}, 0.1, {"m": LABEL})) == 3
    only_magnitude = pd.concat({0.1: _scores(0.9, 0.3).loc[["full", "head", "tail"]]}, names=["window"])
    assert len(closing.head_verdicts({"m": only_magnitude}, {"m": reach}, 0.1, {"m": LABEL})) == 2


# ----------------------------------------------------------------------------- training dynamics

def _end(baseline, copy=None, **variants):
    values = {sparsity_study.BASELINE: baseline, **({"baseline, seed 1": copy} if copy is not None else {}), **variants}
    return pd.DataFrame({closing.NPR: values, "steps": 150})


def _log(first, last):
    return pd.DataFrame({"step": [50, 100, 150], "npr_mean_over_classes": [first, (first + last) / 2, last]})


def test_dynamics_noise_is_the_seed_spread_or_a_named_tolerance():
    assert closing.dynamics_noise(_end(0.5, 0.53), 0.02)[0] == pytest.approx(0.03)
    value, text = closing.dynamics_noise(_end(0.5), 0.02)
    assert value == 0.02 and "not a noise" in text


def test_training_and_variant_verdicts_against_the_noise():
    config, noise = TrainConfig(steps=150, seed=3), (0.03, "seed spread")
    assert closing.training_verdict(_log(0.9, 0.5), config, noise).verdict == "reproduced"
    assert closing.training_verdict(_log(0.5, 0.6), config, noise).verdict == "inverted"
    assert closing.training_verdict(_log(0.5, 0.49), config, noise).verdict == "not reproduced"
    assert "training seed 3" in closing.training_verdict(_log(0.9, 0.5), config, noise).model
    end = _end(0.5, 0.53, **{"weight decay 0.1": 0.4, "weight decay 1": 0.6, "50 timesteps": 0.52})
    assert closing.variant_verdict("weight decay 0.1", end, config, noise).verdict == "reproduced"
    assert closing.variant_verdict("weight decay 1", end, config, noise).verdict == "inverted"
    few = closing.timesteps_verdict("50 timesteps", _log(0.9, 0.52), end, config, noise)
    assert few.verdict == "reproduced" and "+2.0 points against the baseline" in few.this_build


def test_dynamics_verdicts_cover_the_main_run_and_every_variant():
    base = TrainConfig(steps=1000)
    configs = sparsity_study.variant_configs(base, 150, [50], [0.1], 50, [1])
    runs = {name: (None, _log(0.9, 0.5), 1.0) for name in configs}
    end = _end(0.5, 0.52, **{"50 timesteps": 0.5, "weight decay 0.1": 0.51})
    out = closing.dynamics_verdicts(_log(0.9, 0.3), base, runs, configs, end, 0.02)
    assert [v.verdict for v in out] == ["reproduced", "reproduced", "not reproduced"]
    assert "Fig. 43" in out[1].phenomenon and "A.3" in out[2].phenomenon
