"""Download a released file (a checkpoint, a decoder) into the weights cache; never leave a half-written file.

A `ModelWeights` lists a file's mirrors, the authors' current location first (the registry holds one per
model and decoder); each `Mirror` carries the sha256 and size of the file it serves where they are published.
Files are cached in `$SEMANTIC_BOTTLENECK_WEIGHTS` (else ~/.cache/semantic-bottleneck/weights) as
`<model>/<file>`, with `<file>.json` beside it: the file's sha256, size and modification time, and whether the
hash was verified against a published one or only recorded on first download. Every use checks the file's
magic bytes and completeness, and its hash against the published one (else the recorded one); the hash is
recomputed only when the file's size or modification time differ from the record, so a multi-GB file is not
re-read on every run. A file that fails is kept until a good copy has downloaded; downloads go to a `.part`
file that Ctrl-C and SIGTERM remove (and that a later run removes once stale); a read-only cache still serves
what it holds. Before downloading, every mirror's host is probed at once (`hosts.unreachable`, a few seconds in
all, whatever hangs), so an unreachable download ends in one line within seconds however many mirrors it has; the
deadline is for a host's first answer, not for the transfer. Hugging Face repositories
(`from_hub`) are loaded from the local Hugging Face cache alone when the hub does not answer within a few seconds,
so an unreachable hub ends in one line instead of a minute of retries.
"""
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
import hashlib
import json
import logging
import os
from pathlib import Path
import signal
import tempfile
import threading
import time
from urllib.parse import quote
import warnings
import zipfile

import pooch
import requests

from .files import CheckpointError, checkpoint_format, not_a_file, safetensors_end
from .hosts import CONNECT_TIMEOUT, READ_TIMEOUT, request_failure, unreachable

CACHE_ENV = "SEMANTIC_BOTTLENECK_WEIGHTS"
STALE_PART_S = 10 * READ_TIMEOUT  # a live download writes to its .part file at least every READ_TIMEOUT
SETTLED_NS = 60 * 10**9  # a download's mtime is set this far back: more than any file system's timestamp step


class WeightsError(RuntimeError):
    """A registered checkpoint that could not be downloaded from any mirror (one-line message)."""


class _MirrorFailed(Exception):
    """One mirror failed; the message is the short reason."""


@dataclass(frozen=True)
class Mirror:
    """One place to download a file from: a URL, or several URLs whose parts are joined in order.

    `sha256` and `size` (bytes) describe the file this mirror serves, where published; None means the hash
    is recorded on first download and only checked against that record afterwards.
    """

    urls: tuple
    filename: str
    note: str = ""
    sha256: str | None = None
    size: int | None = None


def hf_url(repo, path, revision="main"):
    """The direct download URL of a file in a Hugging Face model repository."""
    return f"https://huggingface.co/{repo}/resolve/{quote(revision, safe='')}/{path}"


@dataclass(frozen=True)
class ModelWeights:
    """A released file: cache name, license, mirrors (current location first), approximate size for people."""

    name: str
    license: str
    mirrors: tuple
    approx_size: str
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


def file_problem(path):
    """Why a file is not a complete checkpoint (HTML page, unknown magic, truncated), or None if it looks fine."""
    try:
        fmt = checkpoint_format(path)
        if fmt == "safetensors" and Path(path).stat().st_size < safetensors_end(path):
            return "is a truncated safetensors file"
    except CheckpointError as err:
        return str(err).removeprefix(f"{path} ")
    if fmt == "torch-zip" and not zipfile.is_zipfile(path):
        return "is a truncated zip archive (no end-of-archive record)"
    return None


# ----------------------------------------------------------------------------- the record beside a cached file

def _record_path(target):
    return target.with_name(target.name + ".json")


def _read_record(target):
    """The record beside a cached file, or None if it is absent, unreadable or not a record."""
    try:
        record = json.loads(_record_path(target).read_text())
    except (OSError, ValueError):
        return None
    fields = {"sha256": str, "size": int, "mtime_ns": int}
    if isinstance(record, dict) and all(isinstance(record.get(k), t) for k, t in fields.items()):
        return record
    return None


def _write_record(target, digest, url, verified):
    """Write `<file>.json` atomically; where the cache is read-only, warn that the hash is not kept."""
    info, record_path = target.stat(), _record_path(target)
    record = {"sha256": digest, "size": info.st_size, "mtime_ns": info.st_mtime_ns, "url": url, "verified": verified}
    tmp = record_path.with_name(f"{record_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, record_path)
    except OSError as err:
        _remove(tmp)
        warnings.warn(f"cannot write {record_path} ({err.strerror}); the file is used, but its hash will be "
                      "computed again next time", stacklevel=3)


def _remove(*paths):
    """Delete files if present; a read-only cache or a concurrent delete is not an error here."""
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _cached_problem(target, mirror):
    """Why a cached file cannot be used (damaged, or not the bytes its mirror or record names), or None."""
    problem = file_problem(target)
    if problem:
        return problem
    info, record = target.stat(), _read_record(target)
    if mirror.size is not None and info.st_size != mirror.size:
        return f"has {info.st_size} bytes, expected {mirror.size}"
    unchanged = record is not None and (record["size"], record["mtime_ns"]) == (info.st_size, info.st_mtime_ns)
    digest = record["sha256"] if unchanged else file_sha256(target)  # hashed again only if size or mtime changed
    if mirror.sha256 and digest != mirror.sha256:
        return f"has sha256 {digest[:16]}..., expected the published {mirror.sha256[:16]}..."
    if not mirror.sha256 and record is not None and digest != record["sha256"]:
        return f"has sha256 {digest[:16]}..., not the {record['sha256'][:16]}... recorded when it was downloaded"
    if not unchanged:
        if record is None and not mirror.sha256:
            warnings.warn(f"{target} has no published sha256 and no readable record: recording its sha256 "
                          f"{digest[:16]}... now (not verified)", stacklevel=3)
        _write_record(target, digest, record and record.get("url"), verified=bool(mirror.sha256))
    return None


# ----------------------------------------------------------------------------- downloading

@contextmanager
def _sigterm_unwinds():
    """Within the block SIGTERM raises SystemExit, so `finally` clauses run (removing a `.part` file) as on Ctrl-C.

    Only the main thread can install a signal handler; elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _terminate(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def _unwritable(folder, err, filename):
    return WeightsError(f"the weights cache {folder} cannot be written ({err.strerror or err}): set {CACHE_ENV} to "
                        f"a writable folder, or download {filename} by hand and pass its path")


def _download(mirror, folder, progress):
    """Download one mirror into a `.part` file beside its target, check it, and rename it over the target."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=mirror.filename + ".", suffix=".part")
    except OSError as err:
        raise _unwritable(folder, err, mirror.filename) from None
    tmp, target = Path(tmp), folder / mirror.filename
    with _sigterm_unwinds():
        try:
            with os.fdopen(fd, "w+b") as out:
                fetch = pooch.HTTPDownloader(progressbar=progress, chunk_size=1 << 20,
                                             timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                for url in mirror.urls:
                    fetch(url, out, None)
            problem = file_problem(tmp)
            if problem:
                raise _MirrorFailed(f"served a file that {problem}")
            if mirror.size is not None and tmp.stat().st_size != mirror.size:
                raise _MirrorFailed(f"served {tmp.stat().st_size} bytes, expected {mirror.size}")
            digest = file_sha256(tmp)
            if mirror.sha256 and digest != mirror.sha256:
                raise _MirrorFailed(f"checksum mismatch: sha256 {digest[:16]}..., expected {mirror.sha256[:16]}...")
            _record_path(target).unlink(missing_ok=True)  # it describes the file about to be replaced
            settled = time.time_ns() - SETTLED_NS  # so a later write, however soon, changes the recorded mtime
            os.utime(tmp, ns=(settled, settled))
            os.replace(tmp, target)
        except (requests.RequestException, OSError) as err:
            raise _MirrorFailed(request_failure(err)) from None
        finally:
            _remove(tmp)
    if not mirror.sha256:
        warnings.warn(f"{mirror.filename} has no published sha256: recorded {digest[:16]}... on this first "
                      "download, not verified", stacklevel=3)
    _write_record(target, digest, mirror.urls[0], verified=bool(mirror.sha256))
    return target


def _remove_stale_parts(folder):
    """Delete `.part` files no download has written to for STALE_PART_S seconds (left by a killed process)."""
    now = time.time()
    for part in folder.glob("*.part"):
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # a read-only cache, or another process removed it first


def fetch_weights(model, cache_dir=None, progress=True):
    """Path of a registered checkpoint in the cache, downloading it (mirrors in order) if absent or bad."""
    folder = weights_dir(cache_dir) / model.name
    _remove_stale_parts(folder)
    damaged = []
    for mirror in model.mirrors:
        target = folder / mirror.filename
        if not target.exists():
            continue
        kind = not_a_file(target)
        if kind:
            raise WeightsError(f"{target} is {kind}, where the cache keeps {model.name}'s file; move it away")
        problem = _cached_problem(target, mirror)
        if problem is None:
            return target
        warnings.warn(f"cached {target} {problem}; fetching it again (the cached file stays until a good copy "
                      "has downloaded)", stacklevel=2)
        damaged.append(target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _unwritable(folder, err, model.mirrors[0].filename) from None
    failures = []
    down = unreachable([mirror.urls[0] for mirror in model.mirrors])  # every mirror at once: one deadline in all
    for mirror in model.mirrors:
        try:
            if down[mirror.urls[0]]:
                raise _MirrorFailed(down[mirror.urls[0]])
            path = _download(mirror, folder, progress)
        except _MirrorFailed as err:
            parts = f" (+{len(mirror.urls) - 1} parts)" if len(mirror.urls) > 1 else ""
            failures.append(f"{mirror.urls[0]}{parts}: {err}")
            continue
        _remove(*[p for old in damaged if old != path for p in (old, _record_path(old))])
        return path
    kept = f"; kept the damaged cached {', '.join(p.name for p in damaged)}" if damaged else ""
    raise WeightsError(f"could not download {model.name}: {'; '.join(failures)}{kept}. Download it by hand and "
                       f"pass its path, or put it at {folder / model.mirrors[0].filename}")


HUB_PROBE_S = 3.0  # seconds to wait for the Hugging Face endpoint before loading from its local cache only
HUB_RECHECK_S = 60.0  # an unreachable endpoint is probed again after this long (the network may come back)
_HUB_DOWN = {}  # endpoint -> (monotonic time of the probe, why it is unreachable)


def hub_unreachable(timeout=HUB_PROBE_S):
    """Why the Hugging Face endpoint cannot be reached, or None: one HEAD request, given up after `timeout` seconds
    whatever hangs (DNS included); a reachable endpoint is remembered for the process, an unreachable one for
    HUB_RECHECK_S."""
    from huggingface_hub import constants

    endpoint = constants.ENDPOINT
    if constants.HF_HUB_OFFLINE:
        return "offline mode (HF_HUB_OFFLINE) is on"
    known = _HUB_DOWN.get(endpoint)
    if known and (known[1] is None or time.monotonic() - known[0] < HUB_RECHECK_S):
        return known[1]
    reason = unreachable([endpoint], timeout)[endpoint]
    _HUB_DOWN[endpoint] = (time.monotonic(), reason)
    return reason


@contextmanager
def _hub_offline():
    """Within the block the Hugging Face libraries read their local cache only (no request, no retries), and their
    log lines and warnings are held back: a failure there is reported in one line by `from_hub`."""
    from huggingface_hub import constants

    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(logging.NOTSET)
        constants.HF_HUB_OFFLINE = previous


def hub_guard():
    """A context for Hugging Face calls made outside `from_hub`: the local cache only when the hub is unreachable
    (`hub_unreachable`, a few seconds at most), so a failure is one line within seconds instead of retries."""
    return _hub_offline() if hub_unreachable() else nullcontext()


def from_hub(what, load):
    """Run `load()` (a Hugging Face download/load); any failure becomes one WeightsError line naming `what`.

    The endpoint is probed first (`hub_unreachable`, a few seconds at most): when it cannot be reached, `load()` reads
    the local Hugging Face cache only, so an unreachable hub ends in one line within seconds instead of retries.
    """
    from huggingface_hub import constants

    down = hub_unreachable()
    try:
        if down:
            with _hub_offline():
                return load()
        return load()
    except Exception as err:  # the hub's own errors are many classes and span several lines
        first = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
        if down:
            raise WeightsError(f"could not load {what}: Hugging Face ({constants.ENDPOINT}) cannot be reached "
                               f"({down}), and the local Hugging Face cache cannot serve it "
                               f"({type(err).__name__}: {first}); check the connection, or pre-download it into that "
                               "cache") from None
        raise WeightsError(f"could not load {what} from Hugging Face ({type(err).__name__}: {first}); check the "
                           "connection, or pre-download it into the Hugging Face cache") from None

