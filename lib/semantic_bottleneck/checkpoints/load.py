"""Load released checkpoints into this project's networks (strict key match), and their decoders.

DiT, SiT, REPA and Model-Guidance checkpoints use the facebookresearch/DiT key names, which `nets.dit.DiT`
shares (timm's `attn.qkv`/`attn.proj`, `mlp.fc1`/`mlp.fc2`, `x_embedder.proj`; `pos_embed` is stored in the
checkpoint, so its values come from there); REPA adds `projectors.*` (training-only, dropped here).
MDT v1 checkpoints load into `nets.mdt.MDT`. LightningDiT checkpoints load into `nets.lightningdit.LightningDiT`
and decode with the VA-VAE
(`nets.vavae`) after `latents_stats.pt`'s de-normalisation; the others decode with an SD-VAE (diffusers).
"""
import json

import torch

from ..nets import lightningdit, mdt
from ..nets.dit import DiT, infer_config
from ..nets.vavae import VavaeDecoder, decoder_config
from .download import from_hub
from .files import read_tensors

SAMPLED_FAMILIES = ("dit", "sit", "repa", "mg", "mdt", "lightningdit")  # families whose networks load here
DROPPED_PREFIXES = {"repa": ("projectors.",)}
SD_VAE_SCALE = 0.18215


def load_official(state, family, num_heads=None):
    """A `nets.dit.DiT` (or `nets.lightningdit.LightningDiT`) holding an official-layout state dict (strict; the
    error names keys that do not fit)."""
    if family not in SAMPLED_FAMILIES:
        raise ValueError(f"family must be one of {', '.join(SAMPLED_FAMILIES)}; got {family!r}")
    state = {k: v for k, v in state.items() if not k.startswith(DROPPED_PREFIXES.get(family, ()))}
    if family == "lightningdit":
        model = lightningdit.LightningDiT(lightningdit.infer_config(state, num_heads))
    elif family == "mdt":
        if any(k.startswith("en_inblocks.") for k in state):
            raise ValueError("checkpoint is an MDTv2 (en_inblocks, en_outblocks, de_blocks): only MDT v1 is "
                             "implemented here")
        if "blocks.0.attn.rel_pos_bias.relative_position_bias_table" not in state:
            raise ValueError("checkpoint does not fit the mdt layout: its attention has no relative-position tables")
        model = mdt.MDT(mdt.infer_config(state))
    else:
        model = DiT(infer_config(state, num_heads))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"checkpoint does not fit the {family} layout: missing {sorted(missing)[:5]}, "
                         f"unexpected {sorted(unexpected)[:5]}")
    return model.eval()


def load_official_file(path, family, num_heads=None):
    """Load an official-layout checkpoint file into its network: the weight set and key prefixes as the
    readers choose them (`ema` first; `module.`/`_orig_mod.` dropped), weights-only unpickling or safetensors."""
    return load_official(dict(read_tensors(path)), family, num_heads)


class VaeDecoder:
    """Latents -> images in [-1, 1] with a diffusers `AutoencoderKL` (SD-VAE: latents are divided by 0.18215)."""

    def __init__(self, vae, scale=SD_VAE_SCALE):
        self.vae, self.scale = vae, scale

    @torch.no_grad()
    def __call__(self, latents):
        return self.vae.decode(latents.to(self.vae.dtype) / self.scale).sample.float().clamp(-1, 1)

    @classmethod
    def pretrained(cls, name="stabilityai/sd-vae-ft-ema", device="cpu", subfolder=None):
        """Download (first use) and load a Hugging Face VAE, e.g. sd-vae-ft-ema (DiT's FID script, REPA, MG) or
        sd-vae-ft-mse (SiT's and MDT's sampling scripts), or a pipeline's `subfolder="vae"`."""
        from diffusers import AutoencoderKL

        what = f"the VAE {name}" + (f"/{subfolder}" if subfolder else "")
        vae = from_hub(what, lambda: AutoencoderKL.from_pretrained(name, subfolder=subfolder))
        return cls(vae.to(device).eval())


def latent_stats(path, channels=32):
    """The per-channel `mean` and `std` of a `latents_stats.pt`, checked; ValueError naming what is wrong."""
    stats = read_tensors(path)  # a file that is no checkpoint at all fails here with one line
    if not {"mean", "std"} <= set(stats):
        raise ValueError(f"latent stats file {path} must hold a dict with 'mean' and 'std'; got {sorted(stats)}")
    mean, std = (torch.as_tensor(stats[k], dtype=torch.float32).flatten() for k in ("mean", "std"))
    if mean.numel() != channels or std.numel() != channels:
        raise ValueError(f"latent stats file {path} must hold {channels} means and stds; got {mean.numel()} "
                         f"and {std.numel()}")
    if not (torch.isfinite(mean).all() and torch.isfinite(std).all() and (std > 0).all()):
        raise ValueError(f"latent stats file {path} has non-finite values or a std <= 0")
    return mean, std


def load_vavae_decoder(checkpoint, stats):
    """A `VavaeDecoder` from a VA-VAE checkpoint (its `decoder.*` and `post_quant_conv.*`) and `latents_stats.pt`."""
    tensors = read_tensors(checkpoint)
    try:
        config = decoder_config(tensors)
    except (ValueError, KeyError) as err:
        raise ValueError(f"checkpoint {checkpoint} is not a VA-VAE/LDM autoencoder: {err}") from None
    mean, std = latent_stats(stats, config.z_channels)
    model = VavaeDecoder(config, mean, std)
    wanted = [k for k in model.state_dict() if k not in ("mean", "std")]
    missing = [k for k in wanted if k not in tensors]
    if missing:
        raise ValueError(f"checkpoint {checkpoint} lacks {len(missing)} decoder tensors, e.g. {', '.join(missing[:3])}")
    try:
        model.load_state_dict({k: tensors[k] for k in wanted}, strict=False)
    except RuntimeError as err:
        raise ValueError(f"checkpoint {checkpoint} does not fit an LDM decoder: "
                         f"{str(err).strip().splitlines()[-1].strip()}") from None
    return model.eval()


def imagenet_class_names():
    """The 1000 ImageNet class names (first synonym), from the id2label of facebook/DiT-XL-2-256 (downloaded once)."""
    from huggingface_hub import hf_hub_download

    path = from_hub("the ImageNet class names (facebook/DiT-XL-2-256 model_index.json)",
                    lambda: hf_hub_download("facebook/DiT-XL-2-256", "model_index.json"))
    id2label = json.loads(open(path).read())["id2label"]
    return [id2label[str(i)].split(",")[0].strip() for i in range(len(id2label))]
