"""Readers: every family's key layout, written small into tmp_path, read back and checked against numpy."""
from argparse import Namespace
from dataclasses import asdict
import json
import pathlib

import numpy as np
import pytest
from safetensors.torch import save_file
import torch

from semantic_bottleneck.readers import (FAMILIES, FAMILY_NAMES, READERS, CheckpointError, detect_family,
                                         families_frame, read_condition_embedding)
from semantic_bottleneck.stats import checkpoint_stats
from semantic_bottleneck.tiny_dit import DiT, TinyDiTConfig

D, K, F = 32, 11, 256  # width of c, real classes (the table has K + 1 rows), sinusoid width
TAUS = (0.01, 0.02, 0.05, 0.1)
EMBEDDER = ("y_embedder.embedding_table.weight", "t_embedder.mlp.0.weight", "t_embedder.mlp.0.bias",
            "t_embedder.mlp.2.weight", "t_embedder.mlp.2.bias")
T0 = {"dit": 999, "sit": 0.0, "repa": 1.0, "mg": 1.0, "mdt": 999, "lightningdit": 0.0, "diffusers-dit": 999,
      "tiny": 999}


# ----------------------------------------------------------------------------- independent numpy reference

def np_time(tensors, t):
    """t_emb(t) with DiT's formula: [cos, sin] of t * 10000^(-i/128), Linear, SiLU, Linear (float64)."""
    w1, b1, w2, b2 = (tensors[k].double().numpy() for k in EMBEDDER[1:])
    args = t * np.exp(-np.log(10000.0) * np.arange(F // 2) / (F // 2))
    h = w1 @ np.concatenate([np.cos(args), np.sin(args)]) + b1
    return w2 @ (h / (1.0 + np.exp(-h))) + b2


def np_vector_stats(v, taus=TAUS):
    """Cosine mean/min over distinct pairs, nPR averaged over rows, nPR of the mean row, sparsity of the mean."""
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    cos = (unit @ unit.T)[~np.eye(len(v), dtype=bool)]
    a = np.abs(v)
    npr = (a.sum(1) ** 2 / (a**2).sum(1)) / v.shape[1]
    m = np.abs(v.mean(0))
    return {"cosine_mean": cos.mean(), "cosine_min": cos.min(), "npr": npr.mean(),
            "npr_of_mean": m.sum() ** 2 / (m**2).sum() / v.shape[1],
            "sparsity": {format(tau, "g"): float((m < tau).mean()) for tau in taus}}


def np_stats(tensors, t, taus=TAUS):
    """Every statistic of the stats command for y + t, y alone and t alone, from the raw tensors."""
    y = tensors[EMBEDDER[0]].double().numpy()[:K]  # the null row (last) excluded
    temb = np_time(tensors, t)
    a = np.abs(temb)
    return {"y_plus_t": np_vector_stats(y + temb, taus), "y_only": np_vector_stats(y, taus),
            "t_only": {"npr": a.sum() ** 2 / (a**2).sum() / D}}


def assert_stats_match(got, expected):
    """Compare a checkpoint_stats / --json dict with np_stats."""
    for part in ("y_plus_t", "y_only"):
        for key in ("cosine_mean", "cosine_min", "npr", "npr_of_mean"):
            assert got[part][key] == pytest.approx(expected[part][key], abs=2e-5), (part, key)
        assert got[part]["sparsity"] == expected[part]["sparsity"], part
    assert got["t_only"]["npr"] == pytest.approx(expected["t_only"]["npr"], abs=2e-5)


# ----------------------------------------------------------------------------- checkpoints in official layouts

def embedder(seed):
    """The five embedder tensors; the null row is large so that counting it would change every statistic."""
    g = torch.Generator().manual_seed(seed)
    table = 0.02 * torch.randn(K + 1, D, generator=g)
    table[K] = 3.0 * torch.randn(D, generator=g)
    return {EMBEDDER[0]: table, EMBEDDER[1]: 0.02 * torch.randn(D, F, generator=g),
            EMBEDDER[2]: 0.01 * torch.randn(D, generator=g), EMBEDDER[3]: 0.1 * torch.randn(D, D, generator=g),
            EMBEDDER[4]: 0.01 * torch.randn(D, generator=g)}


def blocks(prefix, n, d=D):
    """Per-block DiT tensors (attention, MLP, adaLN) under `prefix.i.`."""
    out = {}
    for i in range(n):
        b = f"{prefix}.{i}."
        out.update({b + "attn.qkv.weight": torch.randn(3 * d, d), b + "attn.qkv.bias": torch.randn(3 * d),
                    b + "attn.proj.weight": torch.randn(d, d), b + "mlp.fc1.weight": torch.randn(4 * d, d),
                    b + "mlp.fc2.weight": torch.randn(d, 4 * d), b + "adaLN_modulation.1.weight": torch.randn(6 * d, d),
                    b + "adaLN_modulation.1.bias": torch.randn(6 * d)})
    return out


def dit_state(seed, out_channels=8):
    """A DiT/SiT-layout state dict: embedder, patch embed, pos_embed, 2 blocks, final layer."""
    return {**embedder(seed), "x_embedder.proj.weight": torch.randn(D, 4, 2, 2), "x_embedder.proj.bias": torch.randn(D),
            "pos_embed": torch.randn(1, 16, D), **blocks("blocks", 2),
            "final_layer.linear.weight": torch.randn(4 * out_channels, D),
            "final_layer.adaLN_modulation.1.weight": torch.randn(2 * D, D)}


def mdt_state(seed, version):
    """An MDT v1 (blocks + sideblocks) or v2 (en_inblocks/en_outblocks/de_blocks + sideblocks) state dict."""
    base = {k: v for k, v in dit_state(seed).items() if not k.startswith("blocks.")}
    extra = {"decoder_pos_embed": torch.randn(1, 16, D), "mask_token": torch.randn(1, 1, D), **blocks("sideblocks", 1)}
    if version == "v1":
        return {**base, **extra, **blocks("blocks", 2), "blocks.0.attn.rel_pos_bias.relative_position_bias_table":
                torch.randn(52, 2)}
    return {**base, **extra, **blocks("en_inblocks", 1), **blocks("en_outblocks", 1), **blocks("de_blocks", 1),
            "en_outblocks.0.skip_linear.weight": torch.randn(D, 2 * D)}


def lightningdit_state(seed):
    """A LightningDiT-layout state dict: RMSNorm weights, SwiGLU w12/w3, RoPE buffers, 32-channel patch 1."""
    state = {k: v for k, v in dit_state(seed, out_channels=32).items() if ".mlp.fc" not in k}
    for i in range(2):
        state.update({f"blocks.{i}.norm1.weight": torch.ones(D), f"blocks.{i}.norm2.weight": torch.ones(D),
                      f"blocks.{i}.mlp.w12.weight": torch.randn(4 * D, D), f"blocks.{i}.mlp.w3.weight": torch.randn(D, 2 * D)})
    state.update({"x_embedder.proj.weight": torch.randn(D, 32, 1, 1), "feat_rope.freqs_cos": torch.randn(256, 8),
                  "feat_rope.freqs_sin": torch.randn(256, 8), "final_layer.norm_final.weight": torch.ones(D)})
    return state


def perturbed(state):
    """Another weight set of the same keys (the raw "model" beside "ema")."""
    return {k: v + 1.0 for k, v in state.items()}


def write_checkpoint(family, folder, seed=0):
    """Write a small checkpoint of `family` in its official layout; returns (source, embedder tensors, weights)."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{family}.pt"
    if family in ("dit", "sit"):
        state = dit_state(seed)
        torch.save(state, path)
        return path, state, "state dict"
    if family == "repa":  # trainer checkpoint: model/ema/opt/args/steps; projectors after block 8 in the real one
        state = {k: v for k, v in dit_state(seed, out_channels=4).items()}
        state.update({"projectors.0.0.weight": torch.randn(64, D), "projectors.0.2.weight": torch.randn(64, 64),
                      "projectors.0.4.weight": torch.randn(24, 64)})
        torch.save({"model": perturbed(state), "ema": state, "opt": {"state": {}, "param_groups": [{"lr": 1e-4}]},
                    "args": Namespace(model="SiT-XL/2", encoder_depth=8), "steps": 4000000}, path)
        return path, state, "ema"
    if family == "mg":  # EMA weights as saved from a DDP-wrapped model ("module." prefix)
        state = dit_state(seed, out_channels=4)
        torch.save({"ema": {"module." + k: v for k, v in state.items()}, "args": Namespace(cfg_scale=1.0)}, path)
        return path, state, "ema"
    if family in ("mdt", "mdt-v1"):
        state = mdt_state(seed, "v2" if family == "mdt" else "v1")
        torch.save(state, path)
        return path, state, "state dict"
    if family == "lightningdit":
        state = lightningdit_state(seed)
        torch.save({"model": perturbed(state), "ema": state, "opt": {},
                    "config": {"model": {"model_type": "LightningDiT-XL/1"}, "transport": {"timestep_shift": 0.3}}},
                   path)
        return path, state, "ema"
    if family == "diffusers-dit":  # weights file alone: the embedder copied into each block
        state = embedder(seed)
        names = ("class_embedder.embedding_table.weight", "timestep_embedder.linear_1.weight",
                 "timestep_embedder.linear_1.bias", "timestep_embedder.linear_2.weight", "timestep_embedder.linear_2.bias")
        flat = {f"transformer_blocks.{i}.norm1.emb.{n}": state[k].clone() for i in range(2) for n, k in zip(names, EMBEDDER)}
        flat.update({"transformer_blocks.0.norm1.linear.weight": torch.randn(6 * D, D), "proj_out_1.weight": torch.randn(2 * D, D)})
        path = folder / "diffusion_pytorch_model.safetensors"
        save_file(flat, str(path))
        return path, state, "state dict"
    if family == "tiny":  # this project's cache folder: model.pt + config.json
        torch.manual_seed(seed)
        config = TinyDiTConfig(image_size=8, patch_size=2, hidden_size=D, depth=2, num_heads=2, num_classes=K)
        state = DiT(config).state_dict()
        state["y_embedder.embedding_table.weight"] = embedder(seed)[EMBEDDER[0]]
        torch.save(state, folder / "model.pt")
        (folder / "config.json").write_text(json.dumps({"model": asdict(config), "steps": 10}))
        return folder, state, "state dict"
    raise AssertionError(family)


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


def test_family_table_lists_every_family():
    frame = families_frame()
    assert list(frame.index) == list(FAMILY_NAMES) == list(READERS)
    assert frame.loc["repa", "d"] == 1152 and frame.loc["repa", "null_row"] == 1000
    assert {"d", "time_convention", "t0", "t_type", "null_row", "sampler", "license"} <= set(frame.columns)
    assert {f.name: f.t0 for f in FAMILIES} == T0


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
    config = TinyDiTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_classes=K)
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
