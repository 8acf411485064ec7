"""The real X-MDPT (the `paper` profile): its checkpoints, fine-tuned VAE, DINOv2 encoders and DeepFashion test pairs.

What the official inference (trungpx/xmdpt, `infer_xmdpt.py`, `masked_diffusion/my_dataset.py`) feeds the network,
rebuilt here:
- pairs from `test_pairs.txt` of a DeepFashion folder in PIDM's layout (line i: target, then source candidates;
  one candidate is chosen per pair from a generator seeded by the index, where the official code draws it with
  numpy's global state); images from the `256-256` LMDB (needs `lmdb`) or, failing that, from image files under
  the folder; keypoints from `pose/...txt` (18 OpenPose points, shifted and scaled as the official code does);
- the target skeleton drawn as the official code draws it with OpenCV (a dot per keypoint, a filled ellipse per
  limb blended 0.4/0.6, channels reversed), here with numpy and PIL: OpenCV's ellipse vertices and radius-4 dot,
  PIL's polygon fill (in a check against OpenCV, under 1% of the drawn pixels differed, at limb edges);
- DINOv2 tokens, CLS first, after the final LayerNorm (`get_intermediate_layers(x, 1, return_class_token=True)`):
  ViT-B/14 of the skeleton (in [0, 1]) and ViT-G/14 of the source image (in [-1, 1]), each resized to 224 with
  bicubic interpolation and no ImageNet normalisation, as the official code does; transformers' `Dinov2Model`
  with the torch.hub model's position-embedding interpolation (scale factor with a 0.1 offset, no antialias);
- the source latent: the fine-tuned VAE's posterior sample times 0.18215 (noise from a generator seeded by the
  index); samples are decoded with the same VAE. Tokens are kept in float16 (the official code runs in bfloat16).
Where the DeepFashion folder is: $SEMANTIC_BOTTLENECK_DEEPFASHION, else ~/.cache/semantic-bottleneck/data/deepfashion.
Shapes: N pairs, T = 257 tokens, F token width.
"""
from dataclasses import dataclass
import io
import math
import os
from pathlib import Path
from types import MethodType
import zipfile

import numpy as np
import torch
import torch.nn.functional as F

from ..nets.xmdpt import PairEmbedding, XMDPT, infer_config
from ..sampling.network import LoadedNetwork
from .download import Mirror, ModelWeights, fetch_weights, from_hub
from .files import read_tensors
from .load import VaeDecoder

DATA_ENV = "SEMANTIC_BOTTLENECK_DEEPFASHION"
DINOV2 = {"pose": "facebook/dinov2-base", "source": "facebook/dinov2-giant"}  # ViT-B/14 and ViT-G/14
DINO_SIDE, IMAGE_SIDE, LATENT_SCALE = 224, 256, 0.18215
REFERENCE_PAIRS = 64  # pairs whose mean c at t0 gives the `global` mask reading
LIMBS = ((2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13), (13, 14),
         (2, 1), (1, 15), (15, 17), (1, 16), (16, 18))  # OpenPose's limbs as the official code draws them (1-based)
DOT_SPANS = ((-4, 0), (-3, 2), (-2, 3), (-1, 3), (0, 4), (1, 3), (2, 3), (3, 2), (4, 0))  # (row, half width)
COLOURS = ((255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
           (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
           (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85))


def drive(file_id, filename, note=""):
    """The mirrors of a Google Drive file: the direct download endpoint, then the older one (both answer an HTML
    page instead when Drive refuses, which the downloader detects)."""
    return (Mirror((f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t",), filename,
                   note or "Google Drive (the X-MDPT README's link)"),
            Mirror((f"https://drive.google.com/uc?export=download&id={file_id}",), filename, "Google Drive, older endpoint"))


def deepfashion_folder():
    """The DeepFashion folder (PIDM's layout): $SEMANTIC_BOTTLENECK_DEEPFASHION, else the user cache's."""
    return Path(os.environ.get(DATA_ENV) or Path.home() / ".cache" / "semantic-bottleneck" / "data" / "deepfashion")


#################################################################################
#                         DeepFashion pairs and skeletons                        #
#################################################################################

def read_pairs(folder):
    """(target, [source candidates]) per line of `test_pairs.txt`, names as the LMDB keys them (.png)."""
    path = Path(folder) / "test_pairs.txt"
    if not path.is_file():
        raise FileNotFoundError(f"DeepFashion folder {folder} has no test_pairs.txt (PIDM's layout; set ${DATA_ENV} "
                                "or the notebook's deepfashion_dir)")
    pairs = []
    for line in path.read_text().splitlines():
        names = [n.strip().replace(".jpg", ".png") for n in line.split(",") if n.strip()]
        if len(names) >= 2:
            pairs.append((names[0], names[1:]))
    return pairs


def keypoints(folder, name, side=IMAGE_SIDE):
    """The 18 keypoints (18, 2) of an image, in its pixels: the official shift by 40 and 176/256 scaling; -1 = missing."""
    text = Path(folder) / name.replace("img/", "pose/").replace(".png", ".txt")
    points = np.loadtxt(text).reshape(-1, 2)  # (18, 2)
    missing = points == -1
    points = np.stack([(points[:, 0] - 40) * side / 176.0, points[:, 1] * side / 256.0], axis=1)
    points[missing] = -1
    return points


def ellipse_polygon(centre, axes, angle):
    """OpenCV's `ellipse2Poly(centre, axes, angle, 0, 360, 1)`: integer vertices, repeats dropped."""
    a, b = math.cos(math.radians(angle % 360)), math.sin(math.radians(angle % 360))
    points = []
    for degree in range(0, 361):
        x, y = axes[0] * math.cos(math.radians(degree)), axes[1] * math.sin(math.radians(degree))
        point = (round(centre[0] + x * a - y * b), round(centre[1] + x * b + y * a))
        if not points or point != points[-1]:
            points.append(point)
    return points


def draw_skeleton(points, side=IMAGE_SIDE):
    """The official OpenPose drawing of 18 keypoints (18, 2) as an image (3, S, S) in [0, 1], with PIL."""
    from PIL import Image, ImageDraw

    image = np.zeros((side, side, 3))
    for (x, y), colour in zip(points, COLOURS):
        if x == -1 or y == -1:
            continue
        for dy, half in DOT_SPANS:  # OpenCV's filled circle of radius 4, row by row
            row = int(y) + dy
            if 0 <= row < side:
                image[row, max(int(x) - half, 0):max(int(x) + half + 1, 0)] = colour
    for (i, j), colour in zip(LIMBS, COLOURS):
        (x0, y0), (x1, y1) = points[i - 1], points[j - 1]
        if -1 in (x0, y0, x1, y1):
            continue
        limb = Image.fromarray(image.astype(np.uint8))
        polygon = ellipse_polygon((int((x0 + x1) / 2), int((y0 + y1) / 2)),
                                  (int(math.hypot(x0 - x1, y0 - y1) / 2), 4), int(math.degrees(math.atan2(y0 - y1, x0 - x1))))
        ImageDraw.Draw(limb).polygon(polygon, fill=colour)
        image = np.clip(np.rint(0.4 * image + 0.6 * np.asarray(limb, dtype=np.float64)), 0, 255)
    pose = torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1).float() / 255  # OpenCV's BGR -> RGB swap
    return pose / pose.max().clamp(min=1e-12)


class DeepFashionImages:
    """DeepFashion images by name: from the `256-256` LMDB when there is one (needs `lmdb`), else from files."""

    def __init__(self, folder):
        self.folder, self._txn = Path(folder), None
        self.lmdb = (self.folder / "256-256" / "data.mdb").is_file()

    def __call__(self, name):
        """The image (3, 256, 256) in [-1, 1] (resized bicubically when the stored one is another size)."""
        from PIL import Image

        if self.lmdb:
            if self._txn is None:
                import lmdb

                env = lmdb.open(str(self.folder / "256-256"), readonly=True, lock=False, readahead=False, meminit=False)
                self._txn = env.begin(buffers=True)
            data = self._txn.get(name.encode("utf-8"))
            if data is None:
                raise KeyError(f"DeepFashion LMDB {self.folder / '256-256'} has no image {name!r}")
            image = Image.open(io.BytesIO(bytes(data)))
        else:
            path = self.folder / name
            image = Image.open(path if path.is_file() else path.with_suffix(".jpg"))
        image = image.convert("RGB")
        if image.size != (IMAGE_SIDE, IMAGE_SIDE):
            image = image.resize((IMAGE_SIDE, IMAGE_SIDE), Image.BICUBIC)
        return torch.from_numpy(np.asarray(image, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1


#################################################################################
#                        DINOv2 tokens and the fine-tuned VAE                     #
#################################################################################

def hub_position_embedding(embeddings, tokens, height, width):
    """DINOv2's position embedding for a height x width input as the torch.hub model computes it (X-MDPT's):
    bicubic, scale factor (grid + 0.1) / trained grid, no antialias; transformers' own uses the target size."""
    table = embeddings.position_embeddings
    side, dim = int(math.sqrt(table.shape[1] - 1)), table.shape[-1]
    rows, columns = height // embeddings.patch_size, width // embeddings.patch_size
    grid = table[:, 1:].float().reshape(1, side, side, dim).permute(0, 3, 1, 2)  # (1, F, side, side)
    grid = F.interpolate(grid, scale_factor=((rows + 0.1) / side, (columns + 0.1) / side), mode="bicubic",
                         antialias=False)
    return torch.cat([table[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, dim).to(table.dtype)], dim=1)  # (1, T, F)


class DinoTokens:
    """DINOv2 tokens (N, 257, F), CLS first, of images resized to 224 as X-MDPT feeds them (bicubic, unnormalised)."""

    def __init__(self, model, name, device="cpu"):
        self.model, self.name, self.device = model.to(device).eval(), name, device
        model.embeddings.interpolate_pos_encoding = MethodType(hub_position_embedding, model.embeddings)

    @torch.no_grad()
    def __call__(self, images):
        resized = F.interpolate(images.float().to(self.device), size=(DINO_SIDE, DINO_SIDE), mode="bicubic",
                                align_corners=False, antialias=False)
        return self.model(pixel_values=resized).last_hidden_state.half().cpu()


def load_dino(role, device="cpu"):
    """The DINOv2 encoder X-MDPT reads a `pose` (ViT-B/14) or `source` image (ViT-G/14) with, from Hugging Face."""
    from transformers import Dinov2Model

    repo = DINOV2[role]
    return DinoTokens(from_hub(f"DINOv2 {repo}", lambda: Dinov2Model.from_pretrained(repo)), repo, device)


def load_vae(path, device="cpu"):
    """X-MDPT's fine-tuned VAE (diffusers `AutoencoderKL`) from a folder saved with `save_pretrained`, or a zip of one."""
    from diffusers import AutoencoderKL

    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        folder = path.with_name(path.name + ".unzipped")
        if not folder.is_dir():
            with zipfile.ZipFile(path) as archive:
                archive.extractall(folder.with_name(folder.name + ".part"))
            os.replace(folder.with_name(folder.name + ".part"), folder)
        path = folder
    configs = sorted(path.rglob("config.json")) if path.is_dir() else []
    if not configs:
        raise ValueError(f"VAE {path} must be a diffusers AutoencoderKL folder (config.json) or a zip of one")
    return AutoencoderKL.from_pretrained(configs[0].parent).to(device).eval()


#################################################################################
#                        The condition source and the model                      #
#################################################################################

class DeepFashionPairs:
    """Condition source of X-MDPT: global index i -> test pair i (`test_pairs.txt`), as the network reads it."""

    def __init__(self, folder, pose_dino, source_dino, vae, seed=0):
        self.folder, self.pose_dino, self.source_dino, self.vae, self.seed = Path(folder), pose_dino, source_dino, vae, seed
        self.pairs_list, self.images = read_pairs(folder), DeepFashionImages(folder)

    def names(self, index):
        """(target, source) names of pair `index`; the source drawn among the candidates by (seed, index)."""
        if not 0 <= int(index) < len(self.pairs_list):
            raise ValueError(f"index must be in 0..{len(self.pairs_list) - 1} (the folder's test pairs); got {index!r}")
        target, sources = self.pairs_list[int(index)]
        pick = torch.randint(len(sources), (1,), generator=torch.Generator().manual_seed(self.seed * 1_000_003 + int(index)))
        return target, sources[int(pick)]

    def answers(self, indices):
        """The target images (N, 3, 256, 256) in [-1, 1] of the pairs at global indices."""
        return torch.stack([self.images(self.names(i)[0]) for i in indices])

    def sources(self, indices):
        """The source images (N, 3, 256, 256) in [-1, 1]."""
        return torch.stack([self.images(self.names(i)[1]) for i in indices])

    def skeletons(self, indices):
        """The target skeletons (N, 3, 256, 256) in [0, 1], drawn from the target's keypoints."""
        return torch.stack([draw_skeleton(keypoints(self.folder, self.names(i)[0])) for i in indices])

    @torch.no_grad()
    def latents(self, sources, indices):
        """Posterior samples of the VAE times 0.18215 (N, 4, 32, 32), noise seeded by (seed, index)."""
        device = next(self.vae.parameters()).device
        posterior = self.vae.encode(sources.to(device)).latent_dist
        noise = torch.stack([torch.randn(posterior.mean.shape[1:], generator=torch.Generator().manual_seed(
            self.seed * 1_000_003 + int(i) + 7)) for i in indices]).to(device)
        return ((posterior.mean + posterior.std * noise) * LATENT_SCALE).float().cpu()

    def condition(self, skeletons, sources, indices):
        """The condition batch of skeletons in [0, 1] and source images in [-1, 1] (N, 3, 256, 256)."""
        return {"pose_tokens": self.pose_dino(skeletons), "source_tokens": self.source_dino(sources),
                "source_latent": self.latents(sources, indices), "keep": torch.ones(len(sources))}

    def for_indices(self, indices):
        """The condition batch of the pairs at global indices."""
        return self.condition(self.skeletons(indices), self.sources(indices), indices)

    def null_like(self, batch):
        """The unconditional (CFG) batch: y zeroed (`keep` = 0), as the official forward with prob = 1."""
        return {**batch, "keep": torch.zeros_like(batch["keep"])}

    def describe(self, count):
        """One line for protocol tables."""
        return f"the first {count} DeepFashion test pairs of {self.folder} (PIDM's test_pairs.txt; pair = index)"

    def shown(self, indices):
        """Source, target pose and answer (each (N, 3, 256, 256) in [-1, 1]) of the pairs, for figures."""
        return {"source": self.sources(indices), "target pose": self.skeletons(indices) * 2 - 1,
                "answer": self.answers(indices)}

    def cross(self, source_indices, pose_indices):
        """Condition batch of every (source of pair p, target skeleton of pair q), p-major: (P Q) conditions."""
        sources, skeletons = self.sources(source_indices), self.skeletons(pose_indices)
        p, q = len(sources), len(skeletons)
        repeated = [int(i) for i in source_indices for _ in range(q)]
        return self.condition(skeletons.repeat(p, 1, 1, 1), sources.repeat_interleave(q, dim=0), repeated)


def load_xmdpt(path, decode_layer=2):
    """An `XMDPT` holding an official checkpoint file (strict key match; ValueError naming keys that do not fit)."""
    state = dict(read_tensors(path))
    try:
        network = XMDPT(infer_config(state, decode_layer))
    except (KeyError, ValueError) as err:
        raise ValueError(f"checkpoint {path} is not an X-MDPT checkpoint: {err}") from None
    missing, unexpected = network.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"checkpoint {path} does not fit X-MDPT's layout: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}")
    return network.eval()


_LOADED = {}  # (model name, device) -> LoadedNetwork
_PAIRS = {}  # (data folder, VAE file, device) -> DeepFashionPairs, shared by X-MDPT's sizes


def deepfashion_pairs(vae_path, device="cpu"):
    """The DeepFashion pairs of the data folder with the DINOv2 encoders and the VAE on `device` (loaded once)."""
    key = (str(deepfashion_folder()), str(vae_path), str(device))
    if key not in _PAIRS:
        _PAIRS[key] = DeepFashionPairs(key[0], load_dino("pose", device), load_dino("source", device),
                                       load_vae(vae_path, device))
    return _PAIRS[key]


@dataclass(frozen=True)
class XMDPTCheckpoint:
    """An X-MDPT checkpoint in the official layout with the fine-tuned VAE; `decode_layer` is not in the weights
    (the official inference builds the network with 2)."""

    weights: ModelWeights
    vae: ModelWeights
    decode_layer: int = 2

    def network(self, model, profile, device="cpu", progress=True):
        """The network (strict key match), its VAE decoder and the DeepFashion pairs of the data folder."""
        key = (model.name, str(device))
        if key not in _LOADED:
            network = load_xmdpt(fetch_weights(self.weights, progress=progress), self.decode_layer).to(device)
            pairs = deepfashion_pairs(fetch_weights(self.vae, progress=progress), device)
            reference = pairs.for_indices(range(min(REFERENCE_PAIRS, len(pairs.pairs_list))))
            embedding = PairEmbedding(network, reference, family=model.family, model=model.name, t0=999,
                                      time_convention="integer DDPM t in 0..999, 999 = noise",
                                      source=str(fetch_weights(self.weights, progress=False)), weights="EMA",
                                      format="torch", conditions=f"{len(reference['keep'])} DeepFashion test pairs")
            _LOADED[key] = LoadedNetwork(network, embedding, VaeDecoder(pairs.vae), pairs, model.family,
                                         network.config.hidden_size, None, {"vae": self.vae.name,
                                                                            "decode_layer": self.decode_layer})
        return _LOADED[key]

    def embedding(self, model, profile, progress=True):
        """c over the first `REFERENCE_PAIRS` DeepFashion test pairs (a `nets.xmdpt.PairEmbedding`)."""
        return self.network(model, profile, "cpu", progress).embedding

    def class_names(self, model, profile):
        """None: the condition is a pair, not a class."""
        return None
