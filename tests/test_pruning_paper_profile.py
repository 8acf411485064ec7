"""The `paper` profile of the pruning chapter, end to end on stand-in checkpoints in the official layouts.

REPA, MG and LightningDiT stand-ins (small, random, 1000 classes) sit where the weights registry caches its
downloads, the VA-VAE and its latent stats beside them; a small SD-VAE and DiT's `model_index.json` (the
ImageNet class names) sit in an offline Hugging Face cache. The notebook then runs exactly the code it runs
in Colab, with the official sampler presets (250 steps), so a Colab user never loses a multi-hour GPU run
to a crash in a table or a sentence at the end. Only the judge differs: the evaluation classifier (the `ci`
profile's, small and quick to train) stands in for Inception and CLIP (torch-fidelity cannot be installed next to
the CPU torch; see requirements.txt), whose own path `tests/test_metrics_paper.py` checks.
"""
import json

import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.book import driver as book
from semantic_bottleneck.nets.dit import DiTConfig
from semantic_bottleneck.nets.lightningdit import LightningDiTConfig
import helpers

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]

MODELS = ["repa-xl", "mg-xl", "lightningdit-xl"]
SIT_S = DiTConfig(image_size=4, patch_size=2, in_channels=4, hidden_size=384, depth=1, num_heads=6,
                      num_classes=1000)  # the DiT-S width, so the official head count is inferred
LIGHTNING = LightningDiTConfig(image_size=8, patch_size=1, in_channels=6, hidden_size=32, depth=1, num_heads=2,
                               num_classes=1000)
PARAMS = {"models": MODELS, "samplers": {"repa-xl": "repa-sde-250", "mg-xl": "mg-sde-250",
                                         "lightningdit-xl": "lightningdit-euler-250"},
          "judge": "eval-classifier", "classifier_profile": "ci", "samples_per_seed": 4, "seeds": 2, "row_mapping": "threshold",
          "last_k": 50, "sweep_tail_fractions": [], "sweep_head_dims": [], "sweep_k": [], "reference_size": 40,
          "kid_subset_size": 4, "batch_size": 8, "grid_samples": 2}


def hf_snapshot(root, repo):
    """The snapshot folder an offline Hugging Face cache resolves `repo` at revision main to."""
    folder = root / "hub" / f"models--{repo.replace('/', '--')}"
    revision = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(revision)
    snapshot = folder / "snapshots" / revision
    snapshot.mkdir(parents=True)
    return snapshot


def write_hf_cache(root):
    """DiT's model_index.json (1000 class names) and a small 4-channel f2 SD-VAE for REPA and MG (8x8 images)."""
    from diffusers import AutoencoderKL

    labels = {str(i): f"class {i}, synonym" for i in range(1000)}
    (hf_snapshot(root, "facebook/DiT-XL-2-256") / "model_index.json").write_text(json.dumps({"id2label": labels}))
    torch.manual_seed(0)
    AutoencoderKL(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
                  up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(8, 16), layers_per_block=1,
                  latent_channels=4, norm_num_groups=4, sample_size=16).save_pretrained(
        hf_snapshot(root, "stabilityai/sd-vae-ft-ema"))


def write_weights_cache(cache, tmp_path):
    """Stand-ins under the registry's cache names: REPA (trainer layout), MG (DDP EMA), LightningDiT, VA-VAE."""
    def put(name, obj):
        target = cache / name / registry.model(name).source.weights.mirrors[0].filename
        target.parent.mkdir(parents=True)
        torch.save(obj, target)

    repa = helpers.random_dit(SIT_S, seed=1).state_dict()
    put("repa-xl", {"ema": {**repa, "projectors.0.0.weight": torch.zeros(8, 384)}, "model": {}})
    put("mg-xl", {"ema": {"module." + k: v for k, v in helpers.random_dit(SIT_S, seed=2).state_dict().items()}})
    put("lightningdit-xl", {"ema": helpers.random_lightningdit(LIGHTNING, seed=3).state_dict()})
    checkpoint, stats, *_ = helpers.write_vavae(tmp_path / "vavae")
    for name, source in (("vavae-f16d32", checkpoint), ("vavae-f16d32-latent-stats", stats)):
        (cache / name).mkdir()
        source.rename(cache / name / registry.DECODERS[name].mirrors[0].filename)


def test_pruning_notebook_runs_under_paper_profile_on_stand_ins(tmp_path, monkeypatch, build_dirs):
    write_hf_cache(tmp_path / "hf")
    write_weights_cache(tmp_path / "weights", tmp_path)
    results = helpers.execute_under_paper_profile(tmp_path, monkeypatch, "03_pruning",
                                                  {**PARAMS, "resume_dir": str(tmp_path / "runs")})
    assert set(results["profile"]) == {"paper"} and set(results["model"]) == set(MODELS)
    rows = set(zip(results["table"], results["row"], results["column"]))
    assert {("T2", "tail_tau0.01_first_step", "fid"), ("T3", "MG/tail_tau0.01_last_k_steps", "fid"),
            ("T3", "LightningDiT/baseline", "fid"), ("T6", "LightningDiT/tail_tau0.01_first_step", "recall")} <= rows
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "runs").iterdir()) == ["lightningdit", "mg", "repa"]
    text = (book.EXECUTED / "03_pruning.ipynb").read_text()
    assert "lightningdit-euler-250: euler 249 steps" in text and "LightningDiT's FID-5K by" in text
