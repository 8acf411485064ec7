"""Every judge a notebook or a command may name, in one place: adding a judge is one entry of `JUDGES`.

A judge (`judge.metrics.Judge`) scores a set of samples: FID, KID, IS and precision/recall on one extractor's
features against one reference set, and the mean of each per-sample metric. An entry names its features, its
per-sample metrics (in the judge's order: the first is the agreement column of the pruning tables), its reference
set and what `build_judge` needs beside the chapter's settings: `model`, the registry name of the judged model (its
class names, its sampler), or `loaded`, that model loaded (`registry.load_network`: its pairs, its sound).
`build_judge(name, settings, ...)` builds one with the settings' KID subsets, under their CPU threads; an unknown
name or a missing need fails in one line before anything loads.
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..checkpoints.judge_files import inception_clip_parts
from ..checkpoints.mdsgen import AST_MODEL, load_ast
from ..devices import cpu_threads, resolve_device
from ..timing import span
from ..judge.answers import Lpips, PixelFeatures, Psnr, Ssim, answers_reference
from ..judge.features import (AstFeatures, AudioSetAgreement, ClassifierAgreement, ClassifierFeatures,
                              InceptionFeatures)
from ..judge.metrics import Judge, Reference
from ..registry import class_names, model as registry_model
from ..sampling.generate import generate
from ..sampling.presets import preset
from ..tiny.sounds.audio_eval import (EventAccuracy, OnsetAlignment, PitchAccuracy, eval_features, load_eval_net,
                               real_reference)
from ..tiny.sounds.audio_model import profile_runs
from ..tiny.classes.class_model import load_eval_classifier
from ..tiny.classes.evaluation import procedural_reference
from ..tiny.people.pose_eval import FeatureDistance, PersonPreservation, PoseAccuracy, PoseEvalFeatures, load_eval_network

NEEDS = {"model": "the judged model's registry name (model=...)",
         "loaded": "the judged model loaded (loaded=..., a registry.load_network result)"}
REFERENCE_OFFSET = 1_000_000  # global indices of the `ast` judge's unpruned reference samples: never a study's


@dataclass(frozen=True)
class JudgeEntry:
    """One registered judge. `make(settings, model, loaded, progress)` returns its (extractor, scorers, reference)."""

    name: str
    features: str
    metrics: tuple
    reference: str
    needs: tuple
    make: Callable
    note: str = ""


def _eval_classifier(settings, model, loaded, progress):
    """The evaluation classifier of `classifier_profile` where a chapter sets one, else of the settings' profile."""
    classifier, _ = load_eval_classifier(getattr(settings, "classifier_profile", "") or settings.profile)
    extractor = ClassifierFeatures(classifier)
    return extractor, [ClassifierAgreement()], procedural_reference(extractor, settings.reference_size)


def _inception_clip(settings, model, loaded, progress):
    return inception_clip_parts(class_names(model, settings.profile), resolve_device(settings.device))


def _pose_network(settings, pairs, scorers, progress):
    """The tiny pose evaluation network's judge parts with `scorers(network)` against the evaluated answers."""
    network, _ = load_eval_network(settings.profile, progress)
    extractor = PoseEvalFeatures(network)
    return extractor, scorers(network), answers_reference(extractor, pairs, settings.total_samples, settings.batch_size)


def _tiny_eval(settings, model, loaded, progress):
    pairs = loaded.conditions
    return _pose_network(settings, pairs, lambda network: [Ssim(pairs), FeatureDistance(network, pairs), Psnr(pairs),
                                                           PoseAccuracy(pairs), PersonPreservation(pairs)], progress)


def _tiny_eval_agreement(settings, model, loaded, progress):
    pairs = loaded.conditions
    return _pose_network(settings, pairs, lambda network: [PoseAccuracy(pairs), PersonPreservation(pairs)], progress)


def _inception_lpips(settings, model, loaded, progress):
    pairs, device = loaded.conditions, resolve_device(settings.device)
    extractor = InceptionFeatures(device)
    reference = answers_reference(extractor, pairs, settings.total_samples, settings.batch_size)
    return extractor, [Ssim(pairs), Lpips(pairs, device), Psnr(pairs)], reference


def _pixels(settings, model, loaded, progress):
    pairs, extractor = loaded.conditions, PixelFeatures()
    reference = answers_reference(extractor, pairs, settings.total_samples, settings.batch_size)
    return extractor, [Ssim(pairs), Psnr(pairs)], reference


def _audio_eval_network(settings, model, loaded, progress):
    network, _ = load_eval_net(profile_runs(settings.profile)[1], progress)
    extractor = eval_features(network)
    reference = real_reference(extractor, settings.reference_size)
    return extractor, [OnsetAlignment(), EventAccuracy(), PitchAccuracy()], reference


def _unpruned_reference(loaded, extractor, sampler, settings):
    """AST features of `reference_size` unpruned samples (global indices from REFERENCE_OFFSET) and each condition
    file's most frequent top class among them."""
    indices = range(REFERENCE_OFFSET, REFERENCE_OFFSET + settings.reference_size)
    features, top = [], []

    def on_batch(chunk, batch, images):
        """Keep each batch's features and top classes."""
        f, logits = extractor(images)
        features.append(f)
        top.append(logits.argmax(1))

    generate(loaded.network, indices, settings.seed, preset(sampler), loaded.conditions, settings.batch_size,
             decode=loaded.decode, on_batch=on_batch, keep=False, progress=False)
    files, top = loaded.conditions.size, torch.cat(top).numpy()
    rows = np.arange(len(top)) + REFERENCE_OFFSET
    majority = [int(np.bincount(top[rows % files == k]).argmax()) for k in range(files)]
    return Reference.from_features(torch.cat(features), "unpruned samples, other noise"), majority


def _ast(settings, model, loaded, progress):
    device = resolve_device(settings.device)
    extractor = AstFeatures(loaded.info["sound"], *load_ast(AST_MODEL, device), AST_MODEL, device)
    sampler = settings.samplers.get(model) or registry_model(model).sampler
    reference, majority = _unpruned_reference(loaded, extractor, sampler, settings)
    return extractor, [AudioSetAgreement(majority, loaded.conditions.size)], reference


_ANSWERS = "the real answers (target images) of the evaluated pairs: global indices 0 .. seeds x samples_per_seed - 1"
_POSE_NETWORK = "the tiny pose evaluation network's class token (the `tiny` one under `paper`)"
JUDGES = {j.name: j for j in (
    JudgeEntry("eval-classifier", "the profile's evaluation classifier's pooled features and logits",
               ("class_agreement",), "reference_size real procedural shapes", (), _eval_classifier,
               "tiny, ci: the class models (classifier_profile: another profile's classifier)"),
    JudgeEntry("inception-clip", "FID Inception (torch-fidelity's weights): pool features, logits", ("clip",),
               "ADM's VIRTUAL_imagenet256_labeled.npz (FID: its stored statistics)", ("model",), _inception_clip,
               "paper: the ImageNet models; CLIP score with the model's class names"),
    JudgeEntry("tiny-eval", _POSE_NETWORK, ("ssim", "lpips", "psnr", "pose_accuracy", "person_preservation"),
               _ANSWERS, ("loaded",), _tiny_eval, "tiny, ci: the pose chapter (lpips: the network's stand-in)"),
    JudgeEntry("tiny-eval-agreement", _POSE_NETWORK, ("pose_accuracy", "person_preservation"), _ANSWERS,
               ("loaded",), _tiny_eval_agreement,
               "tiny, ci: tiny-eval's features and agreement scores without the image comparisons (compute chapter)"),
    JudgeEntry("inception-lpips", "FID Inception (torch-fidelity's weights)", ("ssim", "lpips", "psnr"), _ANSWERS,
               ("loaded",), _inception_lpips, "paper: X-MDPT (LPIPS needs torchvision's AlexNet)"),
    JudgeEntry("pixels", "8 x 8 pixel thumbnails (192-d)", ("ssim", "psnr"), _ANSWERS, ("loaded",), _pixels,
               "any profile, offline: smoke tests of the pose chapter"),
    JudgeEntry("audio-eval-network", "the audio evaluation network's features (FD on them: an FAD analog)",
               ("onset_f1", "event_accuracy", "pitch_accuracy"), "reference_size real clips' spectrograms", (),
               _audio_eval_network, "tiny, ci: the audio models"),
    JudgeEntry("ast", "AST's pooled features and AudioSet logits of the vocoded sound", ("audioset_agreement",),
               "reference_size unpruned samples of the same model, other noise (VGGSound's audio is gone)",
               ("model", "loaded"), _ast, "paper: MDSGen"),
)}


def judge_entry(name):
    """The registered judge `name`; ValueError naming every registered one."""
    if name not in JUDGES:
        raise ValueError(f"judge must be one of {', '.join(JUDGES)}; got {name!r}")
    return JUDGES[name]


def build_judge(name, settings, model=None, loaded=None, progress=True):
    """The judge `name` for a chapter's settings (`settings.SamplingSettings`): its KID subsets and subset size, its
    reference and sample counts, device and CPU threads; `model` and `loaded` where the entry needs them."""
    entry = judge_entry(name)
    given = {"model": model, "loaded": loaded}
    for need in entry.needs:
        if given[need] is None:
            raise ValueError(f"judge {name} needs {NEEDS[need]}")
    with cpu_threads(settings.threads), span("judging", f"{name}: features of the reference set"):
        extractor, scorers, reference = entry.make(settings, model, loaded, progress)
        return Judge(extractor, scorers, reference, kid_subsets=settings.kid_subsets,
                     kid_subset_size=settings.kid_subset_size)
