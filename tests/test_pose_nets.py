"""X-MDPT's conditioning path: the official layout and names, the null condition, and c read and pruned by the hooks."""
import pytest
import torch

from semantic_bottleneck.condition.hooks import CaptureC
from semantic_bottleneck.condition.prune import Pruner, PruneSpec
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.nets.xmdpt import (CONFIGS, PairEmbedding, TinyXMDPT, TinyXMDPTConfig, XMDPT, XMDPTConfig,
                                            infer_config)
from semantic_bottleneck.sampling.generate import generate
from semantic_bottleneck.sampling.presets import preset
from helpers import randomize, random_pose_batch

pytestmark = pytest.mark.usefixtures("one_thread")

# X-MDPT-S/2 as trungpx/xmdpt's `XMDPT_S_2(input_size=32, decode_layer=2)` builds it: 207 tensors, e.g.
S_SHAPES = {"mlp_dino_pose.0.weight": (384, 768), "mlp_dino_pose.2.weight": (384,), "conv1d_pose.0.weight": (1, 257, 1),
            "mlp_dino_img.0.weight": (384, 1536), "conv1d_global.0.bias": (1,), "conv1d_local.0.weight": (1, 256, 1),
            "mlp_final.0.weight": (384, 384), "mlp_final.2.bias": (384,), "sideblocks_cross.0.attn.to_kv.weight": (768, 384),
            "sideblocks_cross.0.attn.rel_pos_bias.relative_position_bias_table": (964, 6),
            "sideblocks.0.attn.qkv.weight": (1152, 384), "blocks.11.adaLN_modulation.1.weight": (2304, 384),
            "decoder_pos_embed": (1, 256, 384), "mask_token": (1, 1, 384), "final_layer.linear.weight": (32, 384)}
TINY = TinyXMDPTConfig(hidden_size=32, depth=2, num_heads=2, pose_token_count=5, pose_token_width=6,
                       source_token_count=7, source_token_width=8)
SMALL = XMDPTConfig(image_size=8, hidden_size=32, depth=3, num_heads=2, pose_token_count=5, pose_token_width=6,
                    source_token_count=7, source_token_width=8)


def test_the_official_layout_has_the_official_names_shapes_and_sizes():
    with torch.device("meta"):
        states = {name: XMDPT(config).state_dict() for name, config in CONFIGS.items()}
    s = states["X-MDPT-S/2"]
    assert len(s) == 207 and len(states["X-MDPT-L/2"]) == 351  # key counts of the official modules (checked)
    assert {k: tuple(s[k].shape) for k in S_SHAPES} == S_SHAPES
    assert not any(k.startswith("y_embedder") for k in s)  # y comes from the cross-view path only
    for name, state in states.items():
        assert infer_config(state) == CONFIGS[name]
    inference = sum(v.numel() for k, v in states["X-MDPT-L/2"].items()
                    if not k.startswith(("sideblocks", "mask_token")) and "index" not in k)
    assert inference == pytest.approx(460.2e6, rel=0.003)  # the README's 460.2M parameters of X-MDPT-L
    with pytest.raises(ValueError, match="class_conditional must be False"):
        XMDPT(XMDPTConfig(class_conditional=True))


def test_y_fuses_the_three_views_and_the_null_condition_zeroes_it():
    model = randomize(lambda: TinyXMDPT(TINY), std=0.2)
    batch = random_pose_batch(TINY, 3)
    y = model.embed_condition(batch)
    assert y.shape == (3, 32)
    for key in ("pose_tokens", "source_tokens", "source_latent"):  # each view changes y
        changed = {**batch, key: batch[key] + 1.0}
        assert not torch.allclose(model.embed_condition(changed), y), key
    null = {**batch, "keep": torch.zeros(3)}
    assert torch.equal(model.embed_condition(null), torch.zeros(3, 32))
    x, t = torch.randn(3, 4, 6, 6), torch.tensor([999, 500, 0])
    with CaptureC(model) as capture:
        model(x, t, null)
    torch.testing.assert_close(capture.stacked(), model.t_embedder(t))  # c = t_emb when y is zeroed
    with pytest.raises(ValueError, match="it lacks keep"):
        model.embed_condition({k: v for k, v in batch.items() if k != "keep"})


def test_each_row_of_a_batch_is_conditioned_on_its_own_pair_only():
    model = randomize(lambda: TinyXMDPT(TINY), std=0.2)
    batch = random_pose_batch(TINY, 4)
    together = model.embed_condition(batch)
    alone = torch.cat([model.embed_condition({k: v[i:i + 1] for k, v in batch.items()}) for i in range(4)])
    torch.testing.assert_close(together, alone)  # the official `.squeeze()` drops the batch axis at N = 1; ours not


def test_with_the_path_removed_the_tiny_model_computes_what_a_dit_computes():
    model = randomize(lambda: TinyXMDPT(TINY), std=0.2)
    dit = DiT(DiTConfig(image_size=6, patch_size=1, in_channels=4, hidden_size=32, depth=2, num_heads=2,
                        num_classes=1)).eval()
    dit.load_state_dict({**{k: v for k, v in model.state_dict().items() if not k.startswith(("mlp_", "conv1d_"))},
                         "y_embedder.embedding_table.weight": torch.zeros(2, 32)}, strict=True)
    batch = {**random_pose_batch(TINY, 2), "keep": torch.zeros(2)}
    x, t = torch.randn(2, 4, 6, 6), torch.tensor([999, 10])
    torch.testing.assert_close(model(x, t, batch), dit(x, t, torch.zeros(2, dtype=torch.long)))


def test_the_hooks_read_c_where_it_enters_and_prune_it_in_both_models():
    for model, shape in ((randomize(lambda: TinyXMDPT(TINY), std=0.2), (4, 6, 6)),
                         (randomize(lambda: XMDPT(SMALL), std=0.2), (4, 8, 8))):
        batch = random_pose_batch(model.config, 2)
        x, t = torch.randn(2, *shape), torch.tensor([999, 999])
        with CaptureC(model) as capture:
            model(x, t, batch)
        torch.testing.assert_close(capture.stacked(), PairEmbedding(model, batch).c(999))
        seen = []
        with Pruner(model, PruneSpec("tail", fraction=0.5), num_steps=1):  # the spy runs after the pruner's hook
            handle = model.blocks[0].adaLN_modulation.register_forward_pre_hook(lambda m, a: seen.append(a[0].clone()))
            pruned = model(x, t, batch)
        handle.remove()
        assert (seen[0] == 0).sum(1).tolist() == [16, 16]  # half of d = 32 zeroed in every row
        assert not torch.allclose(pruned, model(x, t, batch))


def test_the_side_interpolator_blocks_are_held_but_never_run():
    model = randomize(lambda: XMDPT(SMALL), std=0.2)
    calls = []
    for block in (*model.sideblocks, *model.sideblocks_cross):
        block.adaLN_modulation.register_forward_hook(lambda m, i, o: calls.append(1))
    model(torch.randn(1, 4, 8, 8), torch.tensor([5]), random_pose_batch(SMALL, 1))
    assert calls == []


def test_the_tiny_model_samples_with_guidance_from_a_condition_source():
    model = randomize(lambda: TinyXMDPT(TINY), std=0.05)

    class Pairs:
        """A source giving each index its own random pair."""

        def for_indices(self, indices):
            return random_pose_batch(TINY, len(indices), seed=int(indices[0]))

        def null_like(self, batch):
            return {**batch, "keep": torch.zeros_like(batch["keep"])}

    guided = generate(model, range(3), 0, preset("tiny-pose-ddim-10"), Pairs(), progress=False).images
    unguided = generate(model, range(3), 0, preset("tiny-pose-ddim-10-unguided"), Pairs(), progress=False).images
    assert guided.shape == (3, 4, 6, 6) and not torch.allclose(guided, unguided)
