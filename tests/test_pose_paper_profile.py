"""The real X-MDPT's inputs rebuilt offline: DeepFashion pairs and skeletons, DINOv2 tokens, the VAE, the checkpoint;
and the pose chapter run under the `paper` profile on stand-ins written in the official layouts with random weights."""
import json
import zipfile

import numpy as np
import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.book import driver as book
from semantic_bottleneck.checkpoints import xmdpt
from semantic_bottleneck.nets.xmdpt import XMDPT, XMDPTConfig
import helpers
from helpers import randomize

pytestmark = pytest.mark.usefixtures("one_thread")
STAND_IN = XMDPTConfig(image_size=32, hidden_size=32, depth=2, num_heads=2, pose_token_width=32, source_token_width=48)


def write_deepfashion(folder, pairs=8, side=256):
    """A DeepFashion folder in PIDM's layout without the LMDB: test_pairs.txt, img/*.png, pose/*.txt (18 keypoints)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    lines = []
    for i in range(pairs):
        names = [f"img/WOMEN/Dresses/id_{i:08d}/0{k}_1_front.jpg" for k in (1, 2, 3)]
        lines.append(",".join(names))  # target, then two source candidates
        for name in names:
            png = (folder / name).with_suffix(".png")
            png.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (side, side if i else 176, 3), dtype=np.uint8)).save(png)
            points = np.stack([rng.uniform(60, 200, 18), rng.uniform(20, 240, 18)], 1)
            points[rng.integers(18)] = -1
            pose = folder / name.replace("img/", "pose/").replace(".jpg", ".txt")
            pose.parent.mkdir(parents=True, exist_ok=True)
            np.savetxt(pose, points)
    (folder / "test_pairs.txt").write_text("\n".join(lines) + "\n")
    return folder


def test_pairs_keypoints_and_the_source_choice_follow_the_official_reading(tmp_path):
    folder = write_deepfashion(tmp_path / "deepfashion")
    pairs = xmdpt.read_pairs(folder)
    assert len(pairs) == 8 and pairs[0][0].endswith("01_1_front.png") and len(pairs[0][1]) == 2
    raw = np.loadtxt(folder / "pose/WOMEN/Dresses/id_00000001/01_1_front.txt")
    points = xmdpt.keypoints(folder, pairs[1][0])
    kept = raw[:, 0] != -1
    assert np.allclose(points[kept, 0], (raw[kept, 0] - 40) * 256 / 176) and np.allclose(points[kept, 1], raw[kept, 1])
    assert (points[~kept] == -1).all()
    source = xmdpt.DeepFashionPairs(folder, None, None, None, seed=0)
    assert source.names(3) == source.names(3) and source.names(3)[1] in pairs[3][1]
    assert len({source.names(i)[1][-14:-12] for i in range(8)}) == 2  # both candidates get chosen
    images = source.answers([0, 1])
    assert images.shape == (2, 3, 256, 256) and -1 <= images.min() and images.max() <= 1  # 176 wide: resized
    with pytest.raises(ValueError, match="index must be in 0..7"):
        source.names(8)
    with pytest.raises(FileNotFoundError, match="has no test_pairs.txt"):
        xmdpt.read_pairs(tmp_path)


def test_skeletons_are_drawn_as_opencv_draws_them():
    # cv2.ellipse2Poly((10, 10), (5, 2), 30, 0, 360, 1), as OpenCV 5.0 returns it
    opencv = [(14, 12), (14, 13), (13, 13), (12, 13), (11, 13), (11, 12), (10, 12), (9, 12), (9, 11), (8, 11), (7, 11),
              (7, 10), (6, 10), (6, 9), (6, 8), (6, 7), (7, 7), (8, 7), (9, 7), (9, 8), (10, 8), (11, 8), (11, 9),
              (12, 9), (13, 9), (13, 10), (14, 10), (14, 11), (14, 12)]
    assert xmdpt.ellipse_polygon((10, 10), (5, 2), 30) == opencv
    points = np.full((18, 2), -1.0)
    points[0] = (100, 50)  # one dot: OpenCV's filled circle of radius 4 has 49 pixels
    image = xmdpt.draw_skeleton(points)
    assert int((image.amax(0) > 0).sum()) == 49
    assert image[:, 50, 100].tolist() == [0.0, 0.0, 1.0]  # colour (255, 0, 0) drawn as BGR, shown as RGB: blue
    points[1] = (100, 150)  # keypoints 1 and 2 make limb 13, (2, 1): an ellipse blended in at weight 0.6
    image = xmdpt.draw_skeleton(points)
    assert image[:, 100, 100].tolist() == pytest.approx([0.6, 0.0, 0.0])  # its (0, 0, 255), as BGR: red


def test_dinov2_tokens_use_the_hub_position_interpolation_and_x_mdpts_input():
    from transformers import Dinov2Config, Dinov2Model

    torch.manual_seed(0)
    model = Dinov2Model(Dinov2Config(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
                                     image_size=518)).eval()
    table = model.embeddings.position_embeddings.detach().clone()
    plain = model.embeddings.interpolate_pos_encoding(torch.zeros(1, 257, 32), 224, 224).detach()
    tokens = xmdpt.DinoTokens(model, "random")
    patched = model.embeddings.interpolate_pos_encoding(torch.zeros(1, 257, 32), 224, 224).detach()
    grid = table[:, 1:].reshape(1, 37, 37, 32).permute(0, 3, 1, 2)  # (1, F, 37, 37)
    hub = torch.nn.functional.interpolate(grid, scale_factor=(16.1 / 37, 16.1 / 37), mode="bicubic", antialias=False)
    torch.testing.assert_close(patched[:, 1:], hub.permute(0, 2, 3, 1).reshape(1, 256, 32))
    torch.testing.assert_close(patched[:, :1], table[:, :1])
    assert (patched - plain).abs().max() > 1e-3  # transformers' own interpolation differs from the hub's
    out = tokens(torch.rand(2, 3, 256, 256))
    assert out.shape == (2, 257, 32) and out.dtype == torch.float16


def write_vae_zip(path, seed=0):
    """A small SD-VAE-like AutoencoderKL (f8, 4 latent channels) saved with save_pretrained and zipped."""
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    folder = path.parent / "diffuser_finetune_vae"
    AutoencoderKL(down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
                  block_out_channels=(8, 8, 8, 8), layers_per_block=1, latent_channels=4, norm_num_groups=4,
                  sample_size=256).save_pretrained(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for file in folder.rglob("*"):
            archive.write(file, file.relative_to(path.parent))
    return path


def test_the_vae_loads_from_a_zip_and_a_checkpoint_loads_strictly(tmp_path):
    vae = xmdpt.load_vae(write_vae_zip(tmp_path / "weights" / "vae.zip"))
    assert vae.encode(torch.zeros(1, 3, 256, 256)).latent_dist.mean.shape == (1, 4, 32, 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="must be a diffusers AutoencoderKL folder"):
        xmdpt.load_vae(tmp_path / "empty")
    source = randomize(lambda: XMDPT(STAND_IN), std=0.05)
    torch.save(source.state_dict(), tmp_path / "xmdpt.pt")
    loaded = xmdpt.load_xmdpt(tmp_path / "xmdpt.pt")
    assert loaded.config == STAND_IN
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in loaded.state_dict().items())
    broken = {k: v for k, v in source.state_dict().items() if not k.startswith("sideblocks_cross.")}
    torch.save(broken, tmp_path / "broken.pt")
    with pytest.raises(ValueError, match="missing.*sideblocks_cross.0.adaLN_modulation.1.bias"):
        xmdpt.load_xmdpt(tmp_path / "broken.pt")
    torch.save({k: v for k, v in broken.items() if not k.startswith("mlp_dino_pose")}, tmp_path / "dit.pt")
    with pytest.raises(ValueError, match="is not an X-MDPT checkpoint"):
        xmdpt.load_xmdpt(tmp_path / "dit.pt")


def write_stand_ins(tmp_path):
    """Weights cache (X-MDPT-S stand-in, zipped VAE), offline Hugging Face cache (DINOv2 B and G) and DeepFashion."""
    from transformers import Dinov2Config, Dinov2Model

    weights = tmp_path / "weights"
    source = registry.model("xmdpt-s").source
    target = weights / "xmdpt-s" / source.weights.mirrors[0].filename
    target.parent.mkdir(parents=True)
    torch.save(randomize(lambda: XMDPT(STAND_IN), std=0.05).state_dict(), target)
    write_vae_zip(weights / "xmdpt-vae" / source.vae.mirrors[0].filename)
    for repo, width, swiglu in (("facebook/dinov2-base", 32, False), ("facebook/dinov2-giant", 48, True)):
        folder = tmp_path / "hf" / "hub" / f"models--{repo.replace('/', '--')}"
        (folder / "refs").mkdir(parents=True)
        (folder / "refs" / "main").write_text("0" * 40)
        torch.manual_seed(width)
        Dinov2Model(Dinov2Config(hidden_size=width, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
                                 image_size=518, use_swiglu_ffn=swiglu)).save_pretrained(folder / "snapshots" / ("0" * 40))
    return write_deepfashion(tmp_path / "deepfashion")


PARAMS = {"models": ["xmdpt-s"], "presets": ["xmdpt-ddim-50", "xmdpt-ddim-50-unguided"], "judge": "pixels",
          "statistics_pairs": 4, "grid_sources": 2, "grid_poses": 2, "head_dims": 2, "shares": [0.4],
          "row_mapping": "threshold", "samples_per_seed": 4, "seeds": 2, "kid_subsets": 2, "kid_subset_size": 4,
          "batch_size": 4, "grid_samples": 2, "table_metrics": ["removed_dims", "fid", "ssim", "psnr"],
          "sweep_metrics": ["fid", "ssim"]}


@pytest.mark.slow
def test_pose_notebook_runs_under_paper_profile_on_stand_ins(tmp_path, monkeypatch, build_dirs):
    folder = write_stand_ins(tmp_path)
    section = {**PARAMS, "deepfashion_dir": str(folder), "resume_dir": str(tmp_path / "runs")}
    results = helpers.execute_under_paper_profile(tmp_path, monkeypatch, "04_pose_guided", section)
    assert set(results["profile"]) == {"paper"} and set(results["model"]) == {"xmdpt-s"}
    cells = set(zip(results["table"], results["row"], results["column"]))
    assert {("T5", "cosine_y_plus_t", "X-MDPT-S"), ("T7", "baseline", "fid"), ("T7", "tail_tau0.1_40pct", "ssim")} <= cells
    assert not any(table == "T1" for table, _, _ in cells)  # Table 1's X-MDPT is the L model
    text = (book.EXECUTED / "04_pose_guided.ipynb").read_text()
    assert "xmdpt-ddim-50: ddim 50 steps" in text and "DeepFashion test pairs" in text
    assert len(json.loads((book.EXECUTED / "04_pose_guided.ipynb").read_text())["cells"]) > 20
