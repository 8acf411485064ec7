"""MDSGen and its tiny analog: the official layout, the condition path, the null condition, c read and pruned by the
existing hooks, strict loading, CAVP files, AudioLDM's decoder and vocoder (small random stand-ins, offline)."""
import numpy as np
import pytest
import torch
from torch import nn

from semantic_bottleneck.checkpoints.mdsgen import (CAVP_DIM, AudioLdmDecoder, CavpFeatures, HifiGanSound, LOG_MEL_LOW,
                                                    load_mdsgen, read_cavp, to_unit)
from semantic_bottleneck.condition.hooks import CaptureC, hook_points
from semantic_bottleneck.condition.prune import Pruner, PruneSpec
from semantic_bottleneck.nets.mdsgen import MDSGen, MDSGenConfig, TinyMDSGen, TinyMDSGenConfig, VideoCondition, infer_config
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")

# MDSGen-B/2 as triton99/MDSGen's `MDSGen_B_2(decode_layer=4)` builds it (checked against the official code on random
# weights: the same 177 tensors, outputs equal to 8e-7): 12 blocks + 1 sideblock of width 768, 102 x 8 tokens.
B2_SHAPES = {"x_embedder.proj.weight": (768, 8, 2, 2), "pos_embed": (1, 816, 768), "decoder_pos_embed": (1, 816, 768),
             "t_embedder.mlp.0.weight": (768, 204), "mlp_feat.0.weight": (768, 512), "mlp_feat.2.weight": (768,),
             "conv1d_feat.0.weight": (1, 32, 1), "conv1d_feat.0.bias": (1,), "conv1d_feat.2.bias": (768,),
             "blocks.11.attn.rel_pos_bias.relative_position_bias_table": (203 * 15 + 3, 12),
             "blocks.0.attn.rel_pos_bias.relative_position_index": (816, 816), "sideblocks.0.attn.qkv.weight": (2304, 768),
             "final_layer.linear.weight": (64, 768), "mask_token": (1, 1, 768)}
TINY = TinyMDSGenConfig(hidden_size=32, depth=2, num_heads=2)


def batch(n, frames=16, features=32, keep=1.0, seed=0):
    """A condition batch of random video features."""
    g = torch.Generator().manual_seed(seed)
    return {"frames": torch.randn(n, frames, features, generator=g), "keep": torch.full((n,), keep)}


def test_mdsgen_b2_has_the_official_names_and_shapes():
    with torch.device("meta"):
        state = MDSGen(MDSGenConfig()).state_dict()
    assert len(state) == 177 and {k: tuple(state[k].shape) for k in B2_SHAPES} == B2_SHAPES
    assert not any(k.startswith("y_embedder") for k in state)
    assert infer_config(state, 4, (102, 8)) == MDSGenConfig()


@pytest.mark.parametrize("build", [lambda: TinyMDSGen(TINY), lambda: helpers.random_mdsgen()], ids=["tiny", "mdsgen"])
def test_both_models_form_y_with_mdsgens_condition_path(build):
    model = build()
    assert isinstance(model, VideoCondition)
    assert [type(m) for m in model.mlp_feat] == [nn.Linear, nn.GELU, nn.LayerNorm] and model.mlp_feat[2].eps == 1e-12
    assert [type(m) for m in model.conv1d_feat] == [nn.Conv1d, nn.GELU, nn.LayerNorm]
    conv = model.conv1d_feat[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (model.config.frames, 1, (1,))
    assert model.t_embedder.frequency_embedding_size == 204 and model.t_embedder.mlp[0].in_features == 204
    y = batch(3, model.config.frames, model.config.feature_dim)
    by_hand = model.conv1d_feat(model.mlp_feat(y["frames"])).squeeze(1)  # frames are the conv's channels
    torch.testing.assert_close(model.embed_condition(y), by_hand)
    with pytest.raises(ValueError, match="frames must be"):
        model.embed_condition(batch(3, model.config.frames + 1, model.config.feature_dim))


def test_the_null_condition_zeroes_y_and_ignores_the_frames():
    model = helpers.randomize(lambda: TinyMDSGen(TINY), std=0.2)
    assert torch.equal(model.embed_condition(batch(2, keep=0.0)), torch.zeros(2, 32))
    x, t = torch.randn(2, 1, 32, 32), torch.tensor([999, 10])
    with torch.no_grad():
        null_a, null_b = model(x, t, batch(2, keep=0.0, seed=1)), model(x, t, batch(2, keep=0.0, seed=2))
        cond = model(x, t, batch(2, seed=1))
    assert torch.equal(null_a, null_b) and not torch.allclose(null_a, cond)
    model.train()  # the official forward drops the condition at random (prob=0.1) unless told not to; ours never does
    with torch.no_grad():
        torch.testing.assert_close(model(x, t, batch(2, seed=1)), cond)


def test_c_is_read_and_pruned_by_the_existing_hooks():
    model = helpers.randomize(lambda: TinyMDSGen(TINY), std=0.2)
    y, t = batch(4), torch.full((4,), 999)
    kind, modules = hook_points(model)
    assert kind == "input" and len(modules) == TINY.depth + 1  # every block and the final layer
    with CaptureC(model) as capture, torch.no_grad():
        model(torch.randn(4, 1, 32, 32), t, y)
    c = capture.stacked()
    torch.testing.assert_close(c, model.embed_condition(y) + model.t_embedder(t))
    torch.testing.assert_close(model.condition_embedding(y, t0=999).c(999), c, rtol=1e-5, atol=1e-5)
    spec = PruneSpec("head", fraction=4 / 32)
    with Pruner(model, spec, num_steps=1) as pruner, CaptureC(model) as pruned, torch.no_grad():
        model(torch.randn(4, 1, 32, 32), t, y)
    largest = c.abs().topk(4, dim=1).indices
    assert torch.equal(pruned.stacked().gather(1, largest), torch.zeros(4, 4)) and pruner.removed_dims() == 4
    kept = torch.ones_like(c, dtype=torch.bool).scatter_(1, largest, False)
    assert torch.equal(pruned.stacked()[kept], c[kept])


def test_an_official_layout_checkpoint_loads_strictly_and_a_foreign_one_is_refused(tmp_path):
    source = helpers.random_mdsgen()
    torch.save(source.state_dict(), tmp_path / "mdsgen.pt")
    loaded = load_mdsgen(tmp_path / "mdsgen.pt", decode_layer=1)
    assert loaded.grid == (102, 8) and loaded.config.decode_layer == 1 and loaded.config.num_heads == 2
    x, t, y = torch.randn(1, 8, 204, 16), torch.tensor([500.0]), batch(1, 32, CAVP_DIM)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x, t, y), source.eval()(x, t, y))
    torch.save({k: v for k, v in source.state_dict().items() if not k.startswith("conv1d_feat")}, tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="not an MDSGen checkpoint"):
        load_mdsgen(tmp_path / "bad.pt", decode_layer=1)
    torch.save({**source.state_dict(), "extra.weight": torch.zeros(1)}, tmp_path / "extra.pt")
    with pytest.raises(ValueError, match="does not fit the MDSGen layout"):
        load_mdsgen(tmp_path / "extra.pt", decode_layer=1)


def test_cavp_files_give_the_first_32_frames_per_index_and_a_null_that_keeps_them(tmp_path):
    paths = helpers.write_cavp(tmp_path, 3, frames=40)
    source = CavpFeatures(paths)
    got = source.for_indices([0, 4, 2])  # index mod 3
    assert got["frames"].shape == (3, 32, CAVP_DIM) and torch.equal(got["keep"], torch.ones(3))
    assert torch.equal(got["frames"][1], torch.from_numpy(np.load(paths[1])["arr_0"][:32]))
    null = source.null_like(got)
    assert torch.equal(null["frames"], got["frames"]) and torch.equal(null["keep"], torch.zeros(3))
    assert source.size == 3 and "3 CAVP feature file(s)" in source.describe(6) and source.labels([0]) == {}
    np.savez(tmp_path / "short.npz", np.zeros((20, CAVP_DIM), np.float32))
    with pytest.raises(ValueError, match="at least 32 frames"):
        read_cavp(tmp_path / "short.npz")
    np.savez(tmp_path / "other.npz", features=np.zeros((40, CAVP_DIM), np.float32))
    with pytest.raises(ValueError, match="must hold `arr_0`"):
        read_cavp(tmp_path / "other.npz")


def test_audioldms_decoder_and_vocoder_turn_latents_into_16_khz_sound(tmp_path):
    from diffusers import AutoencoderKL
    from transformers import SpeechT5HifiGan

    helpers.write_audioldm(tmp_path)
    decoder = AudioLdmDecoder(AutoencoderKL.from_pretrained(tmp_path / "vae"))
    assert decoder.scale == 4  # the official inference divides by pipe.vae_scale_factor, 2 ** (3 levels - 1)
    mel = decoder(torch.randn(2, 8, 204, 16))
    assert mel.shape == (2, 1, 816, 64) and mel.min() >= -1 and mel.max() <= 1
    sound = HifiGanSound(SpeechT5HifiGan.from_pretrained(tmp_path / "vocoder"))
    assert sound.rate == 16000 and sound(mel).shape == (2, 816 * 160 + 32)
    assert to_unit(torch.tensor([LOG_MEL_LOW - 1.0, LOG_MEL_LOW])).tolist() == [-1.0, -1.0]
