"""The fast training path (`tiny.fast`): bfloat16 products, compiled blocks, and what a machine cannot run said plainly."""
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from semantic_bottleneck.nets.dit import DiTConfig, attention, gelu_tanh
from semantic_bottleneck.tiny import fast, train

SMALL = train.TrainConfig(model=DiTConfig(hidden_size=16, depth=2, num_heads=2), steps=3, batch_size=8, log_every=3)


def test_gelu_runs_atens_kernel_eagerly_and_its_sigmoid_identity_when_compiled():
    x = torch.linspace(-6, 6, 2001, requires_grad=True)
    reference = F.gelu(x, approximate="tanh")
    assert torch.equal(gelu_tanh(x), reference)
    if fast.compiler_found():
        compiled = torch.compile(gelu_tanh)(x.detach())
        assert torch.allclose(compiled, reference.detach(), atol=2e-6, rtol=0)
        identity = x.detach() * torch.sigmoid(1.5957691216057308 * (x.detach() + 0.044715 * x.detach() ** 3))
        assert torch.allclose(compiled, identity, atol=1e-6, rtol=0)


def test_attention_under_cpu_autocast_runs_in_float32():
    q, k, v = (torch.randn(2, 2, 5, 4) for _ in range(3))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = attention(q.bfloat16(), k.bfloat16(), v.bfloat16())
    assert out.dtype == torch.float32
    expected = F.scaled_dot_product_attention(q.bfloat16().float(), k.bfloat16().float(), v.bfloat16().float())
    assert torch.allclose(out, expected, atol=1e-6)


def test_bfloat16_training_changes_the_weights_and_the_cache_entry(tmp_cache):
    if not fast.native_bfloat16():
        pytest.skip("this CPU has no native bfloat16")
    plain, _, plain_folder = train.load_or_train(SMALL, progress=False)
    half, _, half_folder = train.load_or_train(replace(SMALL, precision="bfloat16"), progress=False)
    assert plain_folder != half_folder
    assert all(p.dtype == torch.float32 for p in half.parameters())
    assert not torch.equal(plain.blocks[0].mlp.fc1.weight, half.blocks[0].mlp.fc1.weight)


def test_a_machine_without_a_compiler_or_native_bfloat16_trains_plainly_and_says_so(monkeypatch, capsys):
    monkeypatch.setattr(fast.shutil, "which", lambda name: None)
    monkeypatch.setattr(fast, "native_bfloat16", lambda: False)
    resolved = fast.resolve(replace(SMALL, precision="bfloat16", compiled=True))
    assert (resolved.precision, resolved.compiled) == ("float32", False)
    said = capsys.readouterr().out.splitlines()
    assert len(said) == 2 and "C++ compiler" in said[0] and "bfloat16" in said[1]


def test_an_unknown_precision_fails_in_one_line_naming_it():
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16, not 'fp16'"):
        fast.resolve(replace(SMALL, precision="fp16"))


@pytest.mark.slow
def test_compiled_training_returns_an_eager_network_with_the_trained_weights():
    if not fast.compiler_found():
        pytest.skip("no C++ compiler for torch.compile")
    model, log = train.train_tiny_dit(replace(SMALL, compiled=True), progress=False)
    assert all(getattr(block, "_compiled_call_impl", None) is None for block in model.blocks)
    again, _ = train.train_tiny_dit(replace(SMALL, compiled=True), progress=False)
    for key, value in model.state_dict().items():
        assert torch.equal(value, again.state_dict()[key]), key  # compiled training is deterministic too
    eager, _ = train.train_tiny_dit(SMALL, progress=False)
    assert log["loss"].notna().all()
    # inductor rounds differently from eager: close, not equal, after 3 steps
    weight, reference = model.blocks[0].attn.qkv.weight, eager.blocks[0].attn.qkv.weight
    assert torch.allclose(weight, reference, atol=1e-3) and not torch.equal(weight, reference)
