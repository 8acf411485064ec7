"""The tiny DiT: official names and shapes, DiT's sinusoid, and c as the blocks receive it."""
import math

import torch

from semantic_bottleneck.condition.embedding import ConditionEmbedding, timestep_sinusoid
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from helpers import random_dit

CONFIG = DiTConfig(image_size=8, patch_size=2, hidden_size=32, depth=2, num_heads=2, num_classes=7)


def test_state_dict_uses_the_official_names_and_shapes():
    shapes = {k: tuple(v.shape) for k, v in DiT(CONFIG).state_dict().items()}
    assert shapes["y_embedder.embedding_table.weight"] == (8, 32)  # classes + null row
    assert shapes["t_embedder.mlp.0.weight"] == (32, 256)
    assert shapes["t_embedder.mlp.2.weight"] == (32, 32)
    assert shapes["blocks.1.adaLN_modulation.1.weight"] == (6 * 32, 32)
    assert shapes["final_layer.adaLN_modulation.1.weight"] == (2 * 32, 32)
    assert shapes["x_embedder.proj.weight"] == (32, 3, 2, 2)
    assert shapes["blocks.0.attn.qkv.weight"] == (96, 32)


def test_strict_round_trip_and_output_shape():
    model, other = DiT(CONFIG), DiT(CONFIG)
    other.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(3, 3, 8, 8)
    assert model(x, torch.tensor([0, 500, 999]), torch.tensor([0, 3, 7])).shape == (3, 3, 8, 8)


def test_sinusoid_matches_dit_formula():
    emb = timestep_sinusoid(torch.tensor([999.0]), 256)[0]
    for i in (0, 1, 64, 127):
        freq = math.exp(-math.log(10000) * i / 128)
        assert abs(emb[i].item() - math.cos(999 * freq)) < 1e-4  # float32 arguments near 999 rad
        assert abs(emb[128 + i].item() - math.sin(999 * freq)) < 1e-4


def test_diffusers_shift_changes_the_sinusoid():
    t = torch.tensor([999.0])
    assert (timestep_sinusoid(t, freq_shift=1.0) - timestep_sinusoid(t)).abs().max() > 0.5


def test_condition_embedding_equals_c_that_the_blocks_receive():
    model = random_dit(CONFIG, std=0.3)  # adaLN-Zero starts at zero; give every weight a value
    seen = []
    model.blocks[1].adaLN_modulation.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    labels, t = torch.tensor([0, 4, 7]), torch.tensor([999, 999, 999])
    model(torch.randn(3, 3, 8, 8), t, labels)
    emb = ConditionEmbedding.from_state_dict(model.state_dict())
    assert emb.num_classes == 7
    expected = torch.cat([emb.c(999, [0, 4]), emb.label([7]) + emb.time([999])])
    torch.testing.assert_close(seen[0], expected, rtol=1e-5, atol=1e-5)


def test_label_dropout_only_in_training_mode():
    model = DiT(DiTConfig(image_size=8, patch_size=2, hidden_size=16, depth=1, num_heads=2, num_classes=3,
                              class_dropout_prob=1.0))
    labels = torch.tensor([0, 1, 2])
    model.train()
    assert torch.equal(model.y_embedder(labels), model.y_embedder.embedding_table.weight[[3, 3, 3]])
    model.eval()
    assert torch.equal(model.y_embedder(labels), model.y_embedder.embedding_table.weight[[0, 1, 2]])


def test_position_embedding_matches_the_dit_layout_that_diffusers_rebuilds():
    from diffusers.models.embeddings import get_2d_sincos_pos_embed
    from semantic_bottleneck.nets.dit import sincos_pos_embed_2d

    expected = get_2d_sincos_pos_embed(64, 4, base_size=4, output_type="pt").float()
    torch.testing.assert_close(sincos_pos_embed_2d(64, 4), expected)
