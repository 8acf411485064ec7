"""Judging samples made for pairs that have an answer (a target image): per-sample scores against it, and its features.

Table 7 reports FID, SSIM, LPIPS and PSNR. SSIM and PSNR are torchmetrics' on images in [0, 1] (data range 1;
SSIM with an 11 x 11 Gaussian window, sigma 1.5); which window and data range the paper used is not stated.
LPIPS is torchmetrics' with AlexNet (as PIDM's evaluation, which DeepFashion papers follow) and needs
torchvision and ImageNet weights: the `paper` profile only. `PixelFeatures` is an offline extractor for smoke tests.
A pair source has `answers(indices)`: the answer images (N, 3, S, S) in [-1, 1] of the pairs at global indices.
"""
import torch
import torch.nn.functional as F

from .metrics import Reference


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


def answers_reference(extractor, pairs, count, batch_size=64):
    """The reference set of the answers of the pairs at global indices 0..count-1: their features, `batch_size` at a
    time (the evaluated pairs' own targets, not a training set)."""
    indices = list(range(count))
    features = torch.cat([extractor(pairs.answers(indices[start:start + batch_size]))[0]
                          for start in range(0, len(indices), batch_size)])
    return Reference.from_features(features, f"the real answers of the {len(indices)} evaluated pairs")
