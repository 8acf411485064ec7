"""Judging samples: FID, KID and Inception Score (torchmetrics) on a pluggable feature extractor,
improved precision/recall (Kynkaenniemi et al. 2019), and per-sample agreement with the requested class.

A feature extractor maps images in [-1, 1] to (features (N, F), logits (N, K)). The `tiny`/`ci`
profiles use the evaluation classifier trained here (`ClassifierFeatures`); the `paper` profile uses
torchmetrics' FID Inception network (`InceptionFeatures`, which needs torch-fidelity: imported only
there) and a CLIP score (`ClipScorer`, transformers). The features are computed once per image and handed
to the torchmetrics metrics through `PassThrough`, so FID, KID, IS and precision/recall all see the same numbers.

The paper computes FID with LightningDiT's evaluation code, i.e. ADM's TensorFlow evaluator. The paper
profile follows it (same Inception graph, ported to PyTorch by torch-fidelity; TF1-style resize; ADM's
reference statistics) but is not that code: expect numbers close to the paper's, not equal to them.
"""
from dataclasses import dataclass
import warnings

import numpy as np
import torch
from torch import nn


class PassThrough(nn.Module):
    """A torchmetrics "feature network" that returns its input: lets the metrics take precomputed features."""

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features

    def forward(self, x):
        return x


class ClassifierFeatures:
    """The tiny profile's extractor: the evaluation classifier's pooled features and logits."""

    def __init__(self, classifier):
        self.classifier = classifier.eval()
        self.num_features = classifier.num_features
        self.name = f"eval-classifier features ({classifier.num_features}-d)"

    @torch.no_grad()
    def __call__(self, images):
        device = next(self.classifier.parameters()).device
        features = self.classifier.features(images.float().to(device))
        return features.cpu(), self.classifier.head(features).cpu()


def to_uint8(images):
    """Images in [-1, 1] as the uint8 levels of a saved sample: the nearest of 256 levels, clamped.

    This is clamp(127.5 x + 128, 0, 255) truncated, as DiT's and LightningDiT's sampling scripts write
    their samples; it maps k / 127.5 - 1 back to k exactly (ADM's reference images round-trip).
    """
    return (127.5 * images.float() + 128).clamp(0, 255).to(torch.uint8)


class InceptionFeatures:
    """The paper profile's extractor: the FID Inception-v3's pool3 features (N, 2048) and unbiased logits (N, 1008).

    torchmetrics' `NoTrainInceptionV3` with torch-fidelity's port of the TF graph's weights (downloaded by
    torch-fidelity unless `weights_path` is given). Images are quantised with `to_uint8` and resized to 299
    with torch-fidelity's TF1-style bilinear filter (`antialias=False`), like ADM's evaluator.
    """

    def __init__(self, device="cpu", weights_path=None):
        from torchmetrics.image.fid import NoTrainInceptionV3  # needs torch-fidelity (paper profile only)

        # its forward returns the first listed feature only; the logits come from the same fc weight in __call__
        self.net = NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                      feature_extractor_weights_path=weights_path, antialias=False).to(device)
        self.device, self.num_features = device, 2048
        self.name = "Inception-v3 pool3 (2048-d, torch-fidelity FID weights, TF1 bilinear resize)"

    @torch.no_grad()
    def __call__(self, images):
        features = self.net(to_uint8(images).to(self.device))
        logits = features @ self.net.fc.weight.T  # torch-fidelity's "logits_unbiased": the fc layer without its bias
        return features.float().cpu(), logits.float().cpu()


class ClassifierAgreement:
    """Per image: 1 if the evaluation classifier assigns it to the requested class, else 0."""

    name = "class agreement (eval classifier)"
    column = "class_agreement"

    def __call__(self, images, labels, logits):
        return (logits.argmax(1) == torch.as_tensor(labels)).float()


CLIP_MODEL = "openai/clip-vit-large-patch14"


class ClipScorer:
    """Per image: 100 * max(cos(CLIP image, CLIP text), 0) with the prompt "a photo of a {class name}".

    The paper reports a CLIP score without defining it; this is torchmetrics' CLIPScore convention
    (w = 100) with the ViT-L/14 model it defaults to. `model_name`: a hub name or a folder saved with
    `save_pretrained` (model and processor). Images go to the processor as uint8 (3, H, W) tensors
    (`to_uint8`), which it rescales, resizes, crops and normalises as it would PIL images.
    Needs `transformers`.
    """

    column = "clip"

    def __init__(self, class_names, model_name=CLIP_MODEL, prompt="a photo of a {}", device="cpu"):
        if class_names is None or isinstance(class_names, str) or len(class_names) == 0:
            raise ValueError(f"class_names must be a non-empty sequence of class names; got {class_names!r}")
        if "{}" not in prompt:
            raise ValueError(f"prompt must contain {{}} where the class name goes; got {prompt!r}")
        from transformers import CLIPModel, CLIPProcessor

        from .weights import from_hub

        self.model = from_hub(f"CLIP {model_name}", lambda: CLIPModel.from_pretrained(model_name)).to(device).eval()
        self.processor = from_hub(f"CLIP processor {model_name}", lambda: CLIPProcessor.from_pretrained(model_name))
        self.class_names, self.prompt, self.device = list(class_names), prompt, device
        self.name = f"CLIP score ({model_name}, prompt {prompt.format('{class name}')!r}, scale 100)"

    def prompts(self, labels):
        """The text each label is scored against."""
        return [self.prompt.format(self.class_names[int(k)]) for k in labels]

    @torch.no_grad()
    def __call__(self, images, labels, logits):
        batch = self.processor(text=self.prompts(labels), images=list(to_uint8(images).cpu()), return_tensors="pt",
                               padding=True).to(self.device)
        out = self.model(**batch)  # image_embeds, text_embeds: projected and L2-normalised
        return (100 * (out.image_embeds * out.text_embeds).sum(-1)).clamp(min=0).float().cpu()


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """Frechet distance between two Gaussians in float64: |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^1/2)."""
    mu1, mu2 = torch.as_tensor(mu1, dtype=torch.float64), torch.as_tensor(mu2, dtype=torch.float64)
    s1, s2 = torch.as_tensor(sigma1, dtype=torch.float64), torch.as_tensor(sigma2, dtype=torch.float64)
    root_trace = torch.linalg.eigvals(s1 @ s2).sqrt().real.sum()
    return ((mu1 - mu2).square().sum() + s1.trace() + s2.trace() - 2 * root_trace).item()


def feature_stats(features):
    """Mean (F,) and unbiased covariance (F, F) of features (N, F), in float64."""
    x = features.double()
    return x.mean(0), torch.cov(x.T)


@dataclass
class Reference:
    """The real-image side: features (M, F) when available (needed for KID, precision, recall), mean, covariance."""

    name: str
    mu: torch.Tensor
    sigma: torch.Tensor
    count: int
    features: torch.Tensor | None = None
    stats_from_features: bool = True  # False: mu/sigma were given (e.g. ADM's train-set statistics)

    @classmethod
    def from_features(cls, features, name):
        """A reference from real features (M, F)."""
        mu, sigma = feature_stats(features)
        return cls(name, mu, sigma, len(features), features.float())


def _kth_radius(x, k, chunk=2048):
    """Distance from each row of x to its k-th nearest other row."""
    out = []
    for start in range(0, len(x), chunk):
        d = torch.cdist(x[start:start + chunk].double(), x.double())
        out.append(d.kthvalue(k + 1, dim=1).values)  # the smallest distance is the row to itself
    return torch.cat(out)


def _covered(points, centers, radii, chunk=2048):
    """For each point: is it inside at least one ball (center, radius)?"""
    out = []
    for start in range(0, len(points), chunk):
        d = torch.cdist(points[start:start + chunk].double(), centers.double())
        out.append((d <= radii.unsqueeze(0)).any(1))
    return torch.cat(out)


def precision_recall(real, fake, k=3):
    """Improved precision and recall (Kynkaenniemi et al. 2019) of fake features against real features.

    Each set's manifold is the union of balls around its points with radius = distance to the k-th
    nearest neighbour within the set. Precision: share of fake points inside the real manifold;
    recall: share of real points inside the fake manifold.
    """
    if real is None:
        raise ValueError("real must be features (M, F), not statistics only: precision/recall need the images' features")
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"k must be smaller than both set sizes; got k={k}, {len(real)} real, {len(fake)} fake")
    precision = _covered(fake, real, _kth_radius(real, k)).double().mean().item()
    recall = _covered(real, fake, _kth_radius(fake, k)).double().mean().item()
    return precision, recall


class Judge:
    """Scores sets of samples against one reference with one extractor and one per-sample agreement score."""

    def __init__(self, extractor, agreement, reference, kid_subsets=100, kid_subset_size=1000, pr_k=3):
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore
        from torchmetrics.image.kid import KernelInceptionDistance

        self.extractor, self.agreement, self.reference, self.pr_k = extractor, agreement, reference, pr_k
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        width = reference.mu.shape[0]
        self._fid = None
        if reference.features is not None and reference.stats_from_features:
            self._fid = FrechetInceptionDistance(feature=PassThrough(width), reset_real_features=False)
            self._fid.update(reference.features, real=True)
        self._make_kid = lambda size: KernelInceptionDistance(feature=PassThrough(width), subsets=kid_subsets,
                                                              subset_size=size, reset_real_features=True)
        self._make_is = lambda: InceptionScore(feature=PassThrough(1), splits=1)
        self._quiet = [("ignore", ".*will save all extracted features.*"), ("ignore", r"std\(\): degrees of freedom")]

    def records(self, images, labels):
        """Per-sample records of a batch of images in [-1, 1]: features, logits, agreement score (CPU)."""
        features, logits = self.extractor(images)
        return {"features": features.float().cpu(), "logits": logits.float().cpu(),
                "agreement": self.agreement(images, labels, logits).float().cpu()}

    def score(self, records, seed=0):
        """fid, kid, kid_std, is, precision, recall and the mean agreement of one set of records."""
        fake, logits = records["features"], records["logits"]
        if self._fid is not None:
            self._fid.reset()
            self._fid.update(fake, real=False)
            fid = self._fid.compute().item()
        else:
            mu, sigma = feature_stats(fake)
            fid = frechet_distance(self.reference.mu, self.reference.sigma, mu, sigma)
        out = {"fid": fid}
        with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
            for action, message in self._quiet:  # known and harmless: feature buffers; the std of one IS split
                warnings.filterwarnings(action, message=message)
            torch.manual_seed(seed)  # KID's random subsets
            if self.reference.features is not None:
                kid = self._make_kid(min(self.kid_subset_size, len(fake), self.reference.count))
                kid.update(self.reference.features, real=True)
                kid.update(fake, real=False)
                mean, std = kid.compute()
                out.update(kid=mean.item(), kid_std=std.item())
            inception = self._make_is()
            inception.update(logits)
            out["is"] = inception.compute()[0].item()
        if self.reference.features is not None:
            out["precision"], out["recall"] = precision_recall(self.reference.features, fake, self.pr_k)
        out[self.agreement.column] = records["agreement"].mean().item()
        return out

    def protocol(self):
        """The metric half of a protocol table (what was measured, against what)."""
        return {"feature extractor": self.extractor.name, "reference": f"{self.reference.name} ({self.reference.count} images)",
                "FID": "torchmetrics FrechetInceptionDistance on the extractor's features" if self._fid is not None
                       else "Frechet distance (float64) against the reference's stored mean/covariance (ADM's)",
                "KID": f"torchmetrics, {self.kid_subsets} subsets of up to {self.kid_subset_size}",
                "IS": "torchmetrics InceptionScore on the extractor's logits, 1 split (order-independent)",
                "precision / recall": f"k-NN manifolds, k = {self.pr_k} (Kynkaenniemi et al. 2019)",
                "agreement": self.agreement.name}


def concat_records(parts):
    """Concatenate per-batch records along the sample axis."""
    return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


def subset_records(records, rows):
    """The records of the given sample rows."""
    rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
    return {key: value[rows] for key, value in records.items()}


EVALUATORS = ("eval-classifier", "inception-clip")
ADM_REFERENCE_URL = ("https://openaipublic.blob.core.windows.net/diffusion/jul-2021/ref_batches/imagenet/256/"
                     "VIRTUAL_imagenet256_labeled.npz")


def procedural_reference(extractor, count=1000, seed=12345, image_size=16):
    """Real images for the tiny profiles: `count` procedural shapes (labels index mod 20) through the extractor."""
    from . import shapes

    labels = torch.arange(count) % shapes.NUM_CLASSES
    real = shapes.render(labels, torch.Generator().manual_seed(seed), image_size)
    return Reference.from_features(extractor(real)[0], f"procedural shapes (seed {seed})")


def adm_reference(extractor, path=None, batch_size=200):
    """ADM's ImageNet-256 reference batch: its stored mu/sigma for FID, its 10k images' features for KID/P/R.

    Downloaded on first use (10,000 images of 256x256, about 2 GB as arrays; pooch logs its sha256) unless
    `path` is given: an npz in ADM's layout (`arr_0` uint8 images (N, H, W, 3), `mu` (F,), `sigma` (F, F)).
    """
    if path is None:
        import pooch

        path = pooch.retrieve(ADM_REFERENCE_URL, known_hash=None, progressbar=True)
    with np.load(path) as npz:
        missing = sorted({"arr_0", "mu", "sigma"} - set(npz.files))
        if missing:
            raise ValueError(f"path must be an npz in ADM's layout (arr_0, mu, sigma); it lacks {', '.join(missing)}")
        mu, sigma, images = npz["mu"], npz["sigma"], npz["arr_0"]
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"path's arr_0 must be uint8 images (N, H, W, 3); got {images.dtype} {images.shape}")
    features = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start:start + batch_size]).permute(0, 3, 1, 2).float() / 127.5 - 1
        features.append(extractor(batch)[0])
    features = torch.cat(features)
    width = features.shape[1]
    if mu.shape != (width,) or sigma.shape != (width, width):
        raise ValueError(f"path's mu and sigma must match the {width}-d features; got {mu.shape} and {sigma.shape}")
    return Reference("ADM VIRTUAL_imagenet256_labeled.npz (FID: its mu/sigma; KID, P/R: its images)",
                     torch.from_numpy(mu), torch.from_numpy(sigma), len(images), features, False)


def make_judge(evaluator, profile, class_names=None, device="cpu", reference_size=1000, kid_subset_size=1000, *,
               inception_weights=None, clip_model=CLIP_MODEL, reference_path=None):
    """The judge an evaluator name stands for: `eval-classifier` (tiny/ci) or `inception-clip` (paper).

    `inception-clip` reads three files, by default the real ones (downloaded on first use): the FID
    Inception weights (`inception_weights`), the CLIP model (`clip_model`) and ADM's reference batch
    (`reference_path`).
    """
    if evaluator == "eval-classifier":
        from .models import load_eval_classifier

        classifier, _ = load_eval_classifier(profile)
        extractor = ClassifierFeatures(classifier)
        reference = procedural_reference(extractor, reference_size)
        return Judge(extractor, ClassifierAgreement(), reference, kid_subsets=50, kid_subset_size=kid_subset_size)
    if evaluator == "inception-clip":
        clip = ClipScorer(class_names, clip_model, device=device)
        extractor = InceptionFeatures(device, inception_weights)
        return Judge(extractor, clip, adm_reference(extractor, reference_path), kid_subsets=100,
                     kid_subset_size=kid_subset_size)
    raise ValueError(f"evaluator must be one of {', '.join(EVALUATORS)}; got {evaluator!r}")
