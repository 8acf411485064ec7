"""Shared fixtures: an isolated model cache for tests that train; one torch thread for tiny-tensor modules."""
import pytest
import torch


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    """Point the tiny-model cache at an empty temporary folder."""
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def one_thread():
    """Tiny tensors: one thread avoids OpenMP contention on a busy 2-core machine (100x slower there)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
