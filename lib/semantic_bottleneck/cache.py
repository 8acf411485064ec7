"""Content-addressed cache for trained tiny models: a folder per configuration hash."""
import hashlib
import json
import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def cache_root():
    """Cache folder: $SEMANTIC_BOTTLENECK_CACHE, else `.cache/` in a checkout, else ~/.cache/semantic-bottleneck."""
    if os.environ.get("SEMANTIC_BOTTLENECK_CACHE"):
        return Path(os.environ["SEMANTIC_BOTTLENECK_CACHE"])
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
