"""Readers: every family's key layout, written small into tmp_path, read back and checked against numpy."""
import pathlib

import numpy as np
import pytest
from safetensors.torch import save_file
import torch

from semantic_bottleneck.checkpoints.files import CheckpointError
from semantic_bottleneck.checkpoints.read import READERS, detect_family, read_condition_embedding
from semantic_bottleneck.commands.stats_command import checkpoint_stats
from semantic_bottleneck.registry import families_frame, family_facts, family_names
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from helpers import (D, EMBEDDER, K, T0, TAUS, assert_stats_match, dit_state, np_stats, np_time, write_checkpoint)


# ----------------------------------------------------------------------------- tests

CASES = ["dit", "sit", "repa", "mg", "mdt", "mdt-v1", "lightningdit", "diffusers-dit", "tiny"]


@pytest.mark.parametrize("case", CASES)
def test_reader_matches_numpy_for_every_family(case, tmp_path):
    family = "mdt" if case == "mdt-v1" else case
    source, state, weights = write_checkpoint(case, tmp_path, seed=CASES.index(case))
    emb = read_condition_embedding(source, family)
    assert emb.info["family"] == family and emb.info["t0"] == T0[family]
    assert emb.info["source"] and emb.info["time_convention"] and emb.info["weights"] == weights
    assert (emb.dim, emb.num_classes) == (D, K)
    for t in (T0[family], 0.37, 500):
        expected = state[EMBEDDER[0]].double().numpy()[:K] + np_time(state, t)
        np.testing.assert_allclose(emb.c(t).double().numpy(), expected, atol=1e-5)
    assert_stats_match(checkpoint_stats(emb, taus=TAUS), np_stats(state, T0[family]))


@pytest.mark.parametrize("case", ["repa", "mdt", "mdt-v1", "lightningdit", "diffusers-dit", "tiny"])
def test_family_detected_from_keys(case, tmp_path):
    source, _, _ = write_checkpoint(case, tmp_path)
    assert detect_family(source) == ("mdt" if case == "mdt-v1" else case)
    assert read_condition_embedding(source).info["family"] == detect_family(source)


def test_family_specific_info(tmp_path):
    assert read_condition_embedding(write_checkpoint("repa", tmp_path / "r")[0]).info["projector_tensors"] == 3
    assert read_condition_embedding(write_checkpoint("mdt", tmp_path / "m2")[0]).info["mdt_version"] == "v2"
    assert read_condition_embedding(write_checkpoint("mdt-v1", tmp_path / "m1")[0]).info["mdt_version"] == "v1"
    tiny = read_condition_embedding(write_checkpoint("tiny", tmp_path / "t")[0])
    assert tiny.info["config"]["num_classes"] == K
    assert read_condition_embedding(write_checkpoint("diffusers-dit", tmp_path / "d")[0]).info["embedder_copies_equal"]


def test_plain_layout_needs_a_family(tmp_path):
    source, _, _ = write_checkpoint("sit", tmp_path)
    with pytest.raises(CheckpointError, match="dit, sit and mg"):
        read_condition_embedding(source)


def test_safetensors_fp16_and_legacy_pickle(tmp_path):
    state = dit_state(3)
    save_file({k: v.half().contiguous() for k, v in state.items()}, str(tmp_path / "fp16.safetensors"))
    emb = read_condition_embedding(tmp_path / "fp16.safetensors", "dit")
    assert emb.info["format"] == "safetensors" and emb.info["dtype"] == "float16"
    half = {k: state[k].half().float() for k in EMBEDDER}
    np.testing.assert_allclose(emb.c(999).numpy(), half[EMBEDDER[0]].numpy()[:K] + np_time(half, 999), atol=1e-5)
    torch.save(state, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    legacy = read_condition_embedding(tmp_path / "legacy.pt", "dit")
    assert legacy.info["format"] == "torch-pickle" and torch.equal(legacy.class_table, state[EMBEDDER[0]])


def test_family_table_lists_every_family(tmp_path):
    frame = families_frame()
    assert list(frame.index) == list(family_names()) and set(READERS) <= set(family_names())
    for family in set(family_names()) - set(READERS):  # conditions other than a class: c comes from running the model
        with pytest.raises(CheckpointError, match=f"to read c from a file .*; got '{family}'"):
            read_condition_embedding(tmp_path / "any.pt", family)
    assert frame.loc["repa", "d"] == 1152 and frame.loc["repa", "null_row"] == 1000
    assert {"d", "time_convention", "t0", "t_type", "null_row", "sampler", "license"} <= set(frame.columns)
    assert {name: family_facts(name).t0 for name in READERS} == T0


def _bad_sources(tmp):
    (tmp / "page.pt").write_text("<!DOCTYPE html><html><body>Google Drive - quota exceeded</body></html>")
    (tmp / "noise.pt").write_bytes(bytes(range(7, 200)))
    torch.save({"blocks.0.attn.qkv.weight": torch.zeros(3, 3)}, tmp / "notable.pt")
    torch.save({EMBEDDER[0]: torch.zeros(12, D)}, tmp / "nomlp.pt")
    good = tmp / "good.pt"
    torch.save(dit_state(0), good)
    (tmp / "truncated.pt").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    torch.save({"model": dit_state(0), "where": pathlib.PurePosixPath("/x")}, tmp / "unsafe.pt")
    torch.save([1, 2, 3], tmp / "list.pt")
    return {"page.pt": "HTML page", "noise.pt": "not a checkpoint", "notable.pt": "no class table",
            "nomlp.pt": "no timestep MLP", "truncated.pt": "truncated", "unsafe.pt": "weights_only",
            "list.pt": "not a state dict", "missing.pt": "does not exist"}


def test_bad_input_gives_one_line_value_errors(tmp_path):
    for name, message in _bad_sources(tmp_path).items():
        with pytest.raises(ValueError, match=message) as err:
            read_condition_embedding(tmp_path / name, "dit")
        assert "\n" not in str(err.value), name
    with pytest.raises(ValueError, match="family must be one of dit, sit, repa, mg, mdt, lightningdit, diffusers-dit, tiny"):
        read_condition_embedding(tmp_path / "good.pt", "pixart")
    with pytest.raises(ValueError, match="diffusers layout"):
        read_condition_embedding(write_checkpoint("diffusers-dit", tmp_path / "d")[0], "dit")
    with pytest.raises(ValueError, match="expected a diffusers DiT"):
        read_condition_embedding(tmp_path, "diffusers-dit")


# ----------------------------------------------------------------------------- diffusers DiTTransformer2DModel

DIFFUSERS_EMB = {"class_embedder.embedding_table.weight": "y_embedder.embedding_table.weight",
                 "timestep_embedder.linear_1.weight": "t_embedder.mlp.0.weight",
                 "timestep_embedder.linear_1.bias": "t_embedder.mlp.0.bias",
                 "timestep_embedder.linear_2.weight": "t_embedder.mlp.2.weight",
                 "timestep_embedder.linear_2.bias": "t_embedder.mlp.2.bias"}


def to_diffusers(sd, depth):
    """Map an original-layout DiT state dict to DiTTransformer2DModel keys (embedder copied into every block)."""
    out = {"pos_embed.proj.weight": sd["x_embedder.proj.weight"], "pos_embed.proj.bias": sd["x_embedder.proj.bias"],
           "proj_out_1.weight": sd["final_layer.adaLN_modulation.1.weight"],
           "proj_out_1.bias": sd["final_layer.adaLN_modulation.1.bias"],
           "proj_out_2.weight": sd["final_layer.linear.weight"], "proj_out_2.bias": sd["final_layer.linear.bias"]}
    for i in range(depth):
        src, dst = f"blocks.{i}.", f"transformer_blocks.{i}."
        out.update({dst + "norm1.emb." + k: sd[v].clone() for k, v in DIFFUSERS_EMB.items()})
        for kind in ("weight", "bias"):
            q, k, v = sd[src + f"attn.qkv.{kind}"].chunk(3, dim=0)  # 3 x (D, D) or 3 x (D,)
            out.update({dst + f"attn1.to_q.{kind}": q, dst + f"attn1.to_k.{kind}": k, dst + f"attn1.to_v.{kind}": v,
                        dst + f"attn1.to_out.0.{kind}": sd[src + f"attn.proj.{kind}"],
                        dst + f"norm1.linear.{kind}": sd[src + f"adaLN_modulation.1.{kind}"],
                        dst + f"ff.net.0.proj.{kind}": sd[src + f"mlp.fc1.{kind}"],
                        dst + f"ff.net.2.{kind}": sd[src + f"mlp.fc2.{kind}"]})
    return out


def test_diffusers_model_agrees_with_original_after_shift_patch(tmp_path):
    from diffusers import DiTTransformer2DModel

    torch.manual_seed(0)
    config = DiTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_classes=K)
    original = DiT(config).eval()
    with torch.no_grad():  # DiT's init zeroes adaLN and the output layer; randomise so the outputs mean something
        for name, p in original.named_parameters():
            if name != "pos_embed":
                p.normal_(0.0, 0.3)
    model = DiTTransformer2DModel(num_attention_heads=2, attention_head_dim=16, in_channels=4, out_channels=4,
                                  num_layers=2, attention_bias=True, sample_size=8, patch_size=2,
                                  activation_fn="gelu-approximate", num_embeds_ada_norm=K, norm_type="ada_norm_zero",
                                  norm_elementwise_affine=False, norm_eps=1e-6).eval()  # DiT's LayerNorms use 1e-6
    model.load_state_dict(to_diffusers(original.state_dict(), depth=2), strict=True)
    # diffusers recomputes pos_embed as a non-persistent buffer; the tiny DiT's stored table has the two
    # sin-cos halves (row / column coordinate) in the opposite order, so carry the stored one over.
    model.pos_embed.pos_embed.copy_(original.pos_embed)
    model.save_pretrained(tmp_path / "dit-diffusers")

    x, y = torch.randn(3, 4, 8, 8), torch.tensor([0, 5, 10])
    t = torch.tensor([999.0, 500.0, 10.0])
    with torch.no_grad():
        want_c = original.t_embedder(t) + original.y_embedder.embedding_table.weight[y]  # (3, D)
        want = original(x, t, y)
        unpatched_c = model.transformer_blocks[0].norm1.emb(t, y, hidden_dtype=torch.float32)
        unpatched = model(x, timestep=t, class_labels=y).sample
        for block in model.transformer_blocks:
            block.norm1.emb.time_proj.downscale_freq_shift = 0
        got_c = model.transformer_blocks[0].norm1.emb(t, y, hidden_dtype=torch.float32)
        got = model(x, timestep=t, class_labels=y).sample

    emb = read_condition_embedding(tmp_path / "dit-diffusers")
    assert emb.info["family"] == "diffusers-dit" and emb.info["embedder_copies_equal"]
    ours = torch.stack([emb.c(float(ti), [int(yi)])[0] for ti, yi in zip(t, y)])  # (3, D)
    assert (ours - want_c).abs().max() < 1e-5
    assert (got_c - want_c).abs().max() < 1e-5
    assert (got - want).abs().max() < 1e-5
    # the pitfall: with diffusers' own downscale_freq_shift=1, c and the output differ at t = 999
    assert (unpatched_c - want_c).abs().max() > 1e-2
    assert (unpatched - want).abs().max() > 1e-3

    model.save_pretrained(tmp_path / "dit-bin", safe_serialization=False)
    binary = read_condition_embedding(tmp_path / "dit-bin" / "diffusion_pytorch_model.bin", "diffusers-dit")
    assert binary.info["format"] == "torch-zip" and torch.equal(binary.class_table, emb.class_table)
