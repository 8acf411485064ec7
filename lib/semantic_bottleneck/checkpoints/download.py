"""Download a released file (a checkpoint, a decoder) into the weights cache; never leave a half-written file.

A `ModelWeights` lists a file's mirrors, the authors' current location first (the registry holds one per
model and decoder). Files are cached in
`$SEMANTIC_BOTTLENECK_WEIGHTS` (else ~/.cache/semantic-bottleneck/weights) as `<model>/<file>`,
with `<file>.json` beside it recording the sha256 of the first good download; every later use
checks the file's magic bytes, completeness and that sha256, and fetches it again if any fails.
"""
from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path
import re
import tempfile
from urllib.parse import quote
import warnings
import zipfile

import pooch
import requests

from .files import CheckpointError, checkpoint_format

CACHE_ENV = "SEMANTIC_BOTTLENECK_WEIGHTS"
CONNECT_TIMEOUT = 5.0  # seconds; an unreachable host fails fast instead of hanging
READ_TIMEOUT = 60.0


class WeightsError(RuntimeError):
    """A registered checkpoint that could not be downloaded from any mirror (one-line message)."""


class _MirrorFailed(Exception):
    """One mirror failed; the message is the short reason."""


@dataclass(frozen=True)
class Mirror:
    """One place to download a checkpoint from: a URL, or several URLs whose parts are joined in order."""

    urls: tuple
    filename: str
    note: str = ""


def hf_url(repo, path, revision="main"):
    """The direct download URL of a file in a Hugging Face model repository."""
    return f"https://huggingface.co/{repo}/resolve/{quote(revision, safe='')}/{path}"


@dataclass(frozen=True)
class ModelWeights:
    """A released file: cache name, license, mirrors (current location first), size and sha256 if known."""

    name: str
    license: str
    mirrors: tuple
    approx_size: str
    size: int | None = None
    sha256: str | None = None
    note: str = ""


def split_parts(base, name):
    """A mirror of six split release parts `<base>/<name>-a` .. `-f`, joined into `<name>.pt`."""
    return Mirror(tuple(f"{base}/{name}-{c}" for c in "abcdef"), f"{name}.pt", "six parts, joined in order")


def weights_dir(cache_dir=None):
    """The weights cache folder: `cache_dir`, else $SEMANTIC_BOTTLENECK_WEIGHTS, else the user cache."""
    if cache_dir is not None:
        return Path(cache_dir)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path.home() / ".cache" / "semantic-bottleneck" / "weights"


def file_sha256(path):
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _safetensors_end(path):
    """Byte length a safetensors file must have according to its own header."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    return 8 + n + max(ends, default=0)


def file_problem(path):
    """Why a file is not a complete checkpoint (HTML page, unknown magic, truncated), or None if it looks fine."""
    try:
        fmt = checkpoint_format(path)
    except CheckpointError as err:
        return str(err).removeprefix(f"{path} ")
    if fmt == "torch-zip" and not zipfile.is_zipfile(path):
        return "is a truncated zip archive (no end-of-archive record)"
    if fmt == "safetensors":
        try:
            if Path(path).stat().st_size < _safetensors_end(path):
                return "is a truncated safetensors file"
        except (ValueError, KeyError, TypeError, IndexError):
            return "has an unreadable safetensors header"
    return None


def _record_path(target):
    return target.with_name(target.name + ".json")


def _write_record(target, digest, url):
    """Write `<file>.json` (sha256, size, source URL) atomically beside a cached checkpoint."""
    record = {"sha256": digest, "size": target.stat().st_size, "url": url}
    tmp = _record_path(target).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, _record_path(target))


def _cached_problem(target, model):
    """Why a cached file cannot be used (bad file, or sha256 differs from the record), or None."""
    problem = file_problem(target)
    if problem:
        return problem
    record_path = _record_path(target)
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    digest = file_sha256(target)
    expected = model.sha256 or record.get("sha256")
    if expected and digest != expected:
        return f"has sha256 {digest[:16]}..., expected {expected[:16]}..."
    if not record:
        _write_record(target, digest, None)
    return None


def _reason(err):
    """A short reason for a failed HTTP request."""
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code}"
    if isinstance(err, requests.Timeout):
        return f"no answer within {CONNECT_TIMEOUT:g} s (connect) / {READ_TIMEOUT:g} s (read)"
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(err))
    if match:
        return match.group(1).strip()
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:120]}" if text else type(err).__name__


def _download(model, mirror, folder, progress):
    """Download one mirror to a temporary file, check it, and rename it into the cache."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=mirror.filename + ".", suffix=".part")
    tmp = Path(tmp)
    try:
        with os.fdopen(fd, "w+b") as out:
            fetch = pooch.HTTPDownloader(progressbar=progress, chunk_size=1 << 20,
                                         timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
            for url in mirror.urls:
                fetch(url, out, None)
        problem = file_problem(tmp)
        if problem:
            raise _MirrorFailed(f"served a file that {problem}")
        if model.size is not None and tmp.stat().st_size != model.size:
            raise _MirrorFailed(f"served {tmp.stat().st_size} bytes, expected {model.size}")
        digest = file_sha256(tmp)
        if model.sha256 and digest != model.sha256:
            raise _MirrorFailed(f"checksum mismatch: sha256 {digest[:16]}..., expected {model.sha256[:16]}...")
        target = folder / mirror.filename
        os.replace(tmp, target)
        _write_record(target, digest, mirror.urls[0])
        return target
    except (requests.RequestException, OSError) as err:
        raise _MirrorFailed(_reason(err)) from None
    finally:
        tmp.unlink(missing_ok=True)


def fetch_weights(model, cache_dir=None, progress=True):
    """Path of a registered checkpoint in the cache, downloading it (mirrors in order) if absent or bad."""
    folder = weights_dir(cache_dir) / model.name
    for mirror in model.mirrors:
        target = folder / mirror.filename
        if target.exists():
            problem = _cached_problem(target, model)
            if problem is None:
                return target
            warnings.warn(f"cached {target} {problem}; fetching it again", stacklevel=2)
            target.unlink()
            _record_path(target).unlink(missing_ok=True)
    failures = []
    for mirror in model.mirrors:
        try:
            return _download(model, mirror, folder, progress)
        except _MirrorFailed as err:
            parts = f" (+{len(mirror.urls) - 1} parts)" if len(mirror.urls) > 1 else ""
            failures.append(f"{mirror.urls[0]}{parts}: {err}")
    raise WeightsError(f"could not download {model.name}: {'; '.join(failures)}. Download it by hand and pass "
                       f"its path, or put it at {folder / model.mirrors[0].filename}")


def from_hub(what, load):
    """Run `load()` (a Hugging Face download/load); any failure becomes one WeightsError line naming `what`."""
    try:
        return load()
    except Exception as err:  # the hub's own errors are many classes and span several lines
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        raise WeightsError(f"could not load {what} from Hugging Face ({type(err).__name__}: {first}); check the "
                           "connection, or pre-download it into the Hugging Face cache") from None
