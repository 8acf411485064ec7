"""The paper-profile readers of U-ViT, SD3 and AudioLDM (Tables 4 and 5), on small random stand-ins written here in
each official layout: only the needed tensors are read, c equals what the live diffusers modules compute, t0 and
time conventions hold, failures are one line, and the chapter's rows carry the paper's numbers beside ours."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
import torch
import torch.nn.functional as F

from semantic_bottleneck import registry
from semantic_bottleneck.__main__ import main
from semantic_bottleneck.chapters.mechanisms import study as mechanisms_study, tables as mechanisms_tables
from semantic_bottleneck.checkpoints import mechanism_readers as readers
from semantic_bottleneck.checkpoints.download import CACHE_ENV, WeightsError
from semantic_bottleneck.condition.measure import cosine_summary, normalized_pr
from semantic_bottleneck.paper import paper_value

pytestmark = pytest.mark.usefixtures("one_thread")

NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead"]  # stand-in ImageNet names
D_UVIT, K_UVIT = 24, 7
SD3_MODELS = {"sd3-medium": False, "sd3.5-large": True}  # registry name: sharded transformer


# ----------------------------------------------------------------------------- stand-ins in the official layouts

def _randomize(module, seed, std=0.2):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, std)
    return module.eval()


def _byte_chars():
    """The byte-level BPE alphabet: printable bytes as themselves, the others shifted past 255."""
    printable = set(range(33, 127)) | set(range(161, 173)) | set(range(174, 256))
    shifted = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(shifted)) for b in range(256)]


def _write_bpe(folder, vocab):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return str(folder / "vocab.json"), str(folder / "merges.txt")


def write_clip(root, sub, projection, seed):
    """A tiny CLIP text encoder with projection and its tokenizer, in the pipeline's `text_encoder{sub}` layout."""
    from transformers import CLIPTextConfig, CLIPTextModelWithProjection, CLIPTokenizer

    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars + [c + "</w>" for c in chars])}
    vocab.update({"<|startoftext|>": 512, "<|endoftext|>": 513})
    files = _write_bpe(root / "bpe", vocab)
    CLIPTokenizer(*files, model_max_length=77, pad_token="<|endoftext|>").save_pretrained(root / f"tokenizer{sub}")
    config = CLIPTextConfig(vocab_size=514, hidden_size=32, intermediate_size=37, num_hidden_layers=1,
                            num_attention_heads=2, max_position_embeddings=77, projection_dim=projection,
                            bos_token_id=512, eos_token_id=513, pad_token_id=513)
    _randomize(CLIPTextModelWithProjection(config), seed).save_pretrained(root / f"text_encoder{sub}")


def write_sd3(root, sharded, seed=0):
    """An SD3 pipeline folder: a small random transformer (pooled width 16 + 24), two CLIPs, the flow scheduler."""
    from diffusers import FlowMatchEulerDiscreteScheduler, SD3Transformer2DModel

    transformer = SD3Transformer2DModel(sample_size=8, patch_size=2, in_channels=4, num_layers=1, attention_head_dim=8,
                                        num_attention_heads=2, joint_attention_dim=16, caption_projection_dim=16,
                                        pooled_projection_dim=40, out_channels=4, pos_embed_max_size=8)
    _randomize(transformer, seed).save_pretrained(root / "transformer", max_shard_size="20KB" if sharded else "10GB")
    write_clip(root, "", 16, seed + 1)
    write_clip(root, "_2", 24, seed + 2)
    FlowMatchEulerDiscreteScheduler(shift=3.0).save_pretrained(root / "scheduler")


def write_audioldm(root, seed=0, **sinusoid):
    """An AudioLDM pipeline folder: a small UNet configured like AudioLDM's, a tiny CLAP text model, DDIM."""
    from diffusers import DDIMScheduler, UNet2DConditionModel
    from transformers import ClapTextConfig, ClapTextModelWithProjection, RobertaTokenizer

    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4,
                                down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), block_out_channels=(16, 32),
                                layers_per_block=1, cross_attention_dim=(16, 32), norm_num_groups=8,
                                attention_head_dim=4, class_embed_type="simple_projection",
                                projection_class_embeddings_input_dim=24, class_embeddings_concat=True, **sinusoid)
    _randomize(unet, seed).save_pretrained(root / "unet")
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    vocab.update({c: i + 4 for i, c in enumerate(_byte_chars())})
    vocab["<mask>"] = len(vocab)
    RobertaTokenizer(*_write_bpe(root / "bpe", vocab), model_max_length=32).save_pretrained(root / "tokenizer")
    config = ClapTextConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=37, max_position_embeddings=40, projection_dim=24)
    _randomize(ClapTextModelWithProjection(config), seed + 1).save_pretrained(root / "text_encoder")
    DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.0015, beta_end=0.0195, steps_offset=1,
                  clip_sample=False, set_alpha_to_one=False).save_pretrained(root / "scheduler")


def uvit_state(mlp=False, seed=0):
    """A state dict with U-ViT's key names (a few blocks' worth), label table K+1 rows; `time_embed` if `mlp`."""
    g = torch.Generator().manual_seed(seed)
    state = {"pos_embed": torch.randn(1, 2 + 16, D_UVIT, generator=g),
             "patch_embed.proj.weight": torch.randn(D_UVIT, 4, 2, 2, generator=g),
             "patch_embed.proj.bias": torch.randn(D_UVIT, generator=g),
             "label_emb.weight": 0.02 * torch.randn(K_UVIT + 1, D_UVIT, generator=g),
             "in_blocks.0.attn.qkv.weight": torch.randn(3 * D_UVIT, D_UVIT, generator=g),
             "out_blocks.0.skip_linear.weight": torch.randn(D_UVIT, 2 * D_UVIT, generator=g),
             "decoder_pred.weight": torch.randn(16, D_UVIT, generator=g)}
    if mlp:
        state.update({"time_embed.0.weight": torch.randn(4 * D_UVIT, D_UVIT, generator=g),
                      "time_embed.0.bias": torch.randn(4 * D_UVIT, generator=g),
                      "time_embed.2.weight": torch.randn(D_UVIT, 4 * D_UVIT, generator=g) / 10,
                      "time_embed.2.bias": torch.randn(D_UVIT, generator=g)})
    return state


def write_uvit(weights, state):
    path = weights / "uvit-h" / registry.model("uvit-h").source.weights.mirrors[0].filename
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A weights cache holding every stand-in where the registry looks for it (written once per module)."""
    root = tmp_path_factory.mktemp("weights")
    for name, sharded in SD3_MODELS.items():
        write_sd3(root / name, sharded, seed=3 if sharded else 0)
    write_audioldm(root / "audioldm-s-full-v2")
    write_uvit(root, uvit_state())
    return root


@pytest.fixture
def offline(weights, monkeypatch):
    """The registry reads the stand-ins; the Hub is offline; the ImageNet names are the five stand-in names."""
    import huggingface_hub.constants

    monkeypatch.setenv(CACHE_ENV, str(weights))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(readers, "imagenet_class_names", lambda: list(NAMES))
    return weights


# ----------------------------------------------------------------------------- U-ViT

def np_uvit_c(state, t):
    """U-ViT's two tokens added, transcribed from libs/uvit.py: label rows + [cos, sin] of t over dim/2 (the
    frequencies and their product with t in float32 as there: at t = 1000 float32 rounding alone moves c by 1e-5)."""
    half = D_UVIT // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(0, half, dtype=torch.float32) / half)
    args = (torch.tensor([t]).float()[:, None] * freqs[None])[0].double().numpy()
    time = np.concatenate([np.cos(args), np.sin(args)])
    if "time_embed.0.weight" in state:
        w1, b1, w2, b2 = (state[k].double().numpy() for k in readers.UVIT_TIME_MLP)
        h = w1 @ time + b1
        time = w2 @ (h / (1 + np.exp(-h))) + b2
    return state["label_emb.weight"].double().numpy()[:K_UVIT] + time


def test_uvit_reads_only_its_label_table_and_matches_the_official_tokens(offline, monkeypatch):
    opened_keys = []
    real_open = readers.open_checkpoint

    def spying_open(path):
        opened = real_open(path)

        class Spy(dict):
            def __getitem__(self, key):
                opened_keys.append(key)
                return super().__getitem__(key)

        opened.tensors = Spy(opened.tensors)
        return opened

    monkeypatch.setattr(readers, "open_checkpoint", spying_open)
    embedding = registry.load_embedding("uvit-h", "paper")
    assert opened_keys == ["label_emb.weight"]  # no time MLP in U-ViT-H/2: the time token is the sinusoid
    assert embedding.info["t0"] == registry.family_facts("uvit").t0 == 1000 and embedding.num_classes == K_UVIT
    assert embedding.info["time_path"] == "the sinusoid itself (no time MLP)"
    state = uvit_state()
    for t in (1000.0, 500.0, 1.0, 37.25):
        np.testing.assert_allclose(embedding.c(t).numpy(), np_uvit_c(state, t), atol=1e-5)
    c, y, t = readers.reading_vectors(embedding, "concatenation", 1000.0)
    assert c.shape == (K_UVIT, 2 * D_UVIT) and torch.equal(c[:, D_UVIT:], y)
    assert torch.equal(c[:, :D_UVIT], t[None, :D_UVIT].expand(K_UVIT, -1)) and not t[D_UVIT:].any()


def test_uvit_with_a_time_mlp_uses_it(tmp_path, monkeypatch):
    state = uvit_state(mlp=True, seed=1)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    write_uvit(tmp_path, state)
    embedding = registry.load_embedding("uvit-h", "paper")
    assert embedding.info["time_path"] == "time_embed MLP of the sinusoid"
    np.testing.assert_allclose(embedding.c(999.0).numpy(), np_uvit_c(state, 999.0), atol=1e-4)


def test_statistics_only_models_refuse_a_network_in_one_line(offline):
    for name in ("uvit-h", "sd3-medium", "audioldm-s-full-v2"):
        with pytest.raises(ValueError, match=f"model {name} cannot be sampled here: it is read for its conditioning"):
            registry.load_network(name, "paper")
        with pytest.raises(ValueError, match="statistics only"):
            registry.model(name).source.network(registry.model(name), "paper")


# ----------------------------------------------------------------------------- SD3

class SafeOpenSpy:
    """Wraps safetensors' safe_open, recording the files opened and the tensors read."""

    def __init__(self):
        self.files, self.keys = [], []

    def __call__(self, path, framework):
        spy, real = self, safe_open(path, framework=framework)
        self.files.append(Path(path).name)

        class Handle:
            def __enter__(self):
                real.__enter__()
                return self

            def __exit__(self, *exc):
                return real.__exit__(*exc)

            def keys(self):
                return real.keys()

            def get_tensor(self, key):
                spy.keys.append(key)
                return real.get_tensor(key)

        return Handle()


def sd3_reference(root, prompts):
    """The live diffusers path: StableDiffusion3Pipeline.encode_prompt (pooled, with the empty negative prompt) and
    the transformer's own `time_text_embed`."""
    from diffusers import SD3Transformer2DModel, StableDiffusion3Pipeline
    from transformers import CLIPTextModelWithProjection, CLIPTokenizer

    transformer = SD3Transformer2DModel.from_pretrained(root / "transformer").eval()
    parts = {f"{kind}{sub}": cls.from_pretrained(root / f"{kind}{sub}")
             for kind, cls in (("text_encoder", CLIPTextModelWithProjection), ("tokenizer", CLIPTokenizer))
             for sub in ("", "_2")}
    pipe = StableDiffusion3Pipeline(transformer=transformer, scheduler=None, vae=None, text_encoder_3=None,
                                    tokenizer_3=None, **parts)
    with torch.no_grad():
        _, _, pooled, negative = pipe.encode_prompt(prompt=prompts, prompt_2=None, prompt_3=None,
                                                    do_classifier_free_guidance=True)
    return transformer, pooled, negative


@pytest.mark.parametrize("name", list(SD3_MODELS))
def test_sd3_reads_only_time_text_embed_and_matches_the_live_module(name, offline, monkeypatch):
    from diffusers import SD3Transformer2DModel

    spy = SafeOpenSpy()
    monkeypatch.setattr(readers, "safe_open", spy)
    with monkeypatch.context() as m:
        m.setattr(SD3Transformer2DModel, "from_pretrained", None)  # the reader never loads the whole transformer
        embedding = registry.load_embedding(name, "paper")
    assert sorted(spy.keys) == sorted(readers.SD3_KEYS)
    root = offline / name
    if SD3_MODELS[name]:
        index = json.loads((root / "transformer/diffusion_pytorch_model.safetensors.index.json").read_text())
        assert set(spy.files) == {index["weight_map"][k] for k in readers.SD3_KEYS}  # only the shards holding them
        assert len(set(index["weight_map"].values())) > len(set(spy.files))
    assert embedding.info["t0"] == embedding.info["pipeline_first_step"] == 1000.0  # sigma = 1 -> timestep 1000
    prompts = registry.class_names(name, "paper")
    assert prompts == [f"a photo of a {n}" for n in NAMES] and embedding.num_classes == len(NAMES)
    transformer, pooled, negative = sd3_reference(root, prompts)
    with torch.no_grad():
        for t in (1000.0, 987.38, 500.0, 3.0):
            live = transformer.time_text_embed(torch.full((len(NAMES),), t), pooled)
            assert torch.allclose(embedding.c(t), live, atol=1e-5)
            null = transformer.time_text_embed(torch.tensor([t]), negative[:1])[0]
            assert torch.allclose(embedding.class_table[-1] + embedding.time([t])[0], null, atol=1e-5)


def test_a_gated_repository_is_one_line_naming_the_licence(tmp_path, monkeypatch, capsys):
    import httpx2
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    def gated(repo, filename, **kwargs):
        url = f"https://huggingface.co/{repo}/resolve/main/{filename}"
        raise GatedRepoError(f"401 Client Error.\n\nCannot access gated repo for url {url}.",
                             response=httpx2.Response(401, request=httpx2.Request("GET", url)))

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # no local folder: the Hub is asked
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", gated)
    repo = "stabilityai/stable-diffusion-3-medium-diffusers"
    with pytest.raises(WeightsError) as err:
        registry.load_embedding("sd3-medium", "paper")
    assert str(err.value) == (f"{repo} is gated on Hugging Face: accept its licence at https://huggingface.co/{repo} "
                              "and log in here with that account (`hf auth login`, or set HF_TOKEN)")
    assert main(["stats", "sd3-medium"]) == 1
    out = capsys.readouterr().err
    assert out.count("\n") == 1 and out.startswith("error: stabilityai/stable-diffusion-3-medium-diffusers is gated")

    class Loader:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            try:
                gated(repo, "text_encoder/config.json")
            except GatedRepoError as cause:
                raise OSError("You are trying to access a gated repo.\nMake sure to have access to it.") from cause

    with pytest.raises(WeightsError, match=f"^{repo} is gated on Hugging Face"):
        readers.RepoFiles(repo, "sd3-medium").pretrained(Loader, "text_encoder")


def test_missing_files_are_one_line_naming_them(offline, tmp_path, monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "weights"))  # nothing local, the Hub offline
    with pytest.raises(WeightsError) as err:
        registry.load_embedding("audioldm-s-full-v2", "paper")
    assert str(err.value) == ("unet/config.json of cvssp/audioldm-s-full-v2 is not in the Hugging Face cache and the "
                              f"Hub cannot be reached: connect, or put the repository's files in "
                              f"{tmp_path / 'weights' / 'audioldm-s-full-v2'}")
    folder = tmp_path / "weights" / "sd3-medium"
    (folder / "transformer").mkdir(parents=True)
    with pytest.raises(WeightsError, match=r"sd3-medium has no transformer/diffusion_pytorch_model.safetensors.index."
                                           r"json or transformer/diffusion_pytorch_model.safetensors \(the folder"):
        registry.load_embedding("sd3-medium", "paper")
    write_sd3(folder, sharded=False)
    for path in (folder / "text_encoder_2").iterdir():
        path.unlink()
    (folder / "text_encoder_2").rmdir()
    with pytest.raises(WeightsError, match=r"sd3-medium has no text_encoder_2/ \(the folder stands in for "
                                           r"stabilityai/stable-diffusion-3-medium-diffusers\)$"):
        registry.load_embedding("sd3-medium", "paper")


# ----------------------------------------------------------------------------- AudioLDM

def test_audioldm_matches_the_unet_time_and_class_embedding_path(offline, monkeypatch):
    from diffusers import AudioLDMPipeline, DDIMScheduler, UNet2DConditionModel
    from transformers import ClapTextModelWithProjection, RobertaTokenizer

    spy = SafeOpenSpy()
    monkeypatch.setattr(readers, "safe_open", spy)
    embedding = registry.load_embedding("audioldm-s-full-v2", "paper")
    assert sorted(spy.keys) == sorted(readers.UNET_KEYS)
    assert embedding.info["t0"] == 999 and embedding.info["pipeline_first_step"] == 901.0  # DDIM 10, leading, +1
    assert embedding.info["class_embeddings_concat"] is True
    captions = registry.class_names("audioldm-s-full-v2", "paper")
    assert len(captions) == 50 and captions[0] == "the sound of a dog barking" and embedding.num_classes == 50
    root = offline / "audioldm-s-full-v2"
    unet = UNet2DConditionModel.from_pretrained(root / "unet").eval()
    pipe = AudioLDMPipeline(vae=None, text_encoder=ClapTextModelWithProjection.from_pretrained(root / "text_encoder"),
                            tokenizer=RobertaTokenizer.from_pretrained(root / "tokenizer"), unet=unet,
                            scheduler=DDIMScheduler.from_pretrained(root / "scheduler"), vocoder=None)
    captured = []
    unet.down_blocks[0].resnets[0].time_emb_proj.register_forward_pre_hook(lambda m, args: captured.append(args[0]))
    with torch.no_grad():
        text = pipe._encode_prompt(captions, "cpu", 1, False)  # (K, 24), L2-normalised
        for t in (999, 901, 500, 0):
            captured.clear()
            unet(torch.randn(len(captions), 4, 8, 8), t, encoder_hidden_states=None, class_labels=text)
            c, y, _ = readers.reading_vectors(embedding, "concatenation", t)
            assert torch.allclose(F.silu(c), captured[0], atol=1e-5)  # what every ResNet's time projection gets
            time = unet.time_embedding(unet.time_proj(torch.tensor([t])))
            total = readers.reading_vectors(embedding, "sum", t)[0]
            assert torch.allclose(total, time + unet.class_embedding(text), atol=1e-5)


def test_audioldm_follows_the_unets_sinusoid_settings(tmp_path, monkeypatch):
    """A UNet with [sin, cos] order and diffusers' frequency shift 1 still gives the live time embedding."""
    from diffusers import UNet2DConditionModel

    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    write_audioldm(tmp_path / "audioldm-s-full-v2", seed=5, flip_sin_to_cos=False, freq_shift=1)
    embedding = registry.load_embedding("audioldm-s-full-v2", "paper")
    unet = UNet2DConditionModel.from_pretrained(tmp_path / "audioldm-s-full-v2" / "unet").eval()
    with torch.no_grad():
        for t in (999, 250, 1):
            live = unet.time_embedding(unet.time_proj(torch.tensor([t])))[0]
            assert torch.allclose(embedding.time([t])[0], live, atol=1e-5)


# ----------------------------------------------------------------------------- the chapter's rows

def test_rows_carry_each_reading_and_the_papers_numbers(offline):
    frame = mechanisms_study.paper_mechanism_rows(["uvit-h", "sd3-medium", "sd3.5-large", "audioldm-s-full-v2"],
                                              progress=False)
    stats = ["cosine (y+t)", "nPR (y+t)", "cosine (y only)", "nPR (y only)"]
    assert {"model", "reading", "mechanism", "measured vector", "condition set", "d", "t0", *stats,
            *[f"paper {s}" for s in stats], "profile"} <= set(frame.columns)
    assert list(frame["model"]) == ["uvit-h", "uvit-h", "sd3-medium", "sd3.5-large", "audioldm-s-full-v2",
                                    "audioldm-s-full-v2"]
    uvit = frame[frame["model"] == "uvit-h"].set_index("reading")
    assert list(uvit["d"]) == [D_UVIT, 2 * D_UVIT] and set(uvit["t0"]) == {1000}
    assert uvit["paper cosine (y+t)"].iloc[0] == paper_value("T4", "cosine_y_plus_t", "UViT") == 0.97917
    c = torch.as_tensor(np_uvit_c(uvit_state(), 1000.0))
    assert uvit.loc["sum: y + t", "cosine (y+t)"] == pytest.approx(cosine_summary(c)["cosine_mean"], abs=1e-6)
    assert uvit.loc["sum: y + t", "nPR (y+t)"] == pytest.approx(normalized_pr(c).mean().item(), abs=1e-6)
    sd3 = frame[frame["model"] == "sd3.5-large"].iloc[0]
    assert sd3["paper nPR (y only)"] == paper_value("T5", "npr_y_only", "SD3.0-8B")
    assert sd3["condition set"].endswith("(5 conditions)") and sd3["mechanism"].startswith("adaLN")
    audio = frame[frame["model"] == "audioldm-s-full-v2"]
    assert list(audio["d"]) == [64, 128] and audio["cosine (y only)"].nunique() == 1  # y is y under both readings
    assert "cross-attention" in audio["mechanism"].iloc[0] and set(frame["profile"]) == {"paper"}


def test_the_reference_table_is_the_papers_four_columns():
    table = mechanisms_tables.paper_mechanism_table_reference()
    assert list(table["paper column"]) == ["UViT", "SD3.0-2B", "SD3.0-8B", "AudioLDM"]
    assert table.set_index("paper column").loc["AudioLDM", "paper cosine (y only)"] == 0.1406
    assert table.set_index("paper column").loc["UViT", "source"] == "the paper, Table 4"
    assert not table.filter(like="paper ").isna().any().any()
