"""Statistics-only readers of the paper's other conditioning mechanisms (appendix Tables 4 and 5).

Each source gives the registry a `ConditionEmbedding` (y table, t path) read from the few tensors that form them;
none of these models is sampled here.

- U-ViT-H/2 (baofff/U-ViT, ImageNet 256, `imagenet256_uvit_huge.pth`): t and y enter as two tokens put before the
  patch tokens (libs/uvit.py), with no adaLN. y = a `label_emb.weight` row (1001 x 1152; row 1000 is the null
  class of eval_ldm_discrete.py). t = the sinusoid of t at width 1152 ([cos, sin], frequencies over dim/2 = our
  `timestep_sinusoid`) with no MLP (`mlp_time_embed=False` in configs/imagenet256_uvit_huge.py; a `time_embed`
  MLP is used where a checkpoint has one). Readings: "sum", the two tokens added (our reading of the paper's
  "y + t"), and "concatenation" [t; y].
- SD3 (diffusers `SD3Transformer2DModel`): c = timestep_embedder(sinusoid(t)) + text_embedder(pooled) feeds adaLN
  (`time_text_embed`, CombinedTimestepTextProjEmbeddings: a 256-wide sinusoid with flip_sin_to_cos=True and shift
  0, i.e. our `timestep_sinusoid`). Only its 8 `time_text_embed.*` tensors are read (safe_open; a sharded
  transformer through its index, opening only the shard that holds them). pooled = [CLIP-L; CLIP-G] `text_embeds`
  (768 + 1280) of each prompt, tokenized as StableDiffusion3Pipeline does (padded to 77, no attention mask).
- AudioLDM (diffusers, cvssp/audioldm-s-full-v2): AudioLDMPipeline passes the L2-normalised CLAP text embedding as
  `class_labels` with `encoder_hidden_states=None`; the UNet's `class_embedding` (simple_projection: one Linear)
  makes y, and `class_embeddings_concat` feeds [t; y] to every ResNet's time projection. No text enters attention
  (its "cross-attention" blocks attend to the feature map itself), so the paper's "cross-attention" label does not
  describe this model. Readings: "sum" y + t (the paper's column name) and "concatenation" [t; y] (what the UNet gets).

Prompt sets are ours (the paper gives none): SD3 "a photo of a {name}" over the 1000 ImageNet class names; AudioLDM
"the sound of a {name}" over data/sound_classes.csv (50 common AudioSet/VGGSound-style classes chosen here). The
empty prompt (both pipelines' default negative prompt) is the null row.
A Hugging Face repository's files come from `<weights cache>/<model name>/` when that folder exists (a copy or a
stand-in in the repository's own layout; `download.weights_dir`), else from the Hub through huggingface_hub's cache.
Shapes: K conditions, D width of y and t, P pooled text width.
"""
from dataclasses import dataclass
from importlib import resources
import json
from pathlib import Path

from safetensors import safe_open
import torch
import torch.nn.functional as F

from ..condition.embedding import ConditionEmbedding
from ..devices import resolve_device
from .download import ModelWeights, WeightsError, fetch_weights, hub_guard, weights_dir
from .files import CheckpointError, open_checkpoint
from .load import imagenet_class_names

STATS_ONLY = "is read for its conditioning statistics only (appendix Tables 4 and 5): no sampling path here"
READINGS = {"sum": "y + t", "concatenation": "[t; y]"}
SD3_PROMPT, AUDIO_PROMPT = "a photo of a {name}", "the sound of a {name}"
SD3_KEYS = tuple(f"time_text_embed.{part}_embedder.linear_{i}.{p}"
                 for part in ("timestep", "text") for i in (1, 2) for p in ("weight", "bias"))
UNET_KEYS = ("time_embedding.linear_1.weight", "time_embedding.linear_1.bias", "time_embedding.linear_2.weight",
             "time_embedding.linear_2.bias", "class_embedding.weight", "class_embedding.bias")
UVIT_TIME_MLP = ("time_embed.0.weight", "time_embed.0.bias", "time_embed.2.weight", "time_embed.2.bias")
_UNET_AS_AUDIOLDM = {"class_embed_type": "simple_projection", "time_embedding_type": "positional", "act_fn": "silu",
                     "timestep_post_act": None, "time_embedding_act_fn": None, "time_cond_proj_dim": None,
                     "addition_embed_type": None}  # the UNet options the AudioLDM reader follows (defaults if absent)


def sound_class_names():
    """The 50 sound classes of AudioLDM's caption set (data/sound_classes.csv, a list chosen here)."""
    package = __package__.rpartition(".")[0]
    lines = resources.files(package).joinpath("data/sound_classes.csv").read_text().splitlines()
    return [line.strip() for line in lines[1:] if line.strip()]


def reading_vectors(embedding, reading, t):
    """c (K, D'), y (K, D) and t in c's space (D',) under one reading: "sum" y + t or "concatenation" [t; y]."""
    y, time = embedding.label(), embedding.time([t])[0]  # (K, D), (D,)
    if reading == "sum":
        return y + time, y, time
    if reading == "concatenation":
        return torch.cat([time.expand_as(y), y], dim=1), y, torch.cat([time, torch.zeros_like(time)])
    raise ValueError(f"reading must be one of {', '.join(READINGS)}; got {reading!r}")


# ----------------------------------------------------------------------------- files of a Hugging Face repository

def _hub_error(repo, name, folder, err):
    """One WeightsError line for a failed Hub access: gated, no access, offline, missing file, or other."""
    from huggingface_hub.errors import (EntryNotFoundError, GatedRepoError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError)

    chain = [err]
    while len(chain) < 8 and (chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    login = "(`hf auth login`, or set HF_TOKEN)"
    kinds = ((GatedRepoError, f"{repo} is gated on Hugging Face: accept its licence at https://huggingface.co/{repo} "
                              f"and log in here with that account {login}"),
             (RepositoryNotFoundError, f"{repo} is not on Hugging Face or needs a token: log in with an account that "
                                       f"can read it {login}"),
             (LocalEntryNotFoundError, f"{name} of {repo} is not in the Hugging Face cache and the Hub cannot be "
                                       f"reached: connect, or put the repository's files in {folder}"),
             (EntryNotFoundError, f"{repo} has no file {name}"))
    for kind, text in kinds:
        if any(isinstance(e, kind) for e in chain):
            return WeightsError(text)
    first = (str(err).strip().splitlines() or [""])[0][:200]
    return WeightsError(f"could not read {name} of {repo} ({type(err).__name__}: {first})")


class RepoFiles:
    """A Hugging Face repository's files: from `<weights cache>/<model>/` if that folder exists, else the Hub."""

    def __init__(self, repo, model_name):
        self.repo, self.folder = repo, weights_dir() / model_name
        self.local = self.folder.is_dir()

    @property
    def where(self):
        """The local folder, or the repository id."""
        return str(self.folder) if self.local else self.repo

    def first(self, *names):
        """(name, local path) of the first of `names` the repository has; WeightsError in one line if none."""
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

        for name in names:
            if self.local:
                if (self.folder / name).is_file():
                    return name, self.folder / name
                continue
            try:
                with hub_guard():
                    return name, Path(hf_hub_download(self.repo, name))
            except Exception as err:  # the hub raises many classes; an absent file tries the next name
                if not isinstance(err, EntryNotFoundError) or isinstance(err, LocalEntryNotFoundError):
                    raise _hub_error(self.repo, name, self.folder, err) from None
        hint = f" (the folder stands in for {self.repo}; remove it to use the Hub)" if self.local else ""
        raise WeightsError(f"{self.where} has no {' or '.join(names)}{hint}")

    def path(self, name):
        """Local path of one file of the repository (downloaded on first use)."""
        return self.first(name)[1]

    def pretrained(self, cls, subfolder, **kwargs):
        """`cls.from_pretrained` on a subfolder of the repository; WeightsError in one line on failure."""
        if self.local and not (self.folder / subfolder).is_dir():
            raise WeightsError(f"{self.folder} has no {subfolder}/ (the folder stands in for {self.repo})")
        try:
            if self.local:
                return cls.from_pretrained(self.folder / subfolder, **kwargs)
            with hub_guard():
                return cls.from_pretrained(self.repo, subfolder=subfolder, **kwargs)
        except Exception as err:  # transformers and the hub raise many classes, over several lines
            raise _hub_error(self.repo, f"{subfolder}/", self.folder, err) from None


def read_safetensors(path, keys):
    """Only the named tensors of a safetensors file, as float32; CheckpointError naming a missing one."""
    with safe_open(str(path), framework="pt") as f:
        missing = [k for k in keys if k not in set(f.keys())]
        if missing:
            raise CheckpointError(f"{path} has no {missing[0]}")
        return {k: f.get_tensor(k).float() for k in keys}


def pipeline_first_step(files, steps):
    """The first timestep the repository's scheduler gives for `steps` steps (its pipeline's default), or None."""
    import diffusers

    try:
        config = json.loads(files.path("scheduler/scheduler_config.json").read_text())
        scheduler = getattr(diffusers, config["_class_name"]).from_config(config)
        scheduler.set_timesteps(steps)
        return float(scheduler.timesteps[0])
    except (WeightsError, KeyError, AttributeError, TypeError, ValueError):  # absent, unknown class, needs `mu`
        return None


def _batched(items, batch, encode):
    """encode(part) over `items` in batches, concatenated as float32 on the CPU (K, P)."""
    return torch.cat([encode(items[i:i + batch]).float().cpu() for i in range(0, len(items), batch)])


def _info(model, **extra):
    return {"family": model.family, "model": model.name, "t0": model.facts.t0,
            "time_convention": model.facts.time_convention,
            **extra}


class _StatisticsOnly:
    """What the sources here share: no network; the readings the chapter reports."""

    readings = ("sum",)

    def network(self, model, profile, device="cpu", progress=True):
        """Refused with one line: these models are read for statistics only."""
        raise ValueError(f"model {model.name} cannot be sampled here: it {STATS_ONLY}")


# ----------------------------------------------------------------------------- U-ViT

def read_uvit(path, model):
    """U-ViT's label table and time path from an official checkpoint (only `label_emb` and any `time_embed`)."""
    opened = open_checkpoint(path)
    state = opened.tensors
    if "label_emb.weight" not in state:
        raise CheckpointError(f"{path} has no label_emb.weight: not a class-conditional U-ViT checkpoint")
    table = state["label_emb.weight"].detach().float().clone()  # (K+1, D)
    has_mlp = all(k in state for k in UVIT_TIME_MLP)
    mlp = [state[k].detach().float().clone() for k in UVIT_TIME_MLP] if has_mlp else [None] * 4
    info = _info(model, source=str(path), weights=opened.weights, format=opened.fmt,
                 time_path="time_embed MLP of the sinusoid" if has_mlp else "the sinusoid itself (no time MLP)")
    return ConditionEmbedding(table, *mlp, info=info)


@dataclass(frozen=True)
class UViTCheckpoint(_StatisticsOnly):
    """An official U-ViT ImageNet checkpoint: y = a `label_emb` row, t = the time token; both are in-context tokens."""

    weights: ModelWeights
    mechanism = "in-context tokens: t and y are two tokens concatenated to the patch sequence (no adaLN)"
    measured = "y = label_emb row, t = sinusoid(t) at width D (the time token; no MLP in U-ViT-H/2)"
    condition_set = "ImageNet's classes"
    readings = ("sum", "concatenation")

    def embedding(self, model, profile, progress=True):
        """y table and time path, read from the cached checkpoint (downloaded on first use)."""
        return read_uvit(fetch_weights(self.weights, progress=progress), model)

    def class_names(self, model, profile):
        """ImageNet's 1000 class names."""
        return imagenet_class_names()


# ----------------------------------------------------------------------------- SD3

def read_time_text_embed(files):
    """The 8 `time_text_embed.*` tensors of an SD3 transformer and the files they came from (only those are read)."""
    single = "transformer/diffusion_pytorch_model.safetensors"
    name, path = files.first(single + ".index.json", single)
    if name == single:
        where = dict.fromkeys(SD3_KEYS, single)
    else:
        weight_map = json.loads(path.read_text()).get("weight_map", {})
        missing = [k for k in SD3_KEYS if k not in weight_map]
        if missing:
            raise CheckpointError(f"{path} maps no {missing[0]}: not an SD3 transformer")
        where = {k: f"transformer/{weight_map[k]}" for k in SD3_KEYS}
    tensors = {}
    for shard in dict.fromkeys(where.values()):
        tensors.update(read_safetensors(files.path(shard), [k for k in SD3_KEYS if where[k] == shard]))
    return tensors, sorted(set(where.values()))


@torch.no_grad()
def clip_pooled(files, prompts, device="cpu", batch=64):
    """SD3's pooled prompt embeddings (K, P): CLIP-L and CLIP-G `text_embeds` side by side, as its pipeline."""
    from transformers import CLIPTextModelWithProjection, CLIPTokenizer

    tokenizers = [files.pretrained(CLIPTokenizer, folder) for folder in ("tokenizer", "tokenizer_2")]
    length = tokenizers[0].model_max_length  # the pipeline pads both to the first tokenizer's length (77)
    parts = []
    for tokenizer, folder in zip(tokenizers, ("text_encoder", "text_encoder_2")):
        encoder = files.pretrained(CLIPTextModelWithProjection, folder, dtype=torch.float32).float().to(device).eval()

        def encode(part, tokenizer=tokenizer, encoder=encoder):
            """`text_embeds` of a batch of prompts (no attention mask, as the pipeline)."""
            ids = tokenizer(part, padding="max_length", max_length=length, truncation=True, return_tensors="pt")
            return encoder(ids.input_ids.to(device)).text_embeds

        parts.append(_batched(prompts, batch, encode))
    return torch.cat(parts, dim=1)  # (K, 768 + 1280 in SD3)


@dataclass(frozen=True)
class SD3Text(_StatisticsOnly):
    """An SD3 pipeline on Hugging Face: c = timestep_embedder(t) + text_embedder(pooled prompt), into adaLN."""

    repo: str
    mechanism = "adaLN: c = timestep embedding + projected pooled text, into every block's modulation"
    measured = "time_text_embed: y = text_embedder(pooled CLIP-L + CLIP-G), t = timestep_embedder(sinusoid(t))"
    condition_set = f'"{SD3_PROMPT}" over ImageNet\'s class names (our prompts)'

    def embedding(self, model, profile, progress=True):
        """y of every prompt (the empty prompt last) and SD3's timestep MLP; downloads only what they need."""
        files = RepoFiles(self.repo, model.name)
        tensors, shards = read_time_text_embed(files)
        pooled = clip_pooled(files, self.class_names(model, profile) + [""], resolve_device())  # (K+1, P)
        w1, b1, w2, b2 = (tensors[k] for k in SD3_KEYS[4:])
        y = F.linear(F.silu(F.linear(pooled, w1, b1)), w2, b2)  # (K+1, D)
        info = _info(model, source=files.where, weights=", ".join(shards), format="safetensors",
                     prompts=SD3_PROMPT, pipeline_first_step=pipeline_first_step(files, 28))
        return ConditionEmbedding(y, *(tensors[k] for k in SD3_KEYS[:4]), info=info)

    def class_names(self, model, profile):
        """The prompts: "a photo of a {name}" over ImageNet's 1000 class names."""
        return [SD3_PROMPT.format(name=name) for name in imagenet_class_names()]


# ----------------------------------------------------------------------------- AudioLDM

def read_unet_embedders(files):
    """AudioLDM UNet's config and its time and class embedding tensors (only those are read)."""
    config_path = files.path("unet/config.json")
    config = json.loads(config_path.read_text())
    for key, value in _UNET_AS_AUDIOLDM.items():
        if config.get(key, value) != value:
            raise CheckpointError(f"{config_path}: {key} is {config[key]!r}; this reader follows AudioLDM's UNet "
                                  f"({key} {value!r})")
    name, path = files.first("unet/diffusion_pytorch_model.safetensors", "unet/diffusion_pytorch_model.bin")
    if name.endswith(".safetensors"):
        return config, read_safetensors(path, UNET_KEYS), name
    state = open_checkpoint(path).tensors
    missing = [k for k in UNET_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"{path} has no {missing[0]}")
    return config, {k: state[k].detach().float().clone() for k in UNET_KEYS}, name


@torch.no_grad()
def clap_text(files, captions, device="cpu", batch=64):
    """AudioLDM's text condition (K, P): CLAP `text_embeds` of each caption, L2-normalised, as its pipeline."""
    from transformers import ClapTextModelWithProjection, RobertaTokenizer

    tokenizer = files.pretrained(RobertaTokenizer, "tokenizer")
    encoder = files.pretrained(ClapTextModelWithProjection, "text_encoder", dtype=torch.float32)
    encoder = encoder.float().to(device).eval()

    def encode(part):
        """Normalised `text_embeds` of a batch of captions."""
        tokens = tokenizer(part, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                           return_tensors="pt")
        out = encoder(tokens.input_ids.to(device), attention_mask=tokens.attention_mask.to(device))
        return F.normalize(out.text_embeds, dim=-1)

    return _batched(captions, batch, encode)


@dataclass(frozen=True)
class AudioLDMText(_StatisticsOnly):
    """AudioLDM on Hugging Face: y = class_embedding(normalised CLAP text), concatenated to t in the UNet."""

    repo: str
    mechanism = ("class embedding concatenated to the time embedding ([t; y] into every ResNet's time projection); "
                 "no text in attention, although the paper labels it cross-attention")
    measured = "y = class_embedding(normalised CLAP text_embeds), t = time_embedding(sinusoid(t))"
    condition_set = f'"{AUDIO_PROMPT}" over 50 sound classes (data/sound_classes.csv, our list)'
    readings = ("sum", "concatenation")

    def embedding(self, model, profile, progress=True):
        """y of every caption (the empty caption last) and the UNet's time MLP, in our sinusoid's order."""
        files = RepoFiles(self.repo, model.name)
        config, tensors, name = read_unet_embedders(files)
        text = clap_text(files, self.class_names(model, profile) + [""], resolve_device())  # (K+1, P)
        y = F.linear(text, tensors["class_embedding.weight"], tensors["class_embedding.bias"])  # (K+1, D)
        w1, b1, w2, b2 = (tensors[k] for k in UNET_KEYS[:4])
        if not config.get("flip_sin_to_cos", True):  # [sin, cos] input: swap W1's halves to take our [cos, sin]
            half = w1.shape[1] // 2
            w1 = torch.cat([w1[:, half:], w1[:, :half]], dim=1)
        info = _info(model, source=files.where, weights=name, format=Path(name).suffix.lstrip("."),
                     prompts=AUDIO_PROMPT, class_embeddings_concat=bool(config.get("class_embeddings_concat")),
                     pipeline_first_step=pipeline_first_step(files, 10))
        return ConditionEmbedding(y, w1, b1, w2, b2, freq_shift=float(config.get("freq_shift", 0)), info=info)

    def class_names(self, model, profile):
        """The captions: "the sound of a {name}" over the 50 sound classes."""
        return [AUDIO_PROMPT.format(name=name) for name in sound_class_names()]
