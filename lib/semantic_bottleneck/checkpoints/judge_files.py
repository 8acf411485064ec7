"""The files of the paper profile's image judge: FID Inception (torch-fidelity's weights), CLIP (transformers) and
ADM's reference batch.

Each of the three is downloaded on first use and read from its library's own cache afterwards (offline too). Every
host the judge needs is probed at once before anything loads, so one that cannot be reached ends in one
`WeightsError` line within seconds, naming the file, where it comes from, why it failed and where to put it by hand.
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
import threading

import pooch
import requests

from ..judge.features import CLIP_MODEL, ClipScorer, InceptionFeatures, check_prompts
from ..judge.metrics import adm_reference
from .download import WeightsError, from_hub, hub_unreachable
from .hosts import CONNECT_TIMEOUT, READ_TIMEOUT, request_failure, unreachable

ADM_REFERENCE_URL = ("https://openaipublic.blob.core.windows.net/diffusion/jul-2021/ref_batches/imagenet/256/"
                     "VIRTUAL_imagenet256_labeled.npz")
# torch-fidelity's URL_INCEPTION_V3 (0.4.0): its FID Inception-v3, converted from TensorFlow's graph
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")


@dataclass(frozen=True)
class UrlFile:
    """A file outside the weights registry, fetched from one URL into the place its own library reads it from.

    `what` names it for people (with its size where large), `target` is that place (a `Path`), `pass_as` the
    argument through which a path to the file can be given instead, if any (named in the failure messages).
    """

    what: str
    url: str
    target: Path
    pass_as: str = ""


def _not_fetched(file, reason):
    instead = f" or pass its path as {file.pass_as}" if file.pass_as else ""
    return WeightsError(f"could not download {file.what} from {file.url}: {reason}; check the connection, or put the "
                        f"file at {file.target}{instead}")


def _cannot_write(file, err):
    cause = err.__cause__ or err  # pooch re-raises an unwritable folder as a PermissionError of several lines
    why = getattr(cause, "strerror", None) or str(cause).splitlines()[0]
    instead = f", or download {file.url} by hand and pass its path as {file.pass_as}" if file.pass_as else ""
    return WeightsError(f"could not download {file.what}: {file.target.parent} cannot be written ({why}); make it "
                        f"writable{instead}")


def require_reachable(files, hub=False):
    """Raise one WeightsError line for the first of `files` (`UrlFile`s) neither in place nor reachable.

    The hosts of every file not in place are probed at once, the Hugging Face endpoint too where `hub` (remembered for
    `from_hub`), so a loader that needs several downloads learns that one cannot be made within one deadline, before
    it loads or downloads anything.
    """
    pending = [file for file in files if not file.target.is_file()]
    hub_probe = threading.Thread(target=hub_unreachable, daemon=True) if hub else None
    if hub_probe:
        hub_probe.start()
    down = unreachable([file.url for file in pending])
    if hub_probe:
        hub_probe.join()
    for file in pending:
        if down[file.url]:
            raise _not_fetched(file, down[file.url])


def fetch_url(file, progress=True):
    """`file.target` (a `UrlFile`), used as it is when present (no network); else downloaded from `file.url` into a
    temporary file renamed into place (`pooch.retrieve`), once its host has answered a probe (`hosts.REACH_S` at most).

    Any failure is one WeightsError line naming the file, the URL, the reason and where to put the file by hand.
    """
    if file.target.is_file():
        return file.target
    try:
        file.target.parent.mkdir(parents=True, exist_ok=True)  # before any network
    except OSError as err:
        raise _cannot_write(file, err) from None
    require_reachable([file])
    fetch = pooch.HTTPDownloader(progressbar=progress, chunk_size=1 << 20, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
    try:
        pooch.retrieve(file.url, known_hash=None, fname=file.target.name, path=file.target.parent, downloader=fetch)
    except requests.RequestException as err:
        raise _not_fetched(file, request_failure(err)) from None
    except OSError as err:
        raise _cannot_write(file, err) from None
    return file.target


def _clip_classes():
    """transformers' CLIP classes (seconds to import on a busy machine)."""
    from transformers import CLIPModel, CLIPProcessor

    return CLIPModel, CLIPProcessor


def load_clip_scorer(class_names, model_name=CLIP_MODEL, device="cpu", prompt="a photo of a {}"):
    """A `ClipScorer` with CLIP `model_name` (a hub name, or a folder saved with `save_pretrained`)."""
    CLIPModel, CLIPProcessor = _clip_classes()  # noqa: N806 (class names)
    check_prompts(class_names, prompt)  # before a download that bad input would waste
    model = from_hub(f"CLIP {model_name}", lambda: CLIPModel.from_pretrained(model_name))
    processor = from_hub(f"CLIP processor {model_name}", lambda: CLIPProcessor.from_pretrained(model_name))
    return ClipScorer(class_names, model, processor, model_name, prompt, device)


def inception_file():
    """torch-fidelity's FID Inception weights where torch-fidelity itself caches them (torch.hub's checkpoints)."""
    import torch

    target = Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_URL.rsplit("/", 1)[1]
    return UrlFile("the FID Inception weights (torch-fidelity, about 100 MB)", INCEPTION_URL, target,
                   "inception_weights")


def adm_reference_file():
    """ADM's VIRTUAL_imagenet256_labeled.npz where `pooch.retrieve` caches it (pooch logs its sha256)."""
    target = Path(pooch.os_cache("pooch")) / pooch.utils.unique_file_name(ADM_REFERENCE_URL)
    return UrlFile("ADM's reference batch (VIRTUAL_imagenet256_labeled.npz, about 1.5 GB)", ADM_REFERENCE_URL, target,
                   "reference_path")


def inception_weights_path():
    """The FID Inception weights in torch.hub's cache (downloaded on first use)."""
    return fetch_url(inception_file())


def adm_reference_path():
    """ADM's reference batch in pooch's cache (downloaded on first use)."""
    return fetch_url(adm_reference_file())


def inception_clip_parts(class_names, device="cpu", *, inception_weights=None, clip_model=CLIP_MODEL,
                         reference_path=None):
    """The `inception-clip` judge's (extractor, scorers, reference) (`study.judges`): Inception features against
    ADM's reference, and the CLIP score per image.

    Reads three files, by default the real ones (downloaded on first use): the FID Inception weights
    (`inception_weights`), the CLIP model (`clip_model`) and ADM's reference batch (`reference_path`). The hosts of
    those not yet cached, and Hugging Face's, are probed together first: one deadline in all, before anything loads.
    """
    check_prompts(class_names, "a photo of a {}")  # before a download that bad input would waste
    wanted = [file for file, given in ((inception_file(), inception_weights), (adm_reference_file(), reference_path))
              if given is None]
    with ThreadPoolExecutor(1) as pool:
        probed = pool.submit(require_reachable, wanted, hub=True)
        _clip_classes()  # imported while the hosts are probed
        probed.result()
    clip = load_clip_scorer(class_names, clip_model, device)
    extractor = InceptionFeatures(device, inception_weights or inception_weights_path())
    return extractor, [clip], adm_reference(extractor, reference_path or adm_reference_path())
