"""How the registry gets a released model's c and network: a checkpoint file in its official layout, or diffusers.

A source has three methods the registry calls with the model's entry: `embedding` (c's class table and timestep
MLP, read lazily from the file), `network` (a `LoadedNetwork` ready to sample, with its decoder) and
`class_names`. Decoders are SD-VAEs from Hugging Face or LightningDiT's VA-VAE from the weights cache.
"""
from dataclasses import dataclass

from ..sampling.conditions import ClassLabels
from ..sampling.network import LoadedNetwork
from .download import ModelWeights, fetch_weights, from_hub
from .load import VaeDecoder, imagenet_class_names, load_official_file, load_vavae_decoder
from .read import read_condition_embedding


@dataclass(frozen=True)
class SdVae:
    """An SD-VAE (diffusers `AutoencoderKL`) from Hugging Face (a repo, or a pipeline's `subfolder`); latents / 0.18215."""

    repo: str
    subfolder: str | None = None

    @property
    def name(self):
        """The decoder as the protocol tables name it."""
        return self.repo + (f"/{self.subfolder}" if self.subfolder else "")

    def load(self, device="cpu", progress=True):
        """The decoder, downloaded on first use."""
        return VaeDecoder.pretrained(self.repo, device, self.subfolder)


@dataclass(frozen=True)
class Vavae:
    """LightningDiT's VA-VAE decoder and its latent statistics, two files of the weights cache."""

    checkpoint: ModelWeights
    stats: ModelWeights

    @property
    def name(self):
        """The decoder as the protocol tables name it."""
        return self.checkpoint.name

    def load(self, device="cpu", progress=True):
        """The decoder (both files downloaded and checked on first use)."""
        paths = [fetch_weights(w, progress=progress) for w in (self.checkpoint, self.stats)]
        return load_vavae_decoder(*paths).to(device)


@dataclass(frozen=True)
class OfficialCheckpoint:
    """A checkpoint file in its official code's layout; `decoder` is None when the family cannot be sampled here."""

    weights: ModelWeights
    decoder: object = None

    def file(self, progress=True):
        """The checkpoint's path in the weights cache (downloaded and checked on first use)."""
        return fetch_weights(self.weights, progress=progress)

    def embedding(self, model, profile, progress=True):
        """c's class table and timestep MLP, read from the file (a few MB of it)."""
        embedding = read_condition_embedding(self.file(progress), model.family)
        embedding.info["model"] = model.name
        return embedding

    def network(self, model, profile, device="cpu", progress=True):
        """The network in this project's implementation of the official layout, with its decoder."""
        path = self.file(progress)
        network = load_official_file(path, model.family).to(device)
        embedding = read_condition_embedding(path, model.family)
        embedding.info["model"] = model.name
        k = network.config.num_classes
        return LoadedNetwork(network, embedding, self.decoder.load(device, progress), ClassLabels(k), model.family,
                             network.config.hidden_size, imagenet_class_names(), {"vae": self.decoder.name})

    def class_names(self, model, profile):
        """ImageNet's 1000 class names."""
        return imagenet_class_names()


@dataclass(frozen=True)
class DiffusersDiT:
    """facebook/DiT-XL-2-256 as diffusers' `DiTTransformer2DModel`: c read from block 0's embedder copy."""

    weights: ModelWeights
    repo: str
    decoder: SdVae

    def embedding(self, model, profile, progress=True):
        """c's class table and timestep MLP from the transformer's weights file (original sinusoid)."""
        embedding = read_condition_embedding(fetch_weights(self.weights, progress=progress), model.family)
        embedding.info["model"] = model.name
        return embedding

    def network(self, model, profile, device="cpu", progress=True):
        """The diffusers transformer with the original sinusoid (models.md 6.1), and its SD-VAE."""
        from diffusers import DiTTransformer2DModel

        network = from_hub(self.repo, lambda: DiTTransformer2DModel.from_pretrained(
            self.repo, subfolder="transformer")).to(device).eval()
        for block in network.transformer_blocks:
            block.norm1.emb.time_proj.downscale_freq_shift = 0
        k = network.config.num_embeds_ada_norm
        return LoadedNetwork(network, self.embedding(model, profile, progress), self.decoder.load(device, progress),
                             ClassLabels(k), model.family, network.inner_dim, imagenet_class_names(),
                             {"vae": self.decoder.name})

    def class_names(self, model, profile):
        """ImageNet's 1000 class names."""
        return imagenet_class_names()
