"""The SiLU-aware reading of c: gains of the modulation Linears, rankings, and the summary beside the paper's."""
import math

import pytest
import torch
import torch.nn.functional as F

from semantic_bottleneck.condition import reach
from semantic_bottleneck.condition.prune import Pruner, PruneSpec, spec_mask
from semantic_bottleneck.nets.dit import DiTConfig
from helpers import random_dit


def _tiny_dit():
    return random_dit(DiTConfig(image_size=8, patch_size=4, in_channels=1, hidden_size=8, depth=2, num_heads=2,
                                num_classes=3))


def test_gains_are_the_root_sum_square_of_every_modulation_columns_norm():
    model = _tiny_dit()
    weights = [model.blocks[0].adaLN_modulation[1].weight, model.blocks[1].adaLN_modulation[1].weight,
               model.final_layer.adaLN_modulation[1].weight]
    expected = torch.stack([w.pow(2).sum(0) for w in weights]).sum(0).sqrt()
    torch.testing.assert_close(reach.modulation_gains(model), expected)
    with pytest.raises(ValueError, match="same input width"):
        reach.gains_from_weights([torch.ones(4, 3), torch.ones(4, 2)])


def test_a_large_negative_coordinate_is_head_by_magnitude_and_tail_by_what_reaches_the_linear():
    c = torch.tensor([-8.0, 0.5, 2.0, -0.1])
    gains = torch.tensor([1.0, 1.0, 1.0, 10.0])
    assert reach.ranking_scores(c, "magnitude").argmax() == 0
    assert reach.ranking_scores(c, "silu").argmax() == 2
    torch.testing.assert_close(reach.ranking_scores(c, "contribution", gains), F.silu(c).abs() * gains)
    with pytest.raises(ValueError, match="ranking must be one of magnitude, silu, contribution"):
        reach.ranking_scores(c, "norm")
    with pytest.raises(ValueError, match="gains must be given"):
        reach.ranking_scores(c, "contribution")


def test_summary_counts_an_inert_head_and_its_share_of_the_contribution():
    c = torch.tensor([[-9.0, 3.0, 0.2, 0.1], [-9.0, 3.0, 0.3, 0.1]])
    row = reach.reach_summary(c, torch.ones(4), head_fraction=0.25)  # head: 1 coordinate, the -9
    assert row["head_dims"] == 1 and row["inert_head"] == 1
    assert row["head_share_magnitude"] > 0.7 and row["head_share_contribution"] < 0.01
    assert row["contribution_head_share"] > 0.8 and row["head_overlap"] == 0.0
    assert reach.INERT_BELOW == pytest.approx(math.log(0.05 / 0.95)) and torch.sigmoid(
        torch.tensor(reach.INERT_BELOW)).item() == pytest.approx(0.05)
    positive = reach.reach_summary(c.abs(), torch.ones(4), head_fraction=0.25)
    assert positive["inert_head"] == 0 and positive["head_overlap"] == 1.0


def test_the_pruner_ranks_by_contribution_with_the_models_own_gains():
    model = _tiny_dit()
    spec = PruneSpec("tail", fraction=0.5, ranking="contribution")
    assert spec.label == "tail 50.0% of D by contribution (per_sample, t_i)"
    c = torch.randn(3, 8) * 3
    gains = reach.modulation_gains(model)
    expected = spec_mask(c, spec, gains)
    with Pruner(model, spec, num_steps=1) as pruner:
        got = pruner.apply(c) == 0
    assert torch.equal(got, expected) and not torch.equal(expected, spec_mask(c, PruneSpec("tail", fraction=0.5)))
    with pytest.raises(ValueError, match="ranking must be one of"):
        PruneSpec("tail", fraction=0.5, ranking="silu-ish")
