"""LightningDiT and its VA-VAE decoder: official layouts, the pieces' maths, sampling and pruning end to end."""
import math

import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.checkpoints import download, load, sources
from semantic_bottleneck.condition import hooks, prune
from semantic_bottleneck.nets import vavae
from semantic_bottleneck.nets.lightningdit import LightningDiT, LightningDiTConfig, Rope2d, SwiGLU, infer_config
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.generate import generate, timesteps
from semantic_bottleneck.sampling.presets import PRESETS, preset
from helpers import SMALL_LIGHTNING as SMALL, random_decoder, random_lightningdit as random_model, write_vavae
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")

# Shapes of the released LightningDiT-XL/1 and VA-VAE f16d32 files, from hustvl/LightningDiT's module definitions.
XL1_SHAPES = {"x_embedder.proj.weight": (1152, 32, 1, 1), "pos_embed": (1, 256, 1152),
              "feat_rope.freqs_cos": (256, 72), "y_embedder.embedding_table.weight": (1001, 1152),
              "t_embedder.mlp.0.weight": (1152, 256), "blocks.27.norm1.weight": (1152,),
              "blocks.0.attn.qkv.weight": (3456, 1152), "blocks.0.mlp.w12.weight": (6144, 1152),
              "blocks.0.mlp.w3.weight": (1152, 3072), "blocks.0.adaLN_modulation.1.weight": (6912, 1152),
              "final_layer.norm_final.weight": (1152,), "final_layer.linear.weight": (32, 1152),
              "final_layer.adaLN_modulation.1.weight": (2304, 1152)}
VAVAE_SHAPES = {"post_quant_conv.weight": (32, 32, 1, 1), "decoder.conv_in.weight": (512, 32, 3, 3),
                "decoder.mid.attn_1.q.weight": (512, 512, 1, 1), "decoder.up.4.attn.2.proj_out.weight": (512, 512, 1, 1),
                "decoder.up.3.block.0.nin_shortcut.weight": (256, 512, 1, 1), "decoder.up.1.upsample.conv.weight":
                (128, 128, 3, 3), "decoder.up.0.block.2.conv2.weight": (128, 128, 3, 3), "decoder.conv_out.weight":
                (3, 128, 3, 3)}


def test_the_xl1_layout_has_the_official_names_shapes_and_size():
    with torch.device("meta"):
        state = LightningDiT(LightningDiTConfig()).state_dict()
    assert {k: tuple(state[k].shape) for k in XL1_SHAPES} == XL1_SHAPES
    assert not any(k.startswith("blocks.28.") or ".mlp.fc1." in k or "q_norm" in k for k in state)
    assert round(sum(v.numel() for k, v in state.items() if not k.startswith(("feat_rope", "pos_embed"))) / 1e6) == 675
    assert infer_config(state).mlp_hidden == 3072 and infer_config(state).num_heads == 16


def test_the_vavae_layout_has_the_official_names_and_attention_only_at_16x16():
    with torch.device("meta"):
        state = vavae.VavaeDecoder(vavae.DecoderConfig(), torch.zeros(32), torch.ones(32)).state_dict()
    assert {k: tuple(state[k].shape) for k in VAVAE_SHAPES} == VAVAE_SHAPES
    assert {k.split(".")[2] for k in state if ".attn." in k and k.startswith("decoder.up.")} == {"4"}
    assert "decoder.up.0.upsample.conv.weight" not in state and "decoder.up.2.block.0.nin_shortcut.weight" not in state
    assert vavae.decoder_config(state) == vavae.DecoderConfig()


@pytest.mark.parametrize("changes", [{}, {"use_qknorm": True}, {"wo_shift": True}, {"use_rope": False},
                                     {"use_swiglu": False, "use_rmsnorm": False}, {"learn_sigma": True}])
def test_every_variant_round_trips_through_its_state_dict(changes):
    config = LightningDiTConfig(**{**SMALL.__dict__, **changes})
    model = random_model(config)
    rebuilt = LightningDiT(infer_config(model.state_dict(), num_heads=None if config.use_rope else 2))
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x, t, y = torch.randn(3, 6, 4, 4), torch.tensor([0.0, 0.4, 1.0]), torch.tensor([0, 4, 5])
    assert torch.equal(rebuilt.eval()(x, t, y), model(x, t, y))
    assert model(x, t, y).shape == (3, 6, 4, 4)


def test_rope_turns_each_pair_by_row_then_column_angles():
    rope = Rope2d(head_dim=8, grid=3)  # per axis 4 dims = 2 pairs, f = 10000^0 and 10000^(-1/2)
    x = torch.zeros(1, 1, 9, 8)
    x[..., 0::2] = 1.0  # every pair starts as (1, 0)
    out = rope(x)[0, 0]
    token = 2 * 3 + 1  # row 2, column 1
    angles = [2 * 1.0, 2 * 0.01, 1 * 1.0, 1 * 0.01]
    expected = torch.tensor([v for a in angles for v in (math.cos(a), math.sin(a))])
    torch.testing.assert_close(out[token], expected)


def test_rope_attention_scores_depend_only_on_the_offset_between_tokens():
    rope = Rope2d(head_dim=16, grid=4)
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(16, generator=g), torch.randn(16, generator=g)

    def score(a, b):  # q at token a, k at token b
        qs, ks = torch.zeros(1, 1, 16, 16), torch.zeros(1, 1, 16, 16)
        qs[0, 0, a], ks[0, 0, b] = q, k
        return (rope(qs)[0, 0, a] * rope(ks)[0, 0, b]).sum()

    assert torch.isclose(score(0 * 4 + 0, 1 * 4 + 2), score(2 * 4 + 1, 3 * 4 + 3), atol=1e-5)  # same (1, 2) offset
    assert not torch.isclose(score(0, 1 * 4 + 2), score(0, 2 * 4 + 1), atol=1e-3)  # transposed offset differs


def test_swiglu_gates_the_second_half_by_silu_of_the_first():
    mlp = SwiGLU(2, 2)
    with torch.no_grad():
        mlp.w12.weight.copy_(torch.tensor([[1.0, 0], [0, 1], [2, 0], [0, 3]]))
        mlp.w12.bias.zero_()
        mlp.w3.weight.copy_(torch.eye(2))
        mlp.w3.bias.zero_()
    x = torch.tensor([[1.0, -2.0]])
    silu = lambda v: v / (1 + math.exp(-v))
    torch.testing.assert_close(mlp(x), torch.tensor([[silu(1.0) * 2.0, silu(-2.0) * -6.0]]))


def test_official_trainer_checkpoints_load_strictly_from_ema(tmp_path):
    model = random_model()
    path = tmp_path / "lightningdit.pt"
    state = {"_orig_mod." + k: v for k, v in model.state_dict().items()}  # saved from a torch.compile'd module
    torch.save({"model": {k: v + 1 for k, v in state.items()}, "ema": state, "opt": {}}, path)
    loaded = load.load_official_file(path, "lightningdit")
    x, t, y = torch.randn(2, 6, 4, 4), torch.tensor([0.2, 0.9]), torch.tensor([1, 5])
    assert isinstance(loaded, LightningDiT) and torch.equal(loaded(x, t, y), model(x, t, y))
    bad = {k: v for k, v in model.state_dict().items() if "blocks.1.mlp" not in k}
    with pytest.raises(ValueError, match="does not fit the lightningdit layout: missing"):
        load.load_official(bad, "lightningdit")


def test_c_is_captured_and_pruned_on_lightningdit_like_on_dit():
    model = random_model()
    x, t, y = torch.randn(3, 6, 4, 4), torch.tensor([0.0, 0.5, 1.0]), torch.tensor([0, 2, 4])
    c = model.t_embedder(t) + model.y_embedder(y)
    with hooks.CaptureC(model) as seen:
        model(x, t, y)
    torch.testing.assert_close(seen.vectors[0], c)
    spec = prune.PruneSpec("tail", fraction=0.25)
    inputs, handles = [], []
    with prune.Pruner(model, spec, num_steps=1):
        for module in hooks.hook_points(model)[1]:
            handles.append(module.register_forward_pre_hook(lambda m, args: inputs.append(args[0].clone())))
        pruned = model(x, t, y)
    for h in handles:
        h.remove()
    expected = c.masked_fill(prune.prune_mask(c, "tail", count=8), 0.0)
    assert len(inputs) == SMALL.depth + 1 and all(torch.equal(i, expected) for i in inputs)
    unpruned = model(x, t, y)
    assert not torch.equal(pruned, unpruned)
    with prune.Pruner(model, prune.PruneSpec("tail", tau=1e-12), num_steps=1):
        assert torch.equal(model(x, t, y), unpruned)


def test_the_official_sampler_preset_shifts_the_grid_and_guides_late_steps_only():
    config = preset("lightningdit-euler-250")
    grid = timesteps(config)
    uniform = [i / 249 for i in range(249)]
    assert len(grid) == 249 and grid[0] == 0.0
    assert all(abs(g - 0.3 * u / (1 - 0.7 * u)) < 1e-12 for g, u in zip(grid, uniform))
    first_guided = next(i for i, g in enumerate(grid) if g >= 0.125)
    assert 0.3 * (first_guided - 1) / 249 / (1 - 0.7 * (first_guided - 1) / 249) < 0.125
    assert "grid shifted by 0.3" in config.describe() and "first 3 channels" in config.describe()
    assert preset(registry.model("lightningdit-xl-64ep").sampler).guidance_scale == 10.0
    assert preset(registry.model("lightningdit-xl").sampler).guidance_scale == 6.7
    with pytest.raises(ValueError, match="time_shift"):
        preset("repa-ode-50", time_shift=0.3)


def test_sampling_counts_guided_calls_and_does_not_depend_on_the_batch(tmp_path):
    model = random_model()
    config = preset("lightningdit-euler-250", num_steps=8)
    rows = []
    model.register_forward_pre_hook(lambda m, args: rows.append(len(args[0])))
    one = generate(model, range(3), 0, config, ClassLabels(5), batch_size=3, progress=False).images
    guided_steps = sum(1 for t in timesteps(config) if t >= 0.125)
    assert rows == [6 if t >= 0.125 else 3 for t in timesteps(config)] and 0 < guided_steps < 8
    split = generate(model, range(3), 0, config, ClassLabels(5), batch_size=2, progress=False).images
    torch.testing.assert_close(one, split, atol=1e-5, rtol=1e-5)


def test_our_ldm_decoder_computes_what_diffusers_autoencoder_computes():
    from diffusers import AutoencoderKL

    ours = random_decoder()
    reference = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                              up_block_types=("AttnUpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(32, 64),
                              layers_per_block=1, latent_channels=6, norm_num_groups=32).decoder.eval()
    reference.load_state_dict(to_diffusers_names(ours.state_dict(), levels=2), strict=True)
    z = torch.randn(2, 6, 4, 4)
    with torch.no_grad():
        out = ours(z)
        assert out.shape == (2, 3, 8, 8)
        torch.testing.assert_close(out, reference(z), atol=1e-5, rtol=1e-4)


ATTENTION_NAMES = {"norm": "group_norm", "q": "to_q", "k": "to_k", "v": "to_v", "proj_out": "to_out.0"}


def to_diffusers_names(state, levels):
    """Our LDM-named decoder weights under diffusers' `Decoder` names (1x1-conv attention weights as linear)."""
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "up":
            prefix, kind, rest = f"up_blocks.{levels - 1 - int(parts[1])}", parts[2], parts[3:]
            if kind == "block":
                name = f"{prefix}.resnets." + ".".join("conv_shortcut" if r == "nin_shortcut" else r for r in rest)
            elif kind == "attn":
                name = f"{prefix}.attentions.{rest[0]}.{ATTENTION_NAMES[rest[1]]}.{rest[2]}"
            else:
                name = f"{prefix}.upsamplers.0." + ".".join(rest)
        elif parts[:2] == ["mid", "attn_1"]:
            name = f"mid_block.attentions.0.{ATTENTION_NAMES[parts[2]]}.{parts[3]}"
        elif parts[0] == "mid":
            name = f"mid_block.resnets.{int(parts[1][-1]) - 1}." + ".".join(parts[2:])
        else:
            name = key.replace("norm_out", "conv_norm_out")
        out[name] = value.flatten(1) if "attentions" in name and value.ndim == 4 else value
    return out


def test_the_decoder_denormalises_latents_with_the_stats_before_decoding(tmp_path):
    checkpoint, stats_path, decoder, post, stats = write_vavae(tmp_path)
    loaded = load.load_vavae_decoder(checkpoint, stats_path)
    z = torch.randn(2, 6, 4, 4)
    with torch.no_grad():
        expected = decoder(post(z * stats["std"] + stats["mean"])).clamp(-1, 1)
    torch.testing.assert_close(loaded(z), expected)


@pytest.mark.parametrize("stats, message", [({"mean": torch.zeros(6)}, "must hold a dict with 'mean' and 'std'"),
                                            ({"mean": torch.zeros(5), "std": torch.ones(5)}, "must hold 6 means"),
                                            ({"mean": torch.zeros(6), "std": torch.zeros(6)}, "a std <= 0")])
def test_bad_latent_stats_fail_with_one_line(tmp_path, stats, message):
    checkpoint, stats_path, *_ = write_vavae(tmp_path, stats=stats)
    with pytest.raises(ValueError, match=message):
        load.load_vavae_decoder(checkpoint, stats_path)


def test_a_checkpoint_without_a_decoder_is_named(tmp_path):
    path = tmp_path / "not_a_vae.pt"
    torch.save({"state_dict": {"encoder.conv_in.weight": torch.zeros(2)}}, path)
    _, stats_path, *_ = write_vavae(tmp_path / "ok")
    with pytest.raises(ValueError, match="is not a VA-VAE/LDM autoencoder: checkpoint has no LDM decoder"):
        load.load_vavae_decoder(path, stats_path)


def test_lightningdit_is_samplable_from_the_weights_cache_end_to_end(tmp_path, monkeypatch):
    """Registry names resolve to cached files: the network, the VA-VAE and its stats; then sample and decode."""
    from semantic_bottleneck.chapters.pruning import rows, tables as chapter_tables
    from semantic_bottleneck.study.protocol import run_study

    cache = tmp_path / "weights"
    model = random_model()
    target = cache / "lightningdit-xl" / registry.model("lightningdit-xl").source.weights.mirrors[0].filename
    target.parent.mkdir(parents=True)
    torch.save({"ema": model.state_dict()}, target)
    checkpoint, stats_path, *_ = write_vavae(tmp_path / "written")
    for name, source in (("vavae-f16d32", checkpoint), ("vavae-f16d32-latent-stats", stats_path)):
        (cache / name).mkdir()
        source.rename(cache / name / registry.DECODERS[name].mirrors[0].filename)
    monkeypatch.setenv(download.CACHE_ENV, str(cache))
    monkeypatch.setattr(sources, "imagenet_class_names", lambda: [f"class {i}" for i in range(5)])
    loaded = registry.load_network("lightningdit-xl", "paper", progress=False)
    assert loaded.family == "lightningdit" and loaded.dim == 32 and loaded.embedding.class_table.shape == (6, 32)
    config = preset(registry.model("lightningdit-xl").sampler, num_steps=4)
    out = generate(loaded.network, range(2), 0, config, loaded.conditions, decode=loaded.decode, progress=False).images
    assert out.shape == (2, 3, 8, 8) and torch.isfinite(out).all() and out.abs().max() <= 1
    monkeypatch.setitem(PRESETS, "lightningdit-short", config)
    judge = helpers.small_judge(image_size=8)
    params = helpers.study_params(samplers={"lightningdit-xl": "lightningdit-short"}, row_mapping="threshold", last_k=2)
    study = run_study("lightningdit-xl", params, judge, rows.table2_specs, progress=False)
    fid = study.summary[study.summary["metric"] == "fid"].set_index("row")
    assert {"baseline", "tail_tau0.01_first_step", "head_tau1.0_every_step"} <= set(fid.index)
    assert fid.loc["baseline", "delta"] == 0 and fid["mean"].notna().all()
    status = chapter_tables.status_rows(study.summary, "lightningdit-xl", study.protocol, judge.extractor.name,
                                "class_agreement", 32, "threshold", "per_sample")
    assert ("T3", "LightningDiT/tail_tau0.01_every_step", "fid") in {(r["table"], r["row"], r["column"]) for r in status}


def test_a_stats_file_that_is_a_web_page_fails_with_one_line(tmp_path):
    checkpoint, stats_path, *_ = write_vavae(tmp_path)
    stats_path.write_text("<!DOCTYPE html><html>Sign in to continue</html>")
    with pytest.raises(ValueError, match="is an HTML page, not a checkpoint") as err:
        load.load_vavae_decoder(checkpoint, stats_path)
    assert "\n" not in str(err.value)
