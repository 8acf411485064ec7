"""Gains of c's coordinates read from a checkpoint's modulation weights alone (`checkpoints.gains`), against the same
network loaded whole (`condition.reach.modulation_gains`), through the registry (`registry.load_gains`), and the
one-line refusals: a file without its modulation weights, a family without a modulation Linear."""
from argparse import Namespace

import numpy as np
import pytest
from safetensors.torch import load_file, save_file
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.checkpoints import gains as gains_module
from semantic_bottleneck.checkpoints.files import CheckpointError
from semantic_bottleneck.checkpoints.gains import MODULATION_KEYS, read_gains
from semantic_bottleneck.checkpoints.load import load_official_file
from semantic_bottleneck.checkpoints.mdsgen import load_mdsgen
from semantic_bottleneck.checkpoints.xmdpt import load_xmdpt
from semantic_bottleneck.condition.compress import compress
from semantic_bottleneck.condition.reach import modulation_gains
from semantic_bottleneck.nets.dit import DiTConfig
from semantic_bottleneck.nets.mdt import MDT, MDTConfig
from semantic_bottleneck.nets.xmdpt import XMDPT, XMDPTConfig
from semantic_bottleneck.sampling.network import LoadedNetwork
from helpers import dit_state, random_dit, random_lightningdit, random_mdsgen, randomize, write_checkpoint

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL_DIT = DiTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=2, num_heads=2, num_classes=5)
SMALL_MDT = MDTConfig(image_size=8, patch_size=2, in_channels=4, hidden_size=32, depth=3, num_heads=2, num_classes=5,
                      decode_layer=2)
SMALL_XMDPT = XMDPTConfig(image_size=8, hidden_size=32, depth=3, num_heads=2, pose_token_count=5, pose_token_width=6,
                          source_token_count=7, source_token_width=8)


def np_gains(state, is_modulation):
    """The reference: sqrt of the sum over the modulation weights of each column's sum of squares (float64)."""
    weights = [v.double().numpy() for k, v in state.items() if is_modulation(k)]
    assert weights, "the layout must hold modulation weights"
    return np.sqrt(sum((w ** 2).sum(0) for w in weights))


def _is_adaln(key):
    """A modulation weight that runs at inference (MDT's training-only side blocks excluded)."""
    return key.endswith("adaLN_modulation.1.weight") and not key.startswith("sideblocks")


def _is_diffusers(key):
    return key.endswith("norm1.linear.weight") or key == "proj_out_1.weight"


@pytest.mark.parametrize("family", ["dit", "sit", "repa", "mg", "mdt", "mdt-v1", "lightningdit", "diffusers-dit"])
def test_each_official_layout_gives_the_root_sum_square_of_its_modulation_columns(family, tmp_path):
    source, state, _ = write_checkpoint(family, tmp_path, seed=3)
    if family == "diffusers-dit":  # the returned state is the embedder only: the reference reads the file whole
        state = load_file(str(source))
    got = read_gains(source, "mdt" if family == "mdt-v1" else family)
    expected = np_gains(state, _is_diffusers if family == "diffusers-dit" else _is_adaln)
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=1e-6)  # repa: the ema set; mg: "module." dropped
    assert got.dtype == torch.float32 and got.shape == (32,)


def _official(tmp_path, network, wrap=lambda s: s, name="model.pt"):
    """Save `network` in its official layout (optionally wrapped as a trainer saves it); returns the file."""
    torch.save(wrap({k: v.clone() for k, v in network.state_dict().items()}), tmp_path / name)
    return tmp_path / name


def _plain(tmp_path, family):
    return _official(tmp_path, random_dit(SMALL_DIT, seed=1)), lambda p: load_official_file(p, family, num_heads=2)


def _repa(tmp_path):
    state = {**random_dit(SMALL_DIT, seed=2).state_dict(), "projectors.0.0.weight": torch.randn(16, 32)}
    torch.save({"model": {k: v + 1 for k, v in state.items()}, "ema": state, "args": Namespace(encoder_depth=1)},
               tmp_path / "last.pt")
    return tmp_path / "last.pt", lambda p: load_official_file(p, "repa", 2)


def _mg(tmp_path):
    wrap = lambda s: {"ema": {"module." + k: v for k, v in s.items()}}  # noqa: E731 (DDP-wrapped EMA weights)
    return _official(tmp_path, random_dit(SMALL_DIT, seed=3), wrap), lambda p: load_official_file(p, "mg", 2)


def _lightningdit(tmp_path):
    wrap = lambda s: {"ema": s, "model": {k: v + 1 for k, v in s.items()}}  # noqa: E731
    return _official(tmp_path, random_lightningdit(seed=4), wrap), lambda p: load_official_file(p, "lightningdit")


def _mdt(tmp_path):
    network = randomize(lambda: MDT(SMALL_MDT), seed=5, std=0.2)
    return _official(tmp_path, network), lambda p: load_official_file(p, "mdt")


def _xmdpt(tmp_path):
    return _official(tmp_path, randomize(lambda: XMDPT(SMALL_XMDPT), seed=6, std=0.2)), lambda p: load_xmdpt(p, 2)


def _mdsgen(tmp_path):
    return _official(tmp_path, random_mdsgen(seed=7)), lambda p: load_mdsgen(p, decode_layer=1)


def _diffusers(tmp_path):
    from diffusers import DiTTransformer2DModel
    from semantic_bottleneck.checkpoints.diffusers import to_diffusers

    to_diffusers(random_dit(SMALL_DIT, seed=8)).save_pretrained(tmp_path / "transformer")  # safetensors
    return tmp_path, lambda p: DiTTransformer2DModel.from_pretrained(p / "transformer").eval()


def _tiny(tmp_path):
    source, _, _ = write_checkpoint("tiny", tmp_path)
    state = random_dit(DiTConfig(image_size=8, patch_size=2, hidden_size=32, depth=2, num_heads=2, num_classes=11),
                       seed=9).state_dict()
    torch.save(state, source / "model.pt")  # the adaLN-Zero weights of the written model are all zero
    return source, lambda p: load_official_file(p / "model.pt", "dit", 2)


NETWORKS = {"dit": lambda t: _plain(t, "dit"), "sit": lambda t: _plain(t, "sit"), "repa": _repa, "mg": _mg,
            "lightningdit": _lightningdit, "mdt": _mdt, "xmdpt": _xmdpt, "mdsgen": _mdsgen, "diffusers-dit": _diffusers,
            "tiny": _tiny}


@pytest.mark.parametrize("family", NETWORKS)
def test_gains_read_from_the_file_equal_those_of_the_loaded_network(family, tmp_path):
    source, load = NETWORKS[family](tmp_path)
    network = load(source)
    expected = modulation_gains(network)
    assert expected.abs().min() > 0  # random weights: every coordinate has a gain to compare
    torch.testing.assert_close(read_gains(source, family), expected, rtol=1e-5, atol=0)


def test_every_family_with_a_network_here_is_covered():
    assert set(MODULATION_KEYS) == set(NETWORKS)


def test_only_the_modulation_weights_are_read(tmp_path, monkeypatch):
    path = tmp_path / "dit.safetensors"
    state = dit_state(0)
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    read = []
    opened_by_reader = gains_module.open_checkpoint

    def spying(p):
        opened = opened_by_reader(p)
        tensors = opened.tensors

        class Spy(dict):
            def __getitem__(self, key):
                read.append(key)
                return tensors[key]

        opened.tensors = Spy.fromkeys(tensors)
        return opened

    monkeypatch.setattr(gains_module, "open_checkpoint", spying)
    read_gains(path, "dit")
    assert sorted(read) == sorted(k for k in state if _is_adaln(k)) and len(read) < len(state) / 4


def _without(state, *fragments):
    return {k: v for k, v in state.items() if not any(f in k for f in fragments)}


MISSING = {  # name: (state, family, the key pattern the one line must name)
    "no modulation at all": (_without(dit_state(0), "adaLN"), "dit", "blocks.{i}.adaLN_modulation.1.weight"),
    "no final layer": (_without(dit_state(0), "final_layer.adaLN"), "sit", "final_layer.adaLN_modulation.1.weight"),
    "mdt without blocks": (_without(dit_state(0), "blocks."), "mdt",
                           "{blocks,en_inblocks,en_outblocks,de_blocks}.{i}.adaLN_modulation.1.weight"),
    "diffusers without proj_out_1": ({"transformer_blocks.0.norm1.linear.weight": torch.randn(12, 2)},
                                     "diffusers-dit", "proj_out_1.weight"),
    "diffusers without blocks": ({"proj_out_1.weight": torch.randn(4, 2)}, "diffusers-dit",
                                 "transformer_blocks.{i}.norm1.linear.weight"),
}


@pytest.mark.parametrize("case", MISSING)
def test_a_checkpoint_without_its_modulation_weights_fails_with_one_line_naming_the_pattern(case, tmp_path):
    state, family, pattern = MISSING[case]
    path = tmp_path / ("diffusion_pytorch_model.safetensors" if family == "diffusers-dit" else "model.pt")
    save_file(state, str(path)) if path.suffix == ".safetensors" else torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        read_gains(path, family)
    message = str(err.value)
    assert "\n" not in message and pattern in message and str(path) in message and f"family {family}" in message


def test_damaged_modulation_weights_fail_with_one_line(tmp_path):
    cases = {"nan": ({"blocks.0.adaLN_modulation.1.weight": torch.full((6, 4), float("nan"))}, "not finite"),
             "integer": ({"blocks.0.adaLN_modulation.1.weight": torch.ones(6, 4, dtype=torch.long)}, "floating-point"),
             "widths": ({"blocks.0.adaLN_modulation.1.weight": torch.ones(6, 5)}, "same input width")}
    for name, (block, fragment) in cases.items():
        torch.save({**block, "final_layer.adaLN_modulation.1.weight": torch.ones(2, 4)}, tmp_path / f"{name}.pt")
        with pytest.raises(CheckpointError) as err:
            read_gains(tmp_path / f"{name}.pt", "dit")
        assert fragment in str(err.value) and "\n" not in str(err.value), name


def test_a_family_without_a_modulation_linear_is_refused_before_any_download(monkeypatch):
    monkeypatch.setattr(registry, "fetch_weights", lambda *a, **k: pytest.fail("nothing may be downloaded"))
    with pytest.raises(CheckpointError, match="family uvit has no SiLU-aware gains here: its t and y enter as tokens"):
        registry.load_gains("uvit-h", "paper")
    with pytest.raises(CheckpointError, match="family sd3 has no SiLU-aware gains here"):
        registry.load_gains("sd3-medium", "paper")
    with pytest.raises(CheckpointError, match="family must be one of dit, sit, "):
        read_gains("unused.pt", "tiny-pose")
    with pytest.raises(ValueError, match="family must be dit for dit-xl"):
        registry.load_gains("dit-xl", "paper", family="sit")


def test_a_registry_name_reads_its_cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path))
    (tmp_path / "mg-xl").mkdir()
    path = _official(tmp_path / "mg-xl", random_dit(SMALL_DIT, seed=3), lambda s: {"ema": s}, "SiT-XL-2-MG.pt")
    monkeypatch.setattr(registry, "fetch_weights", lambda weights, progress=True: path)
    torch.testing.assert_close(registry.load_gains("mg-xl", "paper"), read_gains(path, "mg"))
    torch.testing.assert_close(registry.load_gains(path, family="mg"), read_gains(path, "mg"))


def test_a_model_trained_here_is_measured_on_its_network_and_a_compressed_one_in_cs_width(monkeypatch):
    network = random_dit(SMALL_DIT, seed=10)
    kept = torch.tensor([1, 4, 9, 30])
    networks = {"tiny-class": network, "tiny-class-compressed": compress(network, kept)}
    monkeypatch.setattr(registry, "load_network", lambda name, profile, device="cpu", progress=True: LoadedNetwork(
        networks[name], None, None, None, "tiny", 32))
    full = modulation_gains(network)
    torch.testing.assert_close(registry.load_gains("tiny-class"), full)
    compressed = registry.load_gains("tiny-class-compressed")
    assert compressed.shape == (32,) and torch.equal(compressed.nonzero().flatten(), kept)
    torch.testing.assert_close(compressed[kept], full[kept])
