"""MDT v1 (the backbone of X-MDPT and MDSGen): the official layout, relative-position attention, loading, sampling."""
import pytest
import torch

from semantic_bottleneck.checkpoints.load import load_official
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.nets.mdt import MDT, MDTConfig, RelativePositionBias, infer_config
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.generate import generate
from semantic_bottleneck.sampling.presets import preset
from helpers import randomize

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = MDTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=3, num_heads=2, num_classes=5,
                  decode_layer=1)
# MDT-XL/2 as sail-sg/MDT's v1 `MDT_XL_2(input_size=32, decode_layer=2)` builds it: 362 tensors, e.g.
XL_SHAPES = {"blocks.0.attn.rel_pos_bias.relative_position_bias_table": (964, 16),
             "blocks.27.attn.rel_pos_bias.relative_position_index": (256, 256), "sideblocks.0.attn.qkv.weight": (3456, 1152),
             "decoder_pos_embed": (1, 256, 1152), "mask_token": (1, 1, 1152), "y_embedder.embedding_table.weight": (1001, 1152),
             "final_layer.linear.weight": (32, 1152), "pos_embed": (1, 256, 1152)}


def test_the_xl2_layout_has_the_official_names_and_shapes():
    with torch.device("meta"):
        state = MDT(MDTConfig()).state_dict()
    assert len(state) == 362 and {k: tuple(state[k].shape) for k in XL_SHAPES} == XL_SHAPES
    assert infer_config(state) == MDTConfig()


def test_the_relative_position_index_counts_row_then_column_offsets():
    bias = RelativePositionBias((2, 3), num_heads=1)  # 3 row x 5 column offsets (+ 3 unused rows)
    index = bias.relative_position_index  # tokens row-major: (0,0) (0,1) (0,2) (1,0) (1,1) (1,2)
    assert index.shape == (6, 6) and bias.relative_position_bias_table.shape == (3 * 5 + 3, 1)
    assert index[0, 0] == (0 + 1) * 5 + (0 + 2)  # offset (0, 0)
    assert index[5, 0] == (1 + 1) * 5 + (2 + 2) and index[0, 5] == (-1 + 1) * 5 + (-2 + 2)
    assert index[4, 3] == index[1, 0]  # the same offset (0, +1) shares its bias wherever it occurs


def test_with_a_zero_bias_and_decoder_embedding_mdt_computes_what_dit_computes():
    mdt = randomize(lambda: MDT(SMALL), std=0.2)
    with torch.no_grad():
        for block in mdt.blocks:
            block.attn.rel_pos_bias.relative_position_bias_table.zero_()
        mdt.decoder_pos_embed.zero_()
    dit = DiT(DiTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=3, num_heads=2, num_classes=5,
                        learn_sigma=True)).eval()
    state = {k: v for k, v in mdt.state_dict().items()
             if not k.startswith(("sideblocks.", "decoder_pos_embed", "mask_token")) and "rel_pos_bias" not in k}
    dit.load_state_dict(state, strict=True)
    x, t, y = torch.randn(2, 4, 8, 8), torch.tensor([999, 10]), torch.tensor([1, 5])
    torch.testing.assert_close(mdt(x, t, y), dit(x, t, y), atol=1e-5, rtol=1e-5)


def test_the_bias_and_the_decoder_embedding_change_the_output():
    mdt = randomize(lambda: MDT(SMALL), std=0.2)
    x, t, y = torch.randn(2, 4, 8, 8), torch.tensor([999, 10]), torch.tensor([1, 5])
    before = mdt(x, t, y)
    with torch.no_grad():
        mdt.decoder_pos_embed.add_(1.0)
    assert not torch.allclose(before, mdt(x, t, y))


def test_an_official_v1_checkpoint_loads_strictly_and_samples_with_the_power_cosine_preset():
    source = randomize(lambda: MDT(MDTConfig(**{**SMALL.__dict__, "decode_layer": 2})), std=0.2)  # no tensor records
    loaded = load_official(dict(source.state_dict()), "mdt")  # decode_layer: the official scripts' 2 is assumed
    assert isinstance(loaded, MDT) and loaded.config.num_heads == 2 and loaded.config.depth == 3
    config = preset("mdt-ddpm-500", num_steps=4)
    a = generate(loaded, range(3), 0, config, ClassLabels(5), progress=False).images
    b = generate(source, range(3), 0, config, ClassLabels(5), progress=False).images
    assert a.shape == (3, 4, 8, 8) and torch.equal(a, b)
    with pytest.raises(ValueError, match="MDTv2"):
        load_official({**source.state_dict(), "en_inblocks.0.attn.qkv.weight": torch.zeros(1)}, "mdt")


def test_the_power_cosine_schedule_is_full_scale_at_the_end_and_near_one_at_the_start():
    config = preset("mdt-ddpm-500")
    assert config.scale_at(0) == pytest.approx(5.0)
    assert config.scale_at(999) < config.scale_at(500) <= 5.0
    steep = preset("mdt-ddpm-500", scale_pow=4.0)
    assert steep.scale_at(999) == pytest.approx(1.0, abs=1e-3) and steep.scale_at(0) == pytest.approx(5.0)
    assert "power-cosine" in config.describe()
    with pytest.raises(ValueError, match="scale_pow must be > 0"):
        preset("repa-ode-50", scale_pow=0.5)
