"""The paper profile's judge offline: FID Inception and CLIP with random weights written here, ADM's npz layout.

torch-fidelity needs torchvision, and PyPI's only torchvision for the pinned CPU torch is a CUDA build that
cannot be imported next to it, so torch-fidelity is not in requirements.txt. The Inception tests therefore run
twice: on the real network where torch-fidelity is installed (skipped otherwise), and on `StandInInception`,
which keeps the part of torchmetrics' `NoTrainInceptionV3` that `InceptionFeatures` relies on.
"""
import importlib.util
import json
import string

import numpy as np
import pytest
import torch
from torch import nn

from semantic_bottleneck.checkpoints.judge_files import inception_clip_parts, load_clip_scorer
from semantic_bottleneck.judge import features as feature_extractors, metrics

pytestmark = pytest.mark.usefixtures("one_thread")

CLASS_NAMES = ["cat", "hippopotamus", "red fox"]


class StandInInception(nn.Module):
    """torchmetrics 1.9's `NoTrainInceptionV3` as `InceptionFeatures` sees it, without torch-fidelity.

    Same constructor; uint8 (N, 3, H, W) input only; `forward` returns the first name of `features_list`
    only (torchmetrics reshapes `out[0]`); `fc` (2048 -> 1008) without its bias gives "logits_unbiased".
    Its features are a linear map of 4x4-pooled pixels, so every pixel level moves them.
    """

    def __init__(self, name, features_list, feature_extractor_weights_path=None, antialias=True):
        super().__init__()
        assert feature_extractor_weights_path is not None, "the real network would download its weights here"
        self.features_list, self.use_antialias = list(features_list), antialias
        self.project, self.fc = nn.Linear(3 * 4 * 4, 2048), nn.Linear(2048, 1008)
        self.load_state_dict(torch.load(feature_extractor_weights_path))

    def forward(self, x):
        if x.dtype != torch.uint8:
            raise TypeError("Expecting image as torch.Tensor with dtype=torch.uint8")
        pooled = nn.functional.adaptive_avg_pool2d((x.float() - 128) / 128, 4).flatten(1)  # (N, 48)
        features = self.project(pooled)
        named = {"2048": features, "logits_unbiased": features @ self.fc.weight.T, "logits": self.fc(features)}
        return named[self.features_list[0]]


@pytest.fixture(scope="module")
def fidelity_weights(tmp_path_factory):
    """torch-fidelity's FID Inception with random He-initialised convolutions (features of order 1), torch.save'd."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    class Unloaded(FeatureExtractorInceptionV3):
        def load_state_dict(self, state_dict, strict=True, assign=False):
            """Keep the random initial weights."""

    path = tmp_path_factory.mktemp("inception") / "weights.pt"
    torch.save({}, path)  # read, and ignored, by the constructor
    torch.manual_seed(0)
    net = Unloaded("inception-v3-compat", ["2048"], str(path))
    for module in net.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture(params=["torch-fidelity", "stand-in"])
def inception_weights(request, tmp_path, monkeypatch):
    """A weights file for `InceptionFeatures`: the real network's, or the stand-in's (patched into torchmetrics)."""
    if request.param == "torch-fidelity":
        if importlib.util.find_spec("torch_fidelity") is None:
            pytest.skip("torch-fidelity is not installed (it needs a torchvision built for this torch)")
        return request.getfixturevalue("fidelity_weights")
    from torchmetrics.image import fid

    monkeypatch.setattr(fid, "NoTrainInceptionV3", StandInInception)
    g = torch.Generator().manual_seed(0)
    path = tmp_path / "stand_in.pt"
    torch.save({"project.weight": torch.randn(2048, 48, generator=g), "project.bias": torch.zeros(2048),
                "fc.weight": torch.randn(1008, 2048, generator=g) / 45, "fc.bias": torch.randn(1008, generator=g)}, path)
    return path


def random_images(count, seed, height=16, width=20):
    """Images (count, 3, H, W) in [-1.1, 1.1]: a little outside [-1, 1], as decoded samples can be."""
    return torch.rand(count, 3, height, width, generator=torch.Generator().manual_seed(seed)) * 2.2 - 1.1


def test_to_uint8_takes_the_nearest_level_and_gives_adm_bytes_back():
    images = torch.tensor([-1.5, -1.0, -0.999, 0.0, 0.5, 1.0, 2.0])
    # 127.5 x + 127.5 = -63.75, 0, 0.13, 127.5, 191.25, 255, 382.5 -> nearest level, clamped (127.5 rounds up)
    assert feature_extractors.to_uint8(images).tolist() == [0, 0, 0, 128, 191, 255, 255]
    levels = torch.arange(256)
    assert torch.equal(feature_extractors.to_uint8(levels.float() / 127.5 - 1), levels.to(torch.uint8))  # truncating drops 63


def test_inception_features_shapes_quantisation_and_batch_split(inception_weights):
    from torchmetrics.image.fid import NoTrainInceptionV3

    extractor = feature_extractors.InceptionFeatures(weights_path=str(inception_weights))
    assert extractor.net.use_antialias is False  # torch-fidelity's TF1 bilinear resize, not torch's antialiased one
    images = random_images(5, seed=1)
    features, logits = extractor(images)
    assert features.shape == (5, 2048) and logits.shape == (5, 1008) and features.dtype == torch.float32
    pixels = feature_extractors.to_uint8(images)
    for name, got in (("2048", features), ("logits_unbiased", logits)):
        alone = NoTrainInceptionV3("inception-v3-compat", [name], str(inception_weights), antialias=False)
        torch.testing.assert_close(got, alone(pixels), rtol=1e-4, atol=1e-5)
    assert not torch.allclose(features, extractor(images - 1 / 127.5)[0])  # one level darker moves the features
    halves = [extractor(images[:2]), extractor(images[2:])]
    torch.testing.assert_close(torch.cat([h[0] for h in halves]), features, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.cat([h[1] for h in halves]), logits, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A random two-layer CLIP, its processor and a letters-only BPE vocabulary, saved with `save_pretrained`."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    folder = tmp_path_factory.mktemp("clip")
    tokens = [*string.ascii_lowercase, *(c + "</w>" for c in string.ascii_lowercase), "<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(tokens)}
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")  # no merges: every word is spelled letter by letter
    processor = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 24}, crop_size=24),
                              tokenizer=CLIPTokenizer.from_pretrained(folder))
    processor.save_pretrained(folder)
    ends = {"bos_token_id": vocab["<|startoftext|>"], "eos_token_id": vocab["<|endoftext|>"],
            "pad_token_id": vocab["<|endoftext|>"]}
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4}
    torch.manual_seed(0)
    config = CLIPConfig(text_config={"vocab_size": len(vocab), "max_position_embeddings": 40, **ends, **small},
                        vision_config={"image_size": 24, "patch_size": 8, **small}, projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    return folder


def cosines_by_hand(folder, images, prompts):
    """cos(image, text) per pair: PIL images, one unpadded prompt at a time, the model's towers and projections."""
    from PIL import Image
    from transformers import CLIPImageProcessor, CLIPModel, CLIPTokenizer

    model = CLIPModel.from_pretrained(folder).eval()
    pil = [Image.fromarray(image.permute(1, 2, 0).numpy()) for image in feature_extractors.to_uint8(images)]
    pixels = CLIPImageProcessor.from_pretrained(folder)(images=pil, return_tensors="pt")["pixel_values"]
    tokenizer = CLIPTokenizer.from_pretrained(folder)
    with torch.no_grad():
        image = model.visual_projection(model.vision_model(pixel_values=pixels).pooler_output)
        text = torch.cat([model.text_projection(model.text_model(**tokenizer(p, return_tensors="pt")).pooler_output)
                          for p in prompts])
    return nn.functional.cosine_similarity(image, text)


def test_clip_score_is_100_times_the_clamped_cosine_of_image_and_class_prompt(tiny_clip):
    scorer = load_clip_scorer(CLASS_NAMES, str(tiny_clip))
    images, labels = random_images(4, seed=2), torch.tensor([0, 1, 2, 1])
    prompts = ["a photo of a cat", "a photo of a hippopotamus", "a photo of a red fox", "a photo of a hippopotamus"]
    assert scorer.prompts(labels) == prompts
    scores = scorer(images, labels, None)
    cosines = cosines_by_hand(tiny_clip, images, prompts)
    assert scores.shape == (4,) and ((scores >= 0) & (scores <= 100)).all() and (cosines > 0).any()
    torch.testing.assert_close(scores, 100 * cosines.clamp(min=0), rtol=1e-4, atol=1e-4)
    with torch.no_grad():
        scorer.model.text_projection.weight.neg_()  # every cosine changes sign: the positive ones now score 0
    torch.testing.assert_close(scorer(images, labels, None), 100 * (-cosines).clamp(min=0), rtol=1e-4, atol=1e-4)


def test_clip_scorer_refuses_missing_class_names_and_a_prompt_without_a_slot():
    for class_names in (None, [], "cat"):
        with pytest.raises(ValueError, match="class_names must be"):
            feature_extractors.ClipScorer(class_names, None, None)
    with pytest.raises(ValueError, match="prompt must contain"):
        feature_extractors.ClipScorer(CLASS_NAMES, None, None, prompt="a photo")


class RecordingExtractor:
    """Features: per-image channel means (N, 3); keeps every batch it is given."""

    name, num_features = "channel means", 3

    def __init__(self):
        self.batches = []

    def __call__(self, images):
        self.batches.append(images)
        return images.mean((2, 3)), images.mean((2, 3))


def write_adm_npz(path, images, mu, sigma, **extra):
    """An npz in ADM's reference-batch layout: arr_0 uint8 (N, H, W, 3), mu (F,), sigma (F, F)."""
    np.savez(path, arr_0=images, mu=mu, sigma=sigma, **extra)
    return path


def test_adm_reference_keeps_the_stored_statistics_and_reads_the_images_back_exactly(tmp_path):
    images = np.random.default_rng(3).integers(0, 256, (7, 5, 6, 3), dtype=np.uint8)  # H != W: catches a transpose
    mu, sigma = np.array([1.0, 2.0, 3.0]), np.diag([1.0, 2.0, 3.0])
    extractor = RecordingExtractor()
    reference = metrics.adm_reference(extractor, write_adm_npz(tmp_path / "ref.npz", images, mu, sigma), batch_size=3)
    assert [len(b) for b in extractor.batches] == [3, 3, 1]
    seen = torch.cat(extractor.batches)
    assert seen.shape == (7, 3, 5, 6) and seen.min() >= -1 and seen.max() <= 1
    assert torch.equal(feature_extractors.to_uint8(seen), torch.from_numpy(images).permute(0, 3, 1, 2))
    assert torch.equal(reference.mu, torch.from_numpy(mu)) and torch.equal(reference.sigma, torch.from_numpy(sigma))
    assert reference.count == 7 and not reference.stats_from_features
    torch.testing.assert_close(reference.features, seen.mean((2, 3)))


def test_adm_reference_refuses_files_out_of_adm_layout(tmp_path):
    images = np.zeros((4, 5, 6, 3), dtype=np.uint8)
    mu, sigma = np.zeros(3), np.eye(3)
    np.savez(tmp_path / "no_sigma.npz", arr_0=images, mu=mu)
    with pytest.raises(ValueError, match="lacks sigma"):
        metrics.adm_reference(RecordingExtractor(), tmp_path / "no_sigma.npz")
    for name, bad in (("nchw", images.transpose(0, 3, 1, 2)), ("float", images.astype(np.float32))):
        with pytest.raises(ValueError, match=r"uint8 images \(N, H, W, 3\)"):
            metrics.adm_reference(RecordingExtractor(), write_adm_npz(tmp_path / f"{name}.npz", bad, mu, sigma))
    with pytest.raises(ValueError, match="match the 3-d features"):
        metrics.adm_reference(RecordingExtractor(), write_adm_npz(tmp_path / "wide.npz", images, np.zeros(4), np.eye(4)))


def test_the_inception_clip_judge_end_to_end(inception_weights, tiny_clip, tmp_path):
    real = np.random.default_rng(4).integers(0, 256, (6, 16, 16, 3), dtype=np.uint8)
    as_images = torch.from_numpy(real).permute(0, 3, 1, 2).float() / 127.5 - 1
    # the reference's stored statistics are the real images' own, so they score FID ~ 0
    mu, sigma = metrics.feature_stats(feature_extractors.InceptionFeatures(weights_path=str(inception_weights))(as_images)[0])
    npz = write_adm_npz(tmp_path / "ref.npz", real, mu.numpy(), sigma.numpy())
    judge = metrics.Judge(*inception_clip_parts(CLASS_NAMES, inception_weights=str(inception_weights),
                                                clip_model=str(tiny_clip), reference_path=npz), kid_subset_size=6)
    assert "ADM" in judge.protocol()["FID"] and judge.reference.count == 6
    labels = torch.arange(6) % 3
    itself = judge.score(judge.records(as_images, labels))
    assert itself["fid"] == pytest.approx(0.0, abs=1e-5 * sigma.trace().item())  # float64 eigenvalues of a rank-5 S S
    assert itself["precision"] == 1.0 and itself["recall"] == 1.0
    other = judge.score(judge.records(random_images(6, seed=5, height=16, width=16), labels))
    assert set(other) == {"fid", "kid", "kid_std", "is", "is10", "precision", "recall", "clip"}
    assert all(np.isfinite(value) for value in other.values()) and 0 <= other["clip"] <= 100
    assert other["fid"] > 100 * abs(itself["fid"])


def test_the_inception_clip_judge_needs_class_names_before_any_download():
    with pytest.raises(ValueError, match="class_names must be"):
        inception_clip_parts(None)
