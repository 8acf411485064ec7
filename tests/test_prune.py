"""The pruning operator: masks, schedules, hooks on the official layout and on diffusers' DiT."""
import pytest
import torch

from semantic_bottleneck.checkpoints.diffusers import to_diffusers
from semantic_bottleneck.condition import prune
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.condition.prune import Pruner, PruneSpec
from semantic_bottleneck.nets.dit import DiTConfig
from semantic_bottleneck.sampling import presets
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.generate import generate
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")


CONFIG = DiTConfig(image_size=8, patch_size=2, in_channels=3, hidden_size=16, depth=3, num_heads=2,
                       num_classes=5, learn_sigma=False)


def random_dit(seed=0, config=CONFIG):
    """A small DiT whose every weight is random (the default zero adaLN init would make c irrelevant)."""
    return helpers.random_dit(config, seed, std=0.3)


def inputs(n=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 8, 8, generator=g), torch.tensor([999, 500, 20, 0][:n]), torch.arange(n) % 5


def c_of(model, t, y):
    return model.t_embedder(t) + model.y_embedder(y)


def capture_inputs(model):
    """Register (after the pruner's) pre-hooks recording what every adaLN_modulation receives."""
    seen, handles = [], []
    for module in prune.hook_points(model)[1]:
        handles.append(module.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone())))
    return seen, handles


def test_spec_rejects_bad_input():
    with pytest.raises(ValueError, match="exactly one of tau or fraction"):
        PruneSpec("tail")
    with pytest.raises(ValueError, match="part must be"):
        PruneSpec("middle", tau=0.1)
    with pytest.raises(ValueError, match="schedule must be"):
        PruneSpec("tail", tau=0.1, schedule="sometimes")
    with pytest.raises(ValueError, match="fraction must be"):
        PruneSpec("tail", fraction=1.5)


def test_masks_by_threshold_and_by_count_on_a_hand_case():
    c = torch.tensor([[0.005, -0.5, 2.0, -0.02], [3.0, 0.001, -0.009, 0.5]])
    assert prune.prune_mask(c, "tail", tau=0.01).tolist() == [[True, False, False, False], [False, True, True, False]]
    assert prune.prune_mask(c, "head", tau=1.0).tolist() == [[False, False, True, False], [True, False, False, False]]
    assert prune.prune_mask(c, "tail", count=2).tolist() == [[True, False, False, True], [False, True, True, False]]
    assert prune.prune_mask(c, "head", count=1).tolist() == [[False, False, True, False], [True, False, False, False]]
    assert not prune.prune_mask(c, "tail", count=0).any()


def test_fraction_to_count_keeps_at_least_one_on_each_side():
    assert prune.count_for_fraction(448 / 1152, 128) == 50
    assert prune.count_for_fraction(2 / 1152, 128) == 1
    assert prune.count_for_fraction(1149 / 1152, 128) == 127
    assert prune.count_for_fraction(0.0, 128) == 0 and prune.count_for_fraction(1.0, 128) == 128


def test_schedules_name_the_intended_steps():
    assert prune.active_steps("every_step", 5) == {0, 1, 2, 3, 4}
    assert prune.active_steps("first_step", 5) == {0}
    assert prune.active_steps("last_k_steps", 5, 2) == {3, 4}
    with pytest.raises(ValueError, match="k must be"):
        prune.active_steps("last_k_steps", 5, 6)


@pytest.mark.parametrize("spec", [PruneSpec("tail", fraction=0.4), PruneSpec("head", fraction=0.1),
                                  PruneSpec("tail", tau=0.5), PruneSpec("head", tau=1.0)])
def test_hooks_zero_exactly_the_intended_coordinates_of_every_modulation_input(spec):
    model = random_dit()
    x, t, y = inputs()
    with torch.no_grad():
        c = c_of(model, t, y)
        expected = c.masked_fill(prune.spec_mask(c, spec), 0.0)
        with Pruner(model, spec, num_steps=1):
            seen, handles = capture_inputs(model)
            model(x, t, y)
        for h in handles:
            h.remove()
    assert len(seen) == CONFIG.depth + 1  # every block and the final layer
    assert prune.spec_mask(c, spec).any()
    for got in seen:
        assert torch.equal(got, expected)


def test_global_reading_uses_one_fixed_mask_from_the_mean_c_at_t0():
    model = random_dit()
    embedding = ConditionEmbedding.from_state_dict(model.state_dict(), t0=999)
    spec = PruneSpec("tail", fraction=0.5, reading="global")
    mask = prune.global_mask(embedding, spec)
    assert mask.shape == (CONFIG.hidden_size,) and int(mask.sum()) == 8
    assert torch.equal(mask, prune.spec_mask(embedding.c(999).mean(0), spec))
    x, t, y = inputs()
    with torch.no_grad(), Pruner(model, spec, 1, mask=mask):
        seen, handles = capture_inputs(model)
        model(x, t, y)
    for h in handles:
        h.remove()
    assert (seen[0][:, mask] == 0).all() and (seen[0][:, ~mask] != 0).all()
    with pytest.raises(ValueError, match="mask must be given"):
        Pruner(model, spec, 1)


def test_model_is_untouched_after_exit_even_when_the_body_raises():
    model = random_dit()
    x, t, y = inputs()
    with torch.no_grad():
        before = model(x, t, y)
        with pytest.raises(RuntimeError, match="boom"):
            with Pruner(model, PruneSpec("tail", fraction=0.5), 1):
                assert not torch.equal(model(x, t, y), before)
                raise RuntimeError("boom")
        after = model(x, t, y)
    assert torch.equal(before, after)
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("spec", [PruneSpec("tail", fraction=0.0), PruneSpec("tail", tau=1e-30),
                                  PruneSpec("head", tau=1e30)])
def test_nothing_pruned_gives_bitwise_identical_samples(spec):
    model = random_dit()
    config = presets.SamplerConfig("test", "ddim", 5, 3.0)
    base = generate(model, range(6), 0, config, ClassLabels(5), progress=False).images
    with Pruner(model, spec, 5) as pruner:
        pruned = generate(model, range(6), 0, config, ClassLabels(5), progress=False, step_callback=pruner).images
    assert pruner.mask_computations == 5
    assert torch.equal(base, pruned)


@pytest.mark.parametrize("schedule,k,steps", [("every_step", 1, [0, 1, 2, 3, 4]), ("first_step", 1, [0]),
                                              ("last_k_steps", 2, [3, 4])])
def test_the_mask_is_computed_once_per_pruned_step_and_only_there(schedule, k, steps):
    model = random_dit()
    config = presets.SamplerConfig("test", "ddim", 5, 3.0)
    with Pruner(model, PruneSpec("tail", fraction=0.3, schedule=schedule, k=k), 5) as pruner:
        generate(model, range(4), 0, config, ClassLabels(5), progress=False, step_callback=pruner)
    assert pruner.mask_computations == len(steps)  # not once per layer (4 hooks per forward)
    assert [s for s, _, _ in pruner.records] == steps
    assert all(zeroed == 5 * rows for _, zeroed, rows in pruner.records)  # round(0.3 * 16) per row


def test_schedules_other_than_every_step_need_the_step_callback():
    model = random_dit()
    x, t, y = inputs()
    with Pruner(model, PruneSpec("tail", fraction=0.3, schedule="first_step"), 5), pytest.raises(RuntimeError):
        model(x, t, y)


@pytest.mark.parametrize("spec", [None, PruneSpec("tail", fraction=0.4), PruneSpec("head", fraction=0.15),
                                  PruneSpec("tail", fraction=0.4, schedule="last_k_steps", k=2)])
def test_diffusers_hook_path_matches_the_official_layout_path(spec):
    model = random_dit(config=DiTConfig(**{**CONFIG.__dict__, "in_channels": 4, "learn_sigma": True}))
    converted = to_diffusers(model)
    assert prune.hook_points(converted)[0] == "output" and len(prune.hook_points(converted)[1]) == CONFIG.depth
    config = presets.SamplerConfig("test", "ddim", 5, 3.0)
    outs = []
    for net in (model, converted):
        if spec is None:
            outs.append(generate(net, range(4), 0, config, ClassLabels(5), progress=False).images)
            continue
        with Pruner(net, spec, 5) as pruner:
            outs.append(generate(net, range(4), 0, config, ClassLabels(5), progress=False, step_callback=pruner).images)
        assert pruner.mask_computations == len(prune.active_steps(spec.schedule, 5, spec.k))
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-5)


def test_a_model_without_modulation_layers_is_rejected():
    with pytest.raises(ValueError, match="adaLN_modulation"):
        prune.hook_points(torch.nn.Linear(2, 2))


def test_last_k_rows_restarted_from_the_baseline_state_equal_full_runs():
    model = random_dit()
    config = presets.SamplerConfig("test", "ddim", 5, 3.0)
    spec = PruneSpec("tail", fraction=0.5, schedule="last_k_steps", k=2)
    state = generate(model, range(6), 0, config, ClassLabels(5), record_steps=[3], progress=False).states[3]
    with Pruner(model, spec, 5) as pruner:
        full = generate(model, range(6), 0, config, ClassLabels(5), step_callback=pruner, progress=False).images
    with Pruner(model, spec, 5) as pruner:
        resumed = generate(model, range(6), 0, config, ClassLabels(5), step_callback=pruner, resume=(3, state),
                                  progress=False).images
    assert torch.equal(full, resumed)


@pytest.mark.parametrize("branch", ["both", "conditional"])
def test_the_branch_reading_prunes_the_conditional_rows_only_or_all_and_counts_the_conditional_ones(branch):
    model = random_dit()
    config = presets.SamplerConfig("test", "ddim", 2, 3.0)  # guided: each forward is 3 conditional + 3 null rows
    seen = []
    first = prune.hook_points(model)[1][0]
    with Pruner(model, PruneSpec("head", fraction=0.25, branch=branch), 2) as pruner:
        handle = first.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
        generate(model, range(3), 0, config, ClassLabels(5), progress=False, step_callback=pruner,
                 rows_callback=pruner.set_conditional_rows)
        handle.remove()
    c = seen[0]  # the first step's c as block 0 sees it, after pruning
    assert c.shape == (6, 16) and pruner.conditional_rows == 3
    zeros = (c == 0).sum(-1)
    assert zeros[:3].tolist() == [4, 4, 4]  # 25% of D = 4 head coordinates zeroed in every conditional row
    assert (zeros[3:] == 0).all() if branch == "conditional" else zeros[3:].tolist() == [4, 4, 4]
    assert pruner.removed_dims() == 4.0  # counted over the conditional rows, whatever the branch


def test_the_conditional_branch_needs_the_samplers_rows_callback():
    model = random_dit()
    config = presets.SamplerConfig("test", "ddim", 2, 3.0)
    with pytest.raises(RuntimeError, match="rows_callback"):
        with Pruner(model, PruneSpec("tail", fraction=0.5, branch="conditional"), 2) as pruner:
            generate(model, range(2), 0, config, ClassLabels(5), progress=False, step_callback=pruner)
    with pytest.raises(ValueError, match="branch must be one of both, conditional"):
        PruneSpec("tail", fraction=0.5, branch="unconditional")


def test_removed_dimensions_are_counted_per_row_whatever_the_batches():
    from semantic_bottleneck.condition.prune import removed_per_row

    assert removed_per_row([(0, 10, 2), (0, 3, 1)]) == pytest.approx(13 / 3)  # not the mean of 5 and 3
    assert removed_per_row([]) == 0.0
