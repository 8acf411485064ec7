"""Shared fixtures: an isolated model cache for tests that train."""
import pytest


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """Point the tiny-model cache at an empty temporary folder."""
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"
