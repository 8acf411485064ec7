"""The judges of the pose-guided chapter: FID on one extractor, and per-sample scores against each pair's answer.

Table 7 reports FID, SSIM, LPIPS and PSNR. SSIM and PSNR are torchmetrics' on images in [0, 1] (data range 1;
SSIM with an 11 x 11 Gaussian window, sigma 1.5); which window and data range the paper used is not stated.
LPIPS is torchmetrics' with AlexNet (as PIDM's evaluation, which DeepFashion papers follow) and needs
torchvision and ImageNet weights: the `paper` profile only. The evaluators:
- `tiny-eval`: the tiny profile's evaluation network (FID features, pose accuracy, person preservation) and its
  LPIPS stand-in (`tiny.pose_eval`);
- `inception-lpips`: Inception FID (torch-fidelity's weights), SSIM, real LPIPS, PSNR (the paper profile);
- `pixels`: Frechet distance of 8 x 8 thumbnails, SSIM and PSNR: runs anywhere, offline (smoke tests).
The reference set of FID and KID is the real answers (target images) of the evaluated pairs, not a training set.
FID estimates a covariance from each seed's samples: with no more samples than feature dimensions that covariance is
singular and FID means nothing (`fid_caveat`); KID, unbiased at any sample count, is then the headline.
"""
import pandas as pd
import torch
import torch.nn.functional as F

from ...devices import resolve_device
from ...judge.features import InceptionFeatures
from ...judge.metrics import Judge, Reference, concat_records
from ...tiny.pose_eval import FeatureDistance, PersonPreservation, PoseAccuracy, PoseEvalFeatures, load_eval_network
from ...settings.chapters import PoseSettings

EVALUATORS = ("tiny-eval", "inception-lpips", "pixels")
REAL, COPY = "the real answers", "the source image, copied"  # the rows of `calibration`
UNREPORTED = ("IS", "precision / recall")  # computed by every Judge, never shown by this chapter


def _unit(images):
    """Images in [-1, 1] as floats in [0, 1]."""
    return ((images.float() + 1) / 2).clamp(0, 1)


class Ssim:
    """Per image: SSIM against the pair's answer (torchmetrics; [0, 1], data range 1, Gaussian 11 x 11, sigma 1.5)."""

    column, name = "ssim", "SSIM vs the answer (torchmetrics, images in [0, 1], Gaussian window 11, sigma 1.5)"

    def __init__(self, pairs):
        self.pairs = pairs

    def __call__(self, images, conditions, logits, indices):
        from torchmetrics.functional.image import structural_similarity_index_measure

        answers = self.pairs.answers(indices).to(images.device)
        return structural_similarity_index_measure(_unit(images), _unit(answers), data_range=1.0,
                                                   reduction="none").cpu()


class Psnr:
    """Per image: PSNR in dB against the pair's answer (torchmetrics; images in [0, 1], data range 1)."""

    column, name = "psnr", "PSNR vs the answer (torchmetrics, dB, images in [0, 1], data range 1)"

    def __init__(self, pairs):
        self.pairs = pairs

    def __call__(self, images, conditions, logits, indices):
        from torchmetrics.functional.image import peak_signal_noise_ratio

        answers = self.pairs.answers(indices).to(images.device)
        return peak_signal_noise_ratio(_unit(images), _unit(answers), data_range=1.0, reduction="none",
                                       dim=(1, 2, 3)).cpu()


class Lpips:
    """Per image: LPIPS (AlexNet) against the pair's answer; torchmetrics, which needs torchvision's weights."""

    column, name = "lpips", "LPIPS vs the answer (torchmetrics, AlexNet, images in [-1, 1])"

    def __init__(self, pairs, device="cpu"):
        from torchmetrics.image.lpip import LearnedPerceptualImagePatchSimilarity

        self.pairs, self.device = pairs, device
        self.metric = LearnedPerceptualImagePatchSimilarity(net_type="alex", reduction="none").to(device)

    @torch.no_grad()
    def __call__(self, images, conditions, logits, indices):
        answers = self.pairs.answers(indices)
        scores = self.metric(images.float().to(self.device).clamp(-1, 1), answers.float().to(self.device).clamp(-1, 1))
        self.metric.reset()
        return scores.reshape(-1).cpu()  # (N,)


class PixelFeatures:
    """An offline extractor for smoke tests: each image as its 8 x 8 RGB thumbnail (192 numbers); no logits."""

    num_features = 192
    name = "8 x 8 pixel thumbnails (192-d; an offline stand-in for Inception, not comparable to any paper FID)"

    def __call__(self, images):
        thumbnails = F.adaptive_avg_pool2d(images.float(), 8).flatten(1)  # (N, 192)
        return thumbnails.cpu(), torch.zeros(len(images), 1)


def make_judge(settings: PoseSettings, pairs, progress=True):
    """The judge of `settings.evaluator` for a pair source, against the real answers of every evaluated pair."""
    if settings.evaluator not in EVALUATORS:
        raise ValueError(f"evaluator must be one of {', '.join(EVALUATORS)}; got {settings.evaluator!r}")
    device = resolve_device(settings.device)
    if settings.evaluator == "tiny-eval":
        network, _ = load_eval_network(settings.profile, progress)
        extractor = PoseEvalFeatures(network)
        scorers = [Ssim(pairs), FeatureDistance(network, pairs), Psnr(pairs), PoseAccuracy(pairs), PersonPreservation(pairs)]
    elif settings.evaluator == "inception-lpips":
        extractor, scorers = InceptionFeatures(device), [Ssim(pairs), Lpips(pairs, device), Psnr(pairs)]
    else:
        extractor, scorers = PixelFeatures(), [Ssim(pairs), Psnr(pairs)]
    indices = list(range(settings.seeds * settings.samples_per_seed))
    features = torch.cat([extractor(pairs.answers(indices[start:start + settings.batch_size]))[0]
                          for start in range(0, len(indices), settings.batch_size)])
    reference = Reference.from_features(features, f"the real answers of the {len(indices)} evaluated pairs")
    return Judge(extractor, scorers, reference, kid_subsets=settings.kid_subsets,
                 kid_subset_size=settings.kid_subset_size)


def feature_width(judge):
    """The dimension of the judge's FID/KID features."""
    return int(judge.reference.mu.shape[0])


def fid_caveat(samples, width):
    """Why FID is not meaningful at `samples` per seed in `width`-d features (samples <= width: a singular sample
    covariance), or "" when it is."""
    if samples <= width:
        return f"not meaningful: {samples} samples per seed <= {width}-d features, a singular covariance"
    return ""


def uses_lpips_stand_in(judge):
    """Whether the judge's `lpips` column is the tiny profile's stand-in (`tiny.pose_eval.FeatureDistance`)."""
    return any(isinstance(scorer, FeatureDistance) for scorer in judge.scorers)


def metric_names(judge, samples):
    """Each metric's label as this judge measures it: the LPIPS stand-in named as such, FID marked where it is not
    meaningful at `samples` per seed."""
    width = feature_width(judge)
    return {"lpips": "LPIPS stand-in" if uses_lpips_stand_in(judge) else "LPIPS",
            "fid": f"FID (not meaningful: {samples} per seed <= {width}-d)" if fid_caveat(samples, width) else "FID"}


def headline_metrics(judge, samples):
    """The metrics read first, in Table 7's order: FID, or KID where FID is not meaningful, then SSIM, LPIPS, PSNR
    (those this judge scores)."""
    columns = {scorer.column for scorer in judge.scorers}
    first = "kid" if fid_caveat(samples, feature_width(judge)) else "fid"
    return (first, *(m for m in ("ssim", "lpips", "psnr") if m in columns))


def protocol_table(protocol, judge):
    """The study's protocol table as this chapter reports it: the reference set named, FID's caveat and KID's role
    stated, and the metrics it never shows (IS, precision/recall) left out."""
    table = protocol.table(judge).drop(index=list(UNREPORTED), errors="ignore")
    caveat = fid_caveat(protocol.samples_per_seed, feature_width(judge))
    table.loc["reference"] = (f"{judge.reference.name} ({judge.reference.count} images): the target images of the "
                              "very pairs the samples are made for, not a training set")
    if caveat:
        table.loc["FID"] = f"{table.loc['FID', 'value']}; {caveat}: KID is the headline"
    if uses_lpips_stand_in(judge):
        table.loc["LPIPS"] = "a stand-in, not LPIPS (see agreement)"
    return table


def calibration(judge, pairs, indices, batch_size=64):
    """Each per-sample score of the real answers (its ceiling) and of the source images copied unchanged (a trivial
    answer that keeps the person and ignores the pose), over the pairs at `indices`, `batch_size` at a time."""
    indices, parts = list(indices), {REAL: [], COPY: []}
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        shown = pairs.shown(chunk)
        parts[REAL].append(judge.records(shown["answer"], None, chunk))
        parts[COPY].append(judge.records(shown["source"], None, chunk))
    return pd.DataFrame({name: {scorer.column: concat_records(records)[f"score:{scorer.column}"].mean().item()
                                for scorer in judge.scorers} for name, records in parts.items()}).T
