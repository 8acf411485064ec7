"""The files of the paper profile's image judge: FID Inception (torch-fidelity's weights), CLIP (transformers) and
ADM's reference batch.

Each of the three is downloaded on first use; a failed Hugging Face download ends in one `WeightsError` line.
"""
from ..judge.features import CLIP_MODEL, ClipScorer, InceptionFeatures, check_prompts
from ..judge.metrics import adm_reference
from .download import from_hub

ADM_REFERENCE_URL = ("https://openaipublic.blob.core.windows.net/diffusion/jul-2021/ref_batches/imagenet/256/"
                     "VIRTUAL_imagenet256_labeled.npz")


def load_clip_scorer(class_names, model_name=CLIP_MODEL, device="cpu", prompt="a photo of a {}"):
    """A `ClipScorer` with CLIP `model_name` (a hub name, or a folder saved with `save_pretrained`)."""
    from transformers import CLIPModel, CLIPProcessor

    check_prompts(class_names, prompt)  # before a download that bad input would waste
    model = from_hub(f"CLIP {model_name}", lambda: CLIPModel.from_pretrained(model_name))
    processor = from_hub(f"CLIP processor {model_name}", lambda: CLIPProcessor.from_pretrained(model_name))
    return ClipScorer(class_names, model, processor, model_name, prompt, device)


def adm_reference_path():
    """ADM's VIRTUAL_imagenet256_labeled.npz in pooch's cache (downloaded on first use; pooch logs its sha256)."""
    import pooch

    return pooch.retrieve(ADM_REFERENCE_URL, known_hash=None, progressbar=True)


def inception_clip_parts(class_names, device="cpu", *, inception_weights=None, clip_model=CLIP_MODEL,
                         reference_path=None):
    """The `inception-clip` judge's (extractor, scorers, reference) (`study.judges`): Inception features against
    ADM's reference, and the CLIP score per image.

    Reads three files, by default the real ones (downloaded on first use): the FID Inception weights
    (`inception_weights`), the CLIP model (`clip_model`) and ADM's reference batch (`reference_path`).
    """
    clip = load_clip_scorer(class_names, clip_model, device)
    extractor = InceptionFeatures(device, inception_weights)
    return extractor, [clip], adm_reference(extractor, reference_path or adm_reference_path())
