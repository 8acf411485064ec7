"""Whole networks for sampling: official-layout checkpoints, diffusers conversion, the decoders.

SiT, REPA and Model-Guidance (MG) checkpoints use the facebookresearch/DiT key names, which
`tiny_dit.DiT` shares (timm's `attn.qkv`/`attn.proj`, `mlp.fc1`/`mlp.fc2`, `x_embedder.proj`; `pos_embed`
is stored in the checkpoint, so its values come from there). REPA adds `projectors.*` (training-only,
dropped here). LightningDiT checkpoints load into `lightningdit.LightningDiT` and decode with the VA-VAE
(`vavae`). MDT (U-shaped blocks, side-interpolator) has an architecture this project does not implement,
so it cannot be sampled.
"""
from contextlib import contextmanager

import torch

from .tiny_dit import DiT, TinyDiTConfig

XL2 = TinyDiTConfig(image_size=32, patch_size=2, in_channels=4, hidden_size=1152, depth=28, num_heads=16,
                    num_classes=1000, learn_sigma=False)
RUNNABLE = ("dit", "sit", "repa", "mg", "lightningdit")
OFFICIAL_HEADS = {384: 6, 768: 12, 1024: 16, 1152: 16}  # S, B, L, XL in the DiT/SiT configs
DROPPED_PREFIXES = {"repa": ("projectors.",)}
NOT_RUNNABLE = {  # why a registered family has no sampling path here
    "mdt": "needs MDT's U-shaped encoder/decoder blocks with skip_linear, its side-interpolator and learnable "
           "position embeddings; none exists in this project",
}
SD_VAE_SCALE = 0.18215
def infer_config(state, num_heads=None):
    """The `TinyDiTConfig` an official-layout state dict was built with (heads from the official sizes unless given)."""
    table, patch = state["y_embedder.embedding_table.weight"], state["x_embedder.proj.weight"]
    hidden, channels, p = patch.shape[0], patch.shape[1], patch.shape[2]
    heads = num_heads or OFFICIAL_HEADS.get(hidden)
    if heads is None:
        raise ValueError(f"num_heads must be given for hidden size {hidden} (official sizes: {sorted(OFFICIAL_HEADS)})")
    out = state["final_layer.linear.weight"].shape[0] // (p * p)
    return TinyDiTConfig(image_size=round(state["pos_embed"].shape[1] ** 0.5) * p, patch_size=p, in_channels=channels,
                         hidden_size=hidden, depth=1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks.")),
                         num_heads=heads, num_classes=table.shape[0] - 1, learn_sigma=out == 2 * channels)


def load_official(state, family, num_heads=None):
    """A `tiny_dit.DiT` (or `lightningdit.LightningDiT`) holding an official-layout state dict (strict; the
    error names keys that do not fit)."""
    if family in NOT_RUNNABLE:
        raise ValueError(f"family {family} cannot be sampled here: it {NOT_RUNNABLE[family]}")
    if family not in RUNNABLE:
        raise ValueError(f"family must be one of {', '.join(RUNNABLE)}; got {family!r}")
    state = {k: v for k, v in state.items() if not k.startswith(DROPPED_PREFIXES.get(family, ()))}
    if family == "lightningdit":
        from . import lightningdit

        model = lightningdit.LightningDiT(lightningdit.infer_config(state, num_heads))
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
    from .readers import read_tensors

    return load_official(dict(read_tensors(path)), family, num_heads)


def diffusers_config(config):
    """The `DiTTransformer2DModel` arguments equivalent to a `TinyDiTConfig`."""
    return dict(num_attention_heads=config.num_heads, attention_head_dim=config.hidden_size // config.num_heads,
                in_channels=config.in_channels, out_channels=config.in_channels * (2 if config.learn_sigma else 1),
                num_layers=config.depth, dropout=0.0, norm_num_groups=32, attention_bias=True,
                sample_size=config.image_size, patch_size=config.patch_size, activation_fn="gelu-approximate",
                num_embeds_ada_norm=config.num_classes, upcast_attention=False, norm_type="ada_norm_zero",
                norm_elementwise_affine=False, norm_eps=1e-6)


@torch.no_grad()
def to_diffusers(model):
    """Convert a `tiny_dit.DiT` into diffusers' `DiTTransformer2DModel` computing the same function.

    The embedder is copied into every block (diffusers keeps one copy per block) and each copy's sinusoid
    is switched to the original formulation (`downscale_freq_shift = 0`; models.md section 6.1).
    """
    from diffusers import DiTTransformer2DModel

    config, state = model.config, model.state_dict()
    out = DiTTransformer2DModel(**diffusers_config(config)).eval()
    d = config.hidden_size
    mapped = {"pos_embed.proj.weight": state["x_embedder.proj.weight"],
              "pos_embed.proj.bias": state["x_embedder.proj.bias"],
              "proj_out_1.weight": state["final_layer.adaLN_modulation.1.weight"],
              "proj_out_1.bias": state["final_layer.adaLN_modulation.1.bias"],
              "proj_out_2.weight": state["final_layer.linear.weight"],
              "proj_out_2.bias": state["final_layer.linear.bias"]}
    for i in range(config.depth):
        src, dst = f"blocks.{i}.", f"transformer_blocks.{i}."
        emb = dst + "norm1.emb."
        mapped.update({emb + "class_embedder.embedding_table.weight": state["y_embedder.embedding_table.weight"],
                       emb + "timestep_embedder.linear_1.weight": state["t_embedder.mlp.0.weight"],
                       emb + "timestep_embedder.linear_1.bias": state["t_embedder.mlp.0.bias"],
                       emb + "timestep_embedder.linear_2.weight": state["t_embedder.mlp.2.weight"],
                       emb + "timestep_embedder.linear_2.bias": state["t_embedder.mlp.2.bias"],
                       dst + "norm1.linear.weight": state[src + "adaLN_modulation.1.weight"],
                       dst + "norm1.linear.bias": state[src + "adaLN_modulation.1.bias"],
                       dst + "attn1.to_out.0.weight": state[src + "attn.proj.weight"],
                       dst + "attn1.to_out.0.bias": state[src + "attn.proj.bias"],
                       dst + "ff.net.0.proj.weight": state[src + "mlp.fc1.weight"],
                       dst + "ff.net.0.proj.bias": state[src + "mlp.fc1.bias"],
                       dst + "ff.net.2.weight": state[src + "mlp.fc2.weight"],
                       dst + "ff.net.2.bias": state[src + "mlp.fc2.bias"]})
        for j, name in enumerate(("to_q", "to_k", "to_v")):
            mapped[dst + f"attn1.{name}.weight"] = state[src + "attn.qkv.weight"][j * d:(j + 1) * d]
            mapped[dst + f"attn1.{name}.bias"] = state[src + "attn.qkv.bias"][j * d:(j + 1) * d]
    out.load_state_dict(mapped, strict=True)
    out.pos_embed.pos_embed.copy_(state["pos_embed"])
    for block in out.transformer_blocks:
        block.norm1.emb.time_proj.downscale_freq_shift = 0
    return out


class VaeDecoder:
    """Latents -> images in [-1, 1] with a diffusers `AutoencoderKL` (SD-VAE: latents are divided by 0.18215)."""

    def __init__(self, vae, scale=SD_VAE_SCALE):
        self.vae, self.scale = vae, scale

    @torch.no_grad()
    def __call__(self, latents):
        return self.vae.decode(latents.to(self.vae.dtype) / self.scale).sample.float().clamp(-1, 1)

    @classmethod
    def pretrained(cls, name="stabilityai/sd-vae-ft-ema", device="cpu"):
        """Download (first use) and load a Hugging Face VAE, e.g. sd-vae-ft-ema (REPA, MG) or sd-vae-ft-mse (DiT)."""
        from diffusers import AutoencoderKL

        from .weights import from_hub

        return cls(from_hub(f"the VAE {name}", lambda: AutoencoderKL.from_pretrained(name)).to(device).eval())


VAES = {"repa": "stabilityai/sd-vae-ft-ema", "mg": "stabilityai/sd-vae-ft-ema", "sit": "stabilityai/sd-vae-ft-ema",
        "dit": "stabilityai/sd-vae-ft-mse", "lightningdit": "vavae-f16d32"}  # each official sampling script's default


def load_decoder(family, device="cpu", progress=True):
    """The decoder of a family's latents: its SD-VAE from Hugging Face, or VA-VAE + latent stats for LightningDiT."""
    if family != "lightningdit":
        return VaeDecoder.pretrained(VAES[family], device)
    from .vavae import load_vavae_decoder
    from .weights import DECODERS, fetch_weights

    paths = [fetch_weights(DECODERS[name], progress=progress) for name in ("vavae-f16d32", "vavae-f16d32-latent-stats")]
    return load_vavae_decoder(*paths).to(device)


def imagenet_class_names():
    """The 1000 ImageNet class names (first synonym), from the id2label of facebook/DiT-XL-2-256 (downloaded once)."""
    import json

    from huggingface_hub import hf_hub_download

    from .weights import from_hub

    path = from_hub("the ImageNet class names (facebook/DiT-XL-2-256 model_index.json)",
                    lambda: hf_hub_download("facebook/DiT-XL-2-256", "model_index.json"))
    id2label = json.loads(open(path).read())["id2label"]
    return [id2label[str(i)].split(",")[0].strip() for i in range(len(id2label))]


def load_network(name, profile, device="cpu", progress=True):
    """A samplable network by model name: (network, ConditionEmbedding, decode or None, info dict).

    `tiny-class` is the profile's tiny DiT (pixel space, no decoder); real names are read from the
    weights cache into `tiny_dit.DiT` and decoded with their family's SD-VAE.
    """
    from .models import load_condition_embedding, load_tiny_dit

    if name == "tiny-class":
        model, _, _ = load_tiny_dit(profile, progress)
        embedding = load_condition_embedding(name, profile, progress)
        info = {"family": "tiny", "num_classes": model.config.num_classes, "class_names": embedding.info["class_names"]}
        return model.to(device), embedding, None, {**info, "dim": model.config.hidden_size}
    from .weights import MODELS, resolve_checkpoint

    if name not in MODELS:
        raise ValueError(f"model must be tiny-class or one of {', '.join(MODELS)}; got {name!r}")
    family = MODELS[name].family
    if family == "diffusers-dit":
        return _load_diffusers_dit(name, profile, device, progress)
    if family not in RUNNABLE:
        reason = NOT_RUNNABLE.get(family, "has no sampling path here")
        raise ValueError(f"model {name} cannot be sampled here: it {reason}")
    network = load_official_file(resolve_checkpoint(name, progress=progress), family).to(device)
    embedding = load_condition_embedding(name, profile, progress)
    info = {"family": family, "num_classes": network.config.num_classes, "class_names": imagenet_class_names(),
            "dim": network.config.hidden_size, "vae": VAES[family]}
    return network, embedding, load_decoder(family, device, progress), info


@contextmanager
def cpu_threads(n):
    """Run a block with `n` torch CPU threads (0: leave torch's setting), restoring the setting after.

    One thread avoids OpenMP contention when other processes share a 2-core machine (measured 4-20x
    slower with two threads there); on an idle machine two threads are faster for large batches.
    """
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def default_device():
    """"cuda" when a GPU is visible, else "cpu"."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def class_names(name, profile):
    """Class names of a model's label space: the procedural shapes for tiny-class, ImageNet's otherwise."""
    if name == "tiny-class":
        from . import shapes
        from .models import tiny_train_config

        return shapes.class_names()[: tiny_train_config(profile).model.num_classes]
    return imagenet_class_names()


def _load_diffusers_dit(name, profile, device, progress):
    """facebook/DiT-XL-2-256 as diffusers' DiTTransformer2DModel, with the original sinusoid (models.md 6.1)."""
    from diffusers import DiTTransformer2DModel

    from .models import load_condition_embedding

    from .weights import from_hub

    network = from_hub("facebook/DiT-XL-2-256", lambda: DiTTransformer2DModel.from_pretrained(
        "facebook/DiT-XL-2-256", subfolder="transformer")).to(device).eval()
    for block in network.transformer_blocks:
        block.norm1.emb.time_proj.downscale_freq_shift = 0
    info = {"family": "diffusers-dit", "num_classes": network.config.num_embeds_ada_norm,
            "class_names": imagenet_class_names(), "dim": network.inner_dim, "vae": VAES["dit"]}
    return network, load_condition_embedding(name, profile, progress), VaeDecoder.pretrained(VAES["dit"], device), info
