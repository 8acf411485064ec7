"""Every model name a notebook or a command may pass, in one place: adding a model is one entry of `MODELS`.

An entry holds the model's family record (width, time convention, t0, t's range, license: a
`checkpoints.families.Family`), where its weights come from and how they load (its `source`: a checkpoint in its
official layout with mirrors and decoder, diffusers, or a tiny model trained here), the sampler preset it runs with
(a name of `sampling.presets.PRESETS`), what it is conditioned on, the paper's column and tables for it, and the
configuration of its network at its released size (the compute chapter's cost table). Every table keyed by family or
architecture is derived from here and from the networks themselves: `family_facts`/`families_frame` from the entries,
`architectures` from their configurations, and a network's class from its configuration (`nets.architectures`).
`model(name)` rejects an unknown name with the list of known ones.
"""
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from .checkpoints.compressed import CompressedModel
from .checkpoints.download import Mirror, ModelWeights, fetch_weights, hf_url, split_parts
from .checkpoints.families import (AUDIOLDM, DIFFUSERS_DIT, DIT, LIGHTNINGDIT, MDSGEN, MDT, MG, REPA, SD3, SIT, TINY,
                                   TINY_POSE, TINY_V2A, UVIT, XMDPT, Family)
from .checkpoints.files import CheckpointError
from .checkpoints.gains import check_family, read_gains
from .checkpoints.read import read_condition_embedding
from .checkpoints.sources import DiffusersDiT, OfficialCheckpoint, SdVae, Vavae
from .checkpoints.mdsgen import MDSGenCheckpoint
from .checkpoints.mechanism_readers import STATS_ONLY, AudioLDMText, SD3Text, UViTCheckpoint
from .checkpoints.xmdpt import XMDPTCheckpoint, drive
from .condition.compress import GATHER, compressed_index
from .condition.reach import modulation_gains
from .nets.dit import CONFIGS as DIT_CONFIGS
from .nets.lightningdit import LightningDiTConfig
from .nets.mdsgen import MDSGenConfig
from .nets.mdt import MDTConfig
from .nets.xmdpt import CONFIGS as XMDPT_CONFIGS
from .paper import paper_value
from .tiny.sounds.audio_model import TinyAudioModel
from .tiny.classes.class_model import TinyClassModel
from .tiny.classes.mechanism_models import TinyMechanismModel
from .tiny.people.pose_model import TinyPoseModel

CONDITIONS = {
    "imagenet classes": "one of ImageNet's 1000 classes (a row of the class table)",
    "shape classes": "one of the procedural shape classes (shape x colour)",
    "video frame features": "a procedural clip's frames through the frozen frame encoder (16 x 32 features)",
    "cavp video features": "CAVP features of a video (32 frames x 512 at 4 fps, from the user's .npz files)",
    "person pairs": "a target pose (skeleton image) and a source image of a procedural person (tokens of stand-in "
                    "encoders)",
    "deepfashion pairs": "a target pose (OpenPose skeleton) and a source image of a DeepFashion test pair (DINOv2 "
                         "B/14 and G/14 tokens, VAE latent)",
    "imagenet prompts": "a text prompt 'a photo of a {name}' per ImageNet class name (pooled CLIP-L + CLIP-G)",
    "sound captions": "a caption 'the sound of a {name}' per sound class of data/sound_classes.csv (CLAP text)",
}


@dataclass(frozen=True)
class Model:
    """One registered model: family record, source of its weights and network, sampler, condition, paper column and
    tables, and its network at its released size.

    `facts` is the family's record (`family` is its name); `paper_tables` is (table of its pruning FID/IS/CLIP, that
    table's row prefix, Table 6's row prefix), or None when the paper has no pruning numbers for it; `not_sampled`
    says why a model has no sampling path here; `architecture` is (label of the cost table, the network's
    configuration at its released size), or None for a model trained here (measured as loaded) or one whose network
    is not built here.
    """

    name: str
    facts: Family
    source: object
    sampler: str | None
    condition: str
    paper_column: str | None = None
    paper_tables: tuple | None = None
    not_sampled: str = ""
    note: str = ""
    architecture: tuple | None = None

    @property
    def family(self):
        """The family's name."""
        return self.facts.name


# Every Mirror's sha256 and size below is None: no published hash or exact byte size of these files can be cited
# from a source at hand (reference/models.md: sizes UNCONFIRMED); the cache records both on first download, says so.
_MG_RELEASE = "https://github.com/tzco/diffusion-wo-cfg/releases/download/1.0"
_ONE_COPY = "UNCONFIRMED (about 2.7 GB per fp32 copy of 675M parameters)"
_VAVAE = "hustvl/vavae-imagenet256-f16d32-dinov2"
_MDSGEN_DRIVE_ID = "1XZoK-uU0mTWeRLilLZ_FtysRgearBxOp"  # triton99/MDSGen README, "Download Checkpoints"
SD_VAE_EMA, SD_VAE_MSE = SdVae("stabilityai/sd-vae-ft-ema"), SdVae("stabilityai/sd-vae-ft-mse")
DECODERS = {w.name: w for w in (  # files that decode a model's samples, not diffusion models themselves
    ModelWeights("vavae-f16d32", "MIT", (
        Mirror((hf_url(_VAVAE, "vavae-imagenet256-f16d32-dinov2.pt"),), "vavae-imagenet256-f16d32-dinov2.pt"),),
        "UNCONFIRMED", note="VA-VAE tokenizer of LightningDiT (LDM KL-autoencoder layout)"),
    ModelWeights("vavae-f16d32-latent-stats", "MIT", (
        Mirror((hf_url(_VAVAE, "latents_stats.pt"),), "latents_stats.pt"),),
        "UNCONFIRMED (a few kB)", note="per-channel mean/std LightningDiT's latents are normalised with"),
)}
VAVAE = Vavae(DECODERS["vavae-f16d32"], DECODERS["vavae-f16d32-latent-stats"])
XMDPT_VAE = ModelWeights("xmdpt-vae", "Apache-2.0", drive("1zjoCLuJV-_d-pq7f_N0vZXppUkq8LTP0", "diffuser_finetune_vae.zip"),
                         "UNCONFIRMED (about 330 MB: an SD-VAE with its decoder fine-tuned on DeepFashion)",
                         note="X-MDPT's VAE: a diffusers AutoencoderKL folder, expected zipped (format UNCONFIRMED)")
# Table 2's tail tau = 0.01 row keeps this share of REPA's c (the compressed tiny model keeps as much of its own)
_KEPT_T2 = 1 - paper_value("T2", "tail_tau0.01_every_step", "removed_dims") / paper_value("T1", "d", "REPA")
_DIT_LEARNED_SIGMA = ("DiT-XL/2, SiT-XL/2 (learned variance)", replace(DIT_CONFIGS["DiT-XL/2"], learn_sigma=True))
_SIT_NO_SIGMA = ("REPA, MG (SiT-XL/2, no variance)", DIT_CONFIGS["DiT-XL/2"])
_LIGHTNINGDIT_XL = ("LightningDiT-XL/1", LightningDiTConfig())
_MDT_V2 = ("is an MDTv2, whose U-shaped encoder/decoder blocks with skip connections this project does not "
           "implement (MDT v1, `mdt-xl`, can be sampled)")

MODELS = {m.name: m for m in (
    # DDIM 10 steps: its class agreement matched 20 steps' (0.86 and 0.85 on 400 samples), at half the cost
    Model("tiny-class", TINY, TinyClassModel(), "tiny-ddim-10", "shape classes", paper_tables=("T2", "", "REPA/"),
          note="trained here; its pruning rows are analogs of REPA's Table 2"),
    Model("tiny-class-compressed", TINY, CompressedModel(TinyClassModel(), "tiny-class", _KEPT_T2), "tiny-ddim-10",
          "shape classes", note=f"tiny-class with every modulation layer keeping the {100 * _KEPT_T2:.0f}% largest "
                                "coordinates of its mean c at t0 (Table 2's tau = 0.01 share): compressed and saved here"),
    # the same task conditioned two other ways (the mechanisms chapter): tiny-class's training, only the path changed
    Model("tiny-in-context", TINY, TinyMechanismModel("in-context"), "tiny-ddim-10", "shape classes",
          note="tiny-class with t and y as two tokens before the patch tokens (U-ViT's in-context conditioning)"),
    Model("tiny-cross-attention", TINY, TinyMechanismModel("cross-attention"), "tiny-ddim-10", "shape classes",
          note="tiny-class with y as 4 cross-attention context tokens in every block, t by adaLN-Zero (PixArt-alpha's "
               "split)"),
    Model("dit-xl", DIT, OfficialCheckpoint(ModelWeights("dit-xl", "CC-BY-NC-4.0", (
        Mirror(("https://dl.fbaipublicfiles.com/DiT/models/DiT-XL-2-256x256.pt",), "DiT-XL-2-256x256.pt"),
        Mirror((hf_url("city96/DiT", "DiT-XL-2-256x256-fp16.safetensors"),), "DiT-XL-2-256x256-fp16.safetensors",
               "fp16 copy in the original layout; statistics agree to fp16 precision")),
        "about 2.7 GB (exact bytes UNCONFIRMED)"), SD_VAE_EMA), "dit-ddpm-250-fid", "imagenet classes", "DiT",
          note="DiT's FID script: cfg 1.5, sd-vae-ft-ema (sample_ddp.py)", architecture=_DIT_LEARNED_SIGMA),
    Model("sit-xl", SIT, OfficialCheckpoint(ModelWeights("sit-xl", "MIT", (
        Mirror((hf_url("nyu-visionx/SiT-collections", "SiT-XL-2-256.pt"),), "SiT-XL-2-256.pt",
               "authors' Hugging Face home since 2025-11 (willisma/SiT#42); file name in the repo UNCONFIRMED"),
        Mirror(("https://www.dl.dropboxusercontent.com/scl/fi/as9oeomcbub47de5g4be0/SiT-XL-2-256.pt"
                "?rlkey=uxzxmpicu46coq3msb17b9ofa&dl=0",), "SiT-XL-2-256.pt", "Dropbox, deprecated by the authors")),
        _ONE_COPY), SD_VAE_MSE), "sit-euler-250", "imagenet classes", "SiT",
          note="SiT's sample.py: ODE, cfg 4.0, sd-vae-ft-mse", architecture=_DIT_LEARNED_SIGMA),
    Model("repa-xl", REPA, OfficialCheckpoint(ModelWeights("repa-xl", "MIT", (
        Mirror(("https://www.dl.dropboxusercontent.com/scl/fi/cxedbs4da5ugjq5wg3zrg/last.pt"
                "?rlkey=8otgrdkno0nd89po3dpwngwcc&st=apcc645o&dl=0",), "last.pt", "REPA utils.py download link"),
        split_parts(_MG_RELEASE, "SiT-XL-2-REPA")), _ONE_COPY), SD_VAE_EMA), "repa-sde-250", "imagenet classes",
          "REPA", ("T2", "", "REPA/"), architecture=_SIT_NO_SIGMA),
    Model("mg-xl", MG, OfficialCheckpoint(ModelWeights("mg-xl", "UNCONFIRMED", (split_parts(_MG_RELEASE, "SiT-XL-2-MG"),),
                                                         _ONE_COPY), SD_VAE_EMA),
          "mg-sde-250", "imagenet classes", "MG", ("T3", "MG/", "MG/"), architecture=_SIT_NO_SIGMA),
    Model("lightningdit-xl", LIGHTNINGDIT, OfficialCheckpoint(ModelWeights("lightningdit-xl", "MIT", (
        Mirror((hf_url("hustvl/lightningdit-xl-imagenet256-800ep", "lightningdit-xl-imagenet256-800ep.pt"),),
               "lightningdit-xl-imagenet256-800ep.pt"),), _ONE_COPY, note="800 epochs, FID 1.35 with CFG"), VAVAE),
          "lightningdit-euler-250", "imagenet classes", "LightningDiT", ("T3", "LightningDiT/", "LightningDiT/"),
          architecture=_LIGHTNINGDIT_XL),
    Model("lightningdit-xl-64ep", LIGHTNINGDIT, OfficialCheckpoint(ModelWeights("lightningdit-xl-64ep", "MIT", (
        Mirror((hf_url("hustvl/lightningdit-xl-imagenet256-64ep", "lightningdit-xl-imagenet256-64ep.pt"),),
               "lightningdit-xl-imagenet256-64ep.pt"),), _ONE_COPY, note="64 epochs, FID 2.11 with CFG"), VAVAE),
          "lightningdit-64ep-euler-250", "imagenet classes", "LightningDiT", architecture=_LIGHTNINGDIT_XL),
    Model("mdt-xl", MDT, OfficialCheckpoint(ModelWeights("mdt-xl", "Apache-2.0", (
        Mirror((hf_url("shgao/MDT-XL2", "mdt_xl2_v1_ckpt.pt"),), "mdt_xl2_v1_ckpt.pt"),), _ONE_COPY), SD_VAE_MSE),
          "mdt-ddpm-500", "imagenet classes", "MDT", architecture=("MDT-XL/2 (v1)", MDTConfig())),
    Model("mdt-v2-xl", MDT, OfficialCheckpoint(ModelWeights("mdt-v2-xl", "Apache-2.0", (
        Mirror((hf_url("shgao/MDT-XL2", "mdt_xl2_v2_ckpt.pt"),), "mdt_xl2_v2_ckpt.pt"),), _ONE_COPY)),
          None, "imagenet classes", "MDT", not_sampled=_MDT_V2),
    Model("diffusers-dit-xl", DIFFUSERS_DIT, DiffusersDiT(ModelWeights("diffusers-dit-xl", "CC-BY-NC-4.0", (
        Mirror((hf_url("facebook/DiT-XL-2-256", "transformer/diffusion_pytorch_model.bin"),),
               "diffusion_pytorch_model.bin", "the only transformer file on main (pickle, 28 embedder copies)"),
        Mirror((hf_url("facebook/DiT-XL-2-256", "transformer/diffusion_pytorch_model.safetensors", "refs/pr/1"),),
               "diffusion_pytorch_model.safetensors", "unmerged PR branch refs/pr/1")), "about 3 GB"),
        "facebook/DiT-XL-2-256", SdVae("facebook/DiT-XL-2-256", "vae")), "diffusers-dit-ddim-50", "imagenet classes",
          "DiT", note="DiTPipeline's defaults and its own VAE"),
    # other conditioning mechanisms (paper profile, Tables 4 and 5): statistics only
    Model("uvit-h", UVIT, UViTCheckpoint(ModelWeights("uvit-h", "MIT (code; weights UNCONFIRMED)", (
        *drive("13StUdrjaaSXjfqqF7M47BzPyhMAArQ4u", "imagenet256_uvit_huge.pth", "Google Drive (U-ViT README)"),
        Mirror(("https://www.modelscope.cn/models/thu-ml/imagenet256_uvit_huge/resolve/master/"
                "imagenet256_uvit_huge.pth",), "imagenet256_uvit_huge.pth",
               "ModelScope thu-ml/imagenet256_uvit_huge (URL form UNCONFIRMED)")),
        "UNCONFIRMED (about 2 GB: U-ViT-H/2, about 500M fp32 parameters)")), None, "imagenet classes", "UViT",
          not_sampled=STATS_ONLY, note="U-ViT-H/2, ImageNet 256 (FID 2.29); the paper does not name its checkpoint"),
    Model("sd3-medium", SD3, SD3Text("stabilityai/stable-diffusion-3-medium-diffusers"), None, "imagenet prompts",
          "SD3.0-2B", not_sampled=STATS_ONLY, note="SD3-medium (2B), gated; reads time_text_embed and the two CLIPs"),
    Model("sd3.5-large", SD3, SD3Text("stabilityai/stable-diffusion-3.5-large"), None, "imagenet prompts",
          "SD3.0-8B", not_sampled=STATS_ONLY, note="stands in for the paper's 'SD3.0 (8B)': no public release has "
                                                  "that name; gated; reads time_text_embed and the two CLIPs"),
    Model("audioldm-s-full-v2", AUDIOLDM, AudioLDMText("cvssp/audioldm-s-full-v2"), None, "sound captions",
          "AudioLDM", not_sampled=STATS_ONLY, note="AudioLDM 1; the paper's 'cross-attention' label does not fit it: "
                                                   "its text enters as a class embedding beside t"),
    # pose-guided person images
    Model("tiny-pose", TINY_POSE, TinyPoseModel(), "tiny-pose-ddim-10", "person pairs",
          note="trained here on procedural people; the pose-guided analog of X-MDPT (DINOv2 stand-ins: small encoders)"),
    *(Model(f"xmdpt-{size.lower()}", XMDPT, XMDPTCheckpoint(ModelWeights(
        f"xmdpt-{size.lower()}", "Apache-2.0", drive(file_id, f"XMDPT_{size}_2_ema_0.9999_300000.pt"),
        f"UNCONFIRMED (about {megabytes} MB: {params}M fp32 parameters with the training-only blocks)"), XMDPT_VAE),
        "xmdpt-ddim-50", "deepfashion pairs", f"X-MDPT-{size}",
        note="decode_layer 2 as infer_xmdpt.py; DINOv2 from Hugging Face; never run on real weights here",
        architecture=(f"X-MDPT-{size}/2", XMDPT_CONFIGS[f"X-MDPT-{size}/2"]))
      for size, file_id, megabytes, params in (("S", "1loztAzrL6sQI7rarwb_x2233ZwNTVlvD", 156, 39.1),
                                              ("B", "1nNPWGhvRZVwjBMfgilbgZNdcn1I1DUgH", 615, 153.7),
                                              ("L", "1No_WJBD25HVmYLaKirrI_7k04RpOkNos", 1996, 498.9))),
    # video to audio
    Model("tiny-mdsgen", TINY_V2A, TinyAudioModel(), "tiny-v2a-dpmpp-20", "video frame features",
          note="trained here on procedural clips; the video-to-audio analog of MDSGen (CAVP stand-in: a frame encoder)"),
    Model("mdsgen-b", MDSGEN, MDSGenCheckpoint(ModelWeights("mdsgen-b", "UNCONFIRMED", (
        Mirror((f"https://drive.usercontent.google.com/download?id={_MDSGEN_DRIVE_ID}&export=download&confirm=t",),
               "mdsgen_audioldm.pt",
               "Google Drive (README link); a quota page arrives as HTML and is refused"),
        Mirror((f"https://drive.google.com/uc?export=download&id={_MDSGEN_DRIVE_ID}",), "mdsgen_audioldm.pt",
               "older Drive endpoint")), "UNCONFIRMED (about 570 MB: 142.3M fp32 parameters)"),
        ModelWeights("mdsgen-cavp-example", "UNCONFIRMED", (Mirror((
            "https://raw.githubusercontent.com/triton99/MDSGen/main/sources/__2MwJ2uHu0_000004.npz",),
            "__2MwJ2uHu0_000004.npz", "the official example's CAVP features (40 x 512)"),), "82 kB"),
        decode_layer=4), "mdsgen-dpmpp-50", "cavp video features", "MDSGen",
          note="decode_layer 4 as inference.py; VAE and vocoder: cvssp/audioldm-s-full-v2; never run on real weights here",
          architecture=("MDSGen-B/2", MDSGenConfig())),
)}


def model(name):
    """The registry entry of a model name; ValueError listing every known name."""
    if name not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}; got {name!r}")
    return MODELS[name]


def family_facts(name):
    """The family record of a family name, from the registry's entries; ValueError listing the known names."""
    found = {m.family: m.facts for m in MODELS.values()}
    if name not in found:
        raise CheckpointError(f"family must be one of {', '.join(found)}; got {name!r}")
    return found[name]


def family_names():
    """Every registered family's name, in registry order."""
    return tuple(dict.fromkeys(m.family for m in MODELS.values()))


def families_frame():
    """The families of the registered models as a table (one row per family; null_row None means the last row)."""
    import pandas as pd

    return pd.DataFrame([asdict(family_facts(name)) for name in family_names()]).astype(
        {"d": "Int64", "null_row": "Int64"}).set_index("name")


def architectures():
    """The released networks' configurations as the compute chapter counts them: label -> configuration (one per
    label, in registry order)."""
    found = {}
    for entry in MODELS.values():
        if entry.architecture is not None:
            found.setdefault(*entry.architecture)
    return found


def load_embedding(name_or_path, profile="tiny", family=None, progress=True):
    """c's class table and timestep MLP (`ConditionEmbedding`) of a registry name, or of a checkpoint path.

    A path is read with `family` (detected from its keys where the file allows); a name through its source.
    """
    name = str(name_or_path)
    if name in MODELS and not Path(name).exists():
        entry = MODELS[name]
        if family not in (None, entry.family):
            raise ValueError(f"family must be {entry.family} for {name} (or not given); got {family!r}")
        return entry.source.embedding(entry, profile, progress)
    path = Path(name).expanduser()
    if not path.exists():
        raise ValueError(f"model must be an existing checkpoint path or one of {', '.join(MODELS)}; got {name!r}")
    return read_condition_embedding(path, family)


def load_gains(name_or_path, profile="tiny", family=None, progress=True):
    """The gain of each coordinate of c (D,) over the modulation Linears (`condition.reach`): of a registry name, or
    of a checkpoint path.

    A released checkpoint's gains are read from its file's modulation weights alone (`checkpoints.gains`); a model
    trained here is loaded and measured (`condition.reach.modulation_gains`; a compressed one's dropped coordinates
    have gain 0). A path is read with `family` (detected from its keys where the file allows).
    """
    name = str(name_or_path)
    if name in MODELS and not Path(name).exists():
        entry = MODELS[name]
        if family not in (None, entry.family):
            raise ValueError(f"family must be {entry.family} for {name} (or not given); got {family!r}")
        weights = getattr(entry.source, "weights", None)  # a released checkpoint's file
        if weights is not None or entry.not_sampled:  # released: read from the file, never loaded whole
            check_family(entry.family)  # refuses a family without gains here before any download
            return read_gains(fetch_weights(weights, progress=progress), entry.family)
        network = load_network(name, profile, progress=progress).network
        gains, index = modulation_gains(network), compressed_index(network)
        return gains if index is None else torch.zeros(getattr(network, GATHER).width).index_copy(0, index, gains)
    path = Path(name).expanduser()
    if not path.exists():
        raise ValueError(f"model must be an existing checkpoint path or one of {', '.join(MODELS)}; got {name!r}")
    return read_gains(path, family)


def load_network(name, profile, device="cpu", progress=True):
    """A `LoadedNetwork` (network, c's tensors, decoder, conditions) of a registry name, ready to sample."""
    entry = model(name)
    if entry.not_sampled:
        raise ValueError(f"model {name} cannot be sampled here: it {entry.not_sampled}")
    return entry.source.network(entry, profile, device, progress)


def class_names(name, profile):
    """The class names of a model's label space."""
    entry = model(name)
    return entry.source.class_names(entry, profile)


def paper_column(name):
    """The paper's column for a model (e.g. "REPA"), or None for models the paper does not study."""
    return model(name).paper_column if name in MODELS else None


def registry_frame():
    """Every registered model as a table: family, condition, sampler, paper column and tables, why not sampled."""
    import pandas as pd

    return pd.DataFrame([{"model": m.name, "family": m.family, "condition": m.condition,
                          "sampler": m.sampler or "", "paper column": m.paper_column or "",
                          "paper tables": "" if m.paper_tables is None else f"{m.paper_tables[0]}, T6",
                          "not sampled here": m.not_sampled, "note": m.note} for m in MODELS.values()]).set_index("model")
