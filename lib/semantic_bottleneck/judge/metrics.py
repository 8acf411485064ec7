"""Scoring sets of samples: FID, KID and Inception Score (torchmetrics) on any feature extractor, improved
precision/recall (Kynkaenniemi et al. 2019), and the mean of each per-sample score (agreement with the requested
condition; for paired tasks, similarity to each sample's target).

The features are computed once per image and handed to the torchmetrics metrics through `PassThrough`, so
FID, KID, IS and precision/recall all see the same numbers.

The paper computes FID with LightningDiT's evaluation code, i.e. ADM's TensorFlow evaluator. The paper
profile follows it (same Inception graph, ported to PyTorch by torch-fidelity; TF1-style resize; ADM's
reference statistics) but is not that code: expect numbers close to the paper's, not equal to them.
"""
from dataclasses import dataclass
import warnings

import numpy as np
import torch
from torch import nn

IS_SPLITS = 10  # the usual Inception Score convention: the mean of IS over 10 splits of the samples
METRIC_NAMES = {"fid": "FID", "is": "IS (1 split)", "is10": "IS (10 splits)", "kid": "KID", "precision": "precision",
                "recall": "recall", "class_agreement": "class agreement", "clip": "CLIP score", "removed_dims": "removed"}


class PassThrough(nn.Module):
    """A torchmetrics "feature network" that returns its input: lets the metrics take precomputed features."""

    def __init__(self, num_features):
        super().__init__()
        self.num_features = num_features

    def forward(self, x):
        return x


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
    """Scores sets of samples against one reference with one extractor and one or more per-sample scores.

    A per-sample scorer has a `column` and a `name` and maps (images, condition batch, logits, global indices) to
    one number per image; the first is `agreement` (the one the pruning tables call the agreement column).
    """

    def __init__(self, extractor, scorers, reference, kid_subsets=100, kid_subset_size=1000, pr_k=3):
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore
        from torchmetrics.image.kid import KernelInceptionDistance

        self.scorers = list(scorers) if isinstance(scorers, (list, tuple)) else [scorers]
        self.extractor, self.agreement, self.reference, self.pr_k = extractor, self.scorers[0], reference, pr_k
        self.kid_subsets, self.kid_subset_size = kid_subsets, kid_subset_size
        width = reference.mu.shape[0]
        self._fid = None
        if reference.features is not None and reference.stats_from_features:
            self._fid = FrechetInceptionDistance(feature=PassThrough(width), reset_real_features=False)
            self._fid.update(reference.features, real=True)
        self._make_kid = lambda size: KernelInceptionDistance(feature=PassThrough(width), subsets=kid_subsets,
                                                              subset_size=size, reset_real_features=True)
        self._make_is = lambda splits: InceptionScore(feature=PassThrough(1), splits=splits)
        self._quiet = [("ignore", ".*will save all extracted features.*"), ("ignore", r"std\(\): degrees of freedom")]

    def records(self, images, conditions, indices=None):
        """Per-sample records of a batch of images in [-1, 1] (CPU): features, logits, and each scorer's score
        (`score:<column>`), given the batch's condition batch and global sample indices."""
        features, logits = self.extractor(images)
        out = {"features": features.float().cpu(), "logits": logits.float().cpu()}
        for scorer in self.scorers:
            out[f"score:{scorer.column}"] = scorer(images, conditions, logits, indices).float().cpu()
        return out

    def score(self, records, seed=0):
        """fid, kid, kid_std, is (1 split), is10 (10 splits), precision, recall and each per-sample score's mean."""
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
            torch.manual_seed(seed)  # KID's random subsets, IS's random splits
            if self.reference.features is not None:
                kid = self._make_kid(min(self.kid_subset_size, len(fake), self.reference.count))
                kid.update(self.reference.features, real=True)
                kid.update(fake, real=False)
                mean, std = kid.compute()
                out.update(kid=mean.item(), kid_std=std.item())
            for key, splits in (("is", 1), ("is10", IS_SPLITS)):
                inception = self._make_is(splits)
                inception.update(logits)
                out[key] = inception.compute()[0].item()
        if self.reference.features is not None:
            out["precision"], out["recall"] = precision_recall(self.reference.features, fake, self.pr_k)
        for scorer in self.scorers:
            out[scorer.column] = records[f"score:{scorer.column}"].mean().item()
        return out

    def protocol(self):
        """The metric half of a protocol table (what was measured, against what)."""
        return {"feature extractor": self.extractor.name, "reference": f"{self.reference.name} ({self.reference.count} images)",
                "FID": "torchmetrics FrechetInceptionDistance on the extractor's features" if self._fid is not None
                       else "Frechet distance (float64) against the reference's stored mean/covariance (ADM's)",
                "KID": f"torchmetrics, {self.kid_subsets} subsets of up to {self.kid_subset_size}",
                "IS": "torchmetrics InceptionScore on the extractor's logits: `is` one split of all N samples; `is10` "
                      f"the mean over {IS_SPLITS} random splits of N/{IS_SPLITS} (the usual convention; the paper's IS "
                      "is compared with it)",
                "precision / recall": f"k-NN manifolds, k = {self.pr_k} (Kynkaenniemi et al. 2019)",
                "agreement": "; ".join(scorer.name for scorer in self.scorers)}


def concat_records(parts):
    """Concatenate per-batch records along the sample axis."""
    return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


def subset_records(records, rows):
    """The records of the given sample rows."""
    rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
    return {key: value[rows] for key, value in records.items()}


def adm_reference(extractor, path=None, batch_size=200):
    """ADM's ImageNet-256 reference batch: its stored mu/sigma for FID, its 10k images' features for KID/P/R.

    `path` is an npz in ADM's layout (`arr_0` uint8 images (N, H, W, 3), `mu` (F,), `sigma` (F, F)); the real
    one (10,000 images of 256x256, about 2 GB as arrays) is downloaded by `checkpoints.judge_files`.
    """
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
