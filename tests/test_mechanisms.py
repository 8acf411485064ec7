"""The mechanisms chapter's tiny models: one task conditioned three ways, sharing all but the conditioning path."""
from dataclasses import asdict, replace

import pytest
import torch

from semantic_bottleneck.chapters.mechanisms import study as mechanisms_study
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.condition.hooks import CaptureC, hook_points
from semantic_bottleneck.condition.prune import PruneSpec, Pruner, spec_mask
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.nets.architectures import build_network
from semantic_bottleneck.nets.mechanisms import CrossAttentionConfig, CrossAttentionDiT, InContextConfig, InContextDiT
from semantic_bottleneck.tiny.classes.class_model import tiny_train_config
from semantic_bottleneck.tiny.classes.mechanism_models import MechanismVectors, mechanism_train_config
from semantic_bottleneck.tiny.train import TrainConfig, train_tiny_dit

SMALL = dict(hidden_size=32, depth=2, num_heads=2, num_classes=5)


def networks():
    """The three small networks, each built from the same seed."""
    out = {}
    for name, config in (("adaLN-Zero", DiTConfig(**SMALL)), ("in-context", InContextConfig(**SMALL)),
                         ("cross-attention", CrossAttentionConfig(**SMALL, context_tokens=3))):
        torch.manual_seed(0)
        out[name] = build_network(config).eval()
    return out


def _randomise(network):
    """Non-zero weights everywhere (the zero-initialised output and gates would hide every difference)."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in network.parameters():
            p.normal_(0, 0.2)
    return network


def count(network, predicate=lambda name: True):
    return sum(p.numel() for n, p in network.named_parameters() if predicate(n))


def test_the_networks_share_everything_but_the_conditioning_path():
    nets = networks()
    shapes = {name: {k: v.shape for k, v in net.state_dict().items()} for name, net in nets.items()}
    shared = ("x_embedder.", "t_embedder.", "pos_embed", ".attn.", ".mlp.", "final_layer.linear.")
    for name, keys in shapes.items():
        assert {k: s for k, s in keys.items() if k.startswith(shared) or any(p in k for p in shared)} == {
            k: s for k, s in shapes["adaLN-Zero"].items() if k.startswith(shared) or any(p in k for p in shared)}, name
    d, k, depth = SMALL["hidden_size"], SMALL["num_classes"], SMALL["depth"]
    dit, in_context, cross = nets["adaLN-Zero"], nets["in-context"], nets["cross-attention"]
    # in-context: DiT without its modulation layers, with affine LayerNorms (2 per block and the final one)
    assert count(in_context) == count(dit) - count(dit, lambda n: "adaLN_modulation" in n) + (2 * depth + 1) * 2 * d
    # cross-attention: DiT plus q, kv, proj and a LayerNorm per block, and a label table L times as wide
    added = depth * ((d * d + d) + (2 * d * d + 2 * d) + (d * d + d) + 2 * d) + (k + 1) * d * (3 - 1)
    assert count(cross) == count(dit) + added


def test_the_training_configurations_differ_only_in_the_model_fields():
    for mechanism in ("in-context", "cross-attention"):
        config = mechanism_train_config(mechanism, "tiny")
        assert replace(config, model=tiny_train_config("tiny").model) == tiny_train_config("tiny")
        fields = asdict(config.model)
        assert {key: fields[key] for key in asdict(DiTConfig())} == asdict(tiny_train_config("tiny").model)
    assert mechanism_train_config("in-context", "tiny").as_dict() != tiny_train_config("tiny").as_dict()  # own cache
    with pytest.raises(ValueError, match="mechanism must be one of in-context, cross-attention; got 'film'"):
        mechanism_train_config("film", "tiny")


def test_one_training_loop_trains_every_mechanism(tmp_cache):
    for config in (DiTConfig(**SMALL), InContextConfig(**SMALL), CrossAttentionConfig(**SMALL)):
        model, log = train_tiny_dit(TrainConfig(model=config, steps=4, batch_size=8, log_every=2), progress=False)
        assert type(model) is type(build_network(config)) and len(log) == 2 and log["cosine_mean"].notna().all()
        assert any(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("mechanism", ["adaLN-Zero", "in-context", "cross-attention"])
def test_the_captured_vector_is_the_one_named(mechanism):
    net = _randomise(networks()[mechanism])
    x, t, y = torch.randn(4, 3, 16, 16), torch.tensor([999, 999, 999, 999]), torch.tensor([0, 1, 2, 4])
    with CaptureC(net) as capture:
        net(x, t, y)
    captured = capture.stacked()
    if mechanism == "adaLN-Zero":
        vectors = ConditionEmbedding.from_state_dict(net.state_dict(), t0=999)
        expected = vectors.c(999, y)
        width = SMALL["hidden_size"]
    else:
        vectors = MechanismVectors(net, mechanism, {"t0": 999})
        expected = vectors.c(999, y)
        width = {"in-context": 2, "cross-attention": 3}[mechanism] * SMALL["hidden_size"]
    assert captured.shape == (4, width) and vectors.dim == width
    torch.testing.assert_close(captured, expected, rtol=1e-5, atol=1e-6)
    if mechanism == "in-context":  # [t; y], and the paper's "y + t" reading is their sum
        torch.testing.assert_close(expected[:, :32], vectors.time([999.0]).expand(4, -1))
        torch.testing.assert_close(vectors.summed(999)[y], vectors.time([999.0]) + vectors.label(y))
    if mechanism == "cross-attention":  # the context is y alone: the same at every t
        torch.testing.assert_close(vectors.c(10, y), expected)
        assert vectors.summed(999) is None


@pytest.mark.parametrize("mechanism", ["in-context", "cross-attention"])
def test_pruning_zeroes_the_entering_vector_and_nothing_else(mechanism):
    net = _randomise(networks()[mechanism])
    kind, points = hook_points(net)
    assert kind == "input" and points == [net.condition_entry]
    x, t, y = torch.randn(3, 3, 16, 16), torch.tensor([999, 500, 3]), torch.tensor([0, 2, 5])
    spec = PruneSpec("tail", fraction=0.5)
    with Pruner(net, spec, num_steps=1):
        pruned = net(x, t, y)
    vectors = net.condition_vectors(t, y)
    mask = spec_mask(vectors, spec)
    assert mask.sum(1).tolist() == [vectors.shape[1] // 2] * 3
    entry = net.condition_entry
    net.condition_entry = torch.nn.Identity()
    handle = net.condition_entry.register_forward_hook(lambda m, args, out: out.masked_fill(mask, 0.0))
    by_hand = net(x, t, y)
    handle.remove()
    net.condition_entry = entry
    torch.testing.assert_close(pruned, by_hand)
    assert not torch.allclose(pruned, net(x, t, y))
    if mechanism == "cross-attention":  # t's adaLN input is untouched by the pruner
        seen = []
        hook = net.blocks[0].adaLN_modulation.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
        with Pruner(net, spec, num_steps=1):
            net(x, t, y)
        hook.remove()
        torch.testing.assert_close(seen[0], net.t_embedder(t))


def test_statistics_name_each_mechanisms_readings():
    nets = {name: _randomise(net) for name, net in networks().items()}
    embeddings = {"adaLN-Zero": ConditionEmbedding.from_state_dict(nets["adaLN-Zero"].state_dict(), t0=999),
                  "in-context": MechanismVectors(nets["in-context"], "in-context", {"t0": 999}),
                  "cross-attention": MechanismVectors(nets["cross-attention"], "cross-attention", {"t0": 999})}
    table = mechanisms_study.statistics_table(embeddings, [0.01], 0.05)
    assert list(table.index) == [("adaLN-Zero", "entering vector"), ("adaLN-Zero", "y + t (sum)"),
                                 ("adaLN-Zero", "y only"), ("in-context", "entering vector"),
                                 ("in-context", "y + t (sum)"), ("in-context", "y only"),
                                 ("cross-attention", "entering vector"), ("cross-attention", "y only")]
    assert table["width"].tolist() == [32, 32, 32, 64, 32, 32, 96, 96]
    assert table["cosine_mean"].between(-1, 1).all() and table["npr_mean_over_classes"].between(0, 1).all()
    with pytest.raises(ValueError, match="mechanism must be one of"):
        mechanisms_study.readings("film", embeddings["in-context"], 999)


def test_build_network_rejects_an_unknown_configuration():
    assert isinstance(build_network(InContextConfig(**SMALL)), InContextDiT)
    assert isinstance(build_network(CrossAttentionConfig(**SMALL)), CrossAttentionDiT)
    assert type(build_network(DiTConfig(**SMALL))) is DiT
    with pytest.raises(ValueError, match=r"config must be one of DiTConfig, .*InContextConfig.*; got TrainConfig"):
        build_network(TrainConfig())
