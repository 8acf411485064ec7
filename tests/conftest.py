"""Shared fixtures: caches outside the repository for the whole session; an isolated model cache for tests that
train; one torch thread for tiny-tensor modules; a temporary book folder for tests that execute notebooks."""
import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def session_caches(tmp_path_factory):
    """Every test session trains and downloads into temporary folders, never into the repository's `.cache`."""
    names = ("SEMANTIC_BOTTLENECK_CACHE", "SEMANTIC_BOTTLENECK_WEIGHTS")
    before = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ[name] = str(tmp_path_factory.mktemp(name.lower()))
    yield
    for name, value in before.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


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


@pytest.fixture
def build_dirs(tmp_path, monkeypatch):
    """Executed copies, stamps, results and failed runs of the book driver go to a temporary folder."""
    from semantic_bottleneck.book import driver as book

    for attr, sub in [("EXECUTED", "executed"), ("RESULTS", "executed/results"), ("STAMPS", "executed/stamps"),
                      ("FAILED", "failed")]:
        monkeypatch.setattr(book, attr, tmp_path / sub)
    return tmp_path
