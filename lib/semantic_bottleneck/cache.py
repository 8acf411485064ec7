"""Content-addressed cache for trained tiny models: a folder per configuration hash, its files checked on every read.

Each entry keeps the sha256 of its files in `files.json`; an entry whose files do not match it, or cannot be read, is
moved aside (`<folder>.bad-<time>`, kept) with one warning line and computed again (`read_entry`, `save_entry`).
"""
import hashlib
import json
import os
from pathlib import Path
import time
import warnings

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_ENV = "SEMANTIC_BOTTLENECK_CACHE"  # the model cache's folder (a notebook's `home` setting sets it for its run)


def cache_root():
    """Cache folder: $SEMANTIC_BOTTLENECK_CACHE, else `.cache/` in a checkout, else ~/.cache/semantic-bottleneck."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / ".cache"
    return Path.home() / ".cache" / "semantic-bottleneck"


def config_hash(config: dict) -> str:
    """A short stable hash of a JSON-serialisable configuration."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def entry_dir(kind: str, config: dict) -> Path:
    """The cache folder of one configuration (not created)."""
    return cache_root() / kind / config_hash(config)


def lib_hash() -> str:
    """Hash of every source and data file of this package (the book driver's and provenance's lib id).

    The profiles' parameter files are left out: the driver stamps each notebook with its own parameters.
    """
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".csv", ".yaml", ".json"} and path.parent.name != "params":
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# ----------------------------------------------------------------------------- checked entries and damaged files

MANIFEST = "files.json"  # beside a cache entry's files: the sha256 of each, written before the checkpoint


def file_digest(path) -> str:
    """Hex sha256 of a file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def unreadable(err) -> str:
    """Why a stored file could not be read, in a few words: the error's class and first line (never torch's advice
    to unpickle it unrestricted, which would run whatever code the file names)."""
    text = str(err).strip()
    first = text.splitlines()[0][:160] if text else ""
    if "weights_only" in text or "Weights only load failed" in text:
        first = "not a file of tensors that weights-only loading reads"
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def set_aside(path, problem, then):
    """Rename a damaged file or folder to `<name>.bad-<time>` (kept, never deleted) and warn in one line, naming it,
    what is wrong with it and what happens `then` ("recomputing the row", ...). Another process may have set it aside
    first: that is not an error."""
    path = Path(path)
    aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    try:
        os.replace(path, aside)
        where = f"moved aside to {aside.name}"
    except FileNotFoundError:
        where = "already moved aside by another process"
    except OSError as err:
        where = f"could not be moved aside ({err.strerror or err}): left in place"
    warnings.warn(f"{path} {problem}; {where}; {then}", stacklevel=3)


def save_entry(folder, writers):
    """Write a cache entry: `writers` maps each file name to a function writing it to a given path, the checkpoint
    last. Every file goes to a temporary name first; then the manifest (`MANIFEST`: each file's sha256) and the files
    are renamed into place, the checkpoint last, so an entry with its checkpoint is complete."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = f".{os.getpid()}.tmp"  # concurrent writers of one configuration never share a temporary file
    for name, write in writers.items():
        write(folder / f"{name}{tmp}")
    (folder / f"{MANIFEST}{tmp}").write_text(json.dumps({n: file_digest(folder / f"{n}{tmp}") for n in writers},
                                                        indent=1))
    *first, last = writers
    for name in (*first, MANIFEST, last):
        os.replace(folder / f"{name}{tmp}", folder / name)


def entry_problem(folder, names):
    """Why a cache entry's files `names` do not match its manifest, or None when they do. An entry written before
    manifests existed gets one now from its files as they are (where the cache is writable)."""
    folder = Path(folder)
    path = folder / MANIFEST
    if not path.exists():
        try:
            path.write_text(json.dumps({n: file_digest(folder / n) for n in names}, indent=1))
        except OSError:
            pass  # a read-only cache: the files are read unchecked, as before manifests
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return f"has an unreadable {MANIFEST} ({unreadable(err)})"
    if not isinstance(manifest, dict):
        return f"has a {MANIFEST} that is not a record of file hashes"
    for name in names:
        if manifest.get(name) != file_digest(folder / name):
            return f"has a {name} that does not match the sha256 recorded in its {MANIFEST}"
    return None


def read_entry(folder, readers, then="training it again"):
    """{name: reader(path)} of a complete, checked cache entry (every file of `readers` present and matching its
    manifest); None when it is absent. A damaged entry (files that do not match their manifest, or that a reader
    cannot read) is moved aside whole (`set_aside`) and None returned, so that the caller computes it again."""
    folder = Path(folder)
    if not all((folder / name).exists() for name in readers):
        return None
    problem = entry_problem(folder, list(readers))
    if problem is None:
        read = {}
        for name, reader in readers.items():
            try:
                read[name] = reader(folder / name)
            except Exception as err:  # a damaged file raises many classes (EOFError, UnpicklingError, ParserError..)
                problem = f"has a {name} that cannot be read ({unreadable(err)})"
                break
        else:
            return read
    set_aside(folder, problem, then)
    return None
