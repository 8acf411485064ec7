"""Shared fixtures: caches outside the repository for the whole session; an isolated model cache for tests that
train; one torch thread for tiny-tensor modules; a temporary book folder for tests that execute notebooks."""
import os

import pytest
import torch


WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # set in each of `pytest -n N`'s worker processes


def pytest_configure(config):
    """With several workers (`make test` runs two), each works with one CPU thread, its notebooks' kernels and its
    trainings too (their models are then cached apart from the book's two-thread ones): two processes of two threads
    on two cores wait on each other."""
    if WORKER:
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["SEMANTIC_BOTTLENECK_TRAINING_THREADS"] = "1"
        torch.set_num_threads(1)


def pytest_collection_modifyitems(items):
    """Longest first, so that two workers handed one test at a time (`make test`) finish together: tests that
    execute a notebook, then the other slow ones, then the rest (each group in collection order)."""
    def weight(item):
        return 0 if "build_dirs" in item.fixturenames else 1 if item.get_closest_marker("slow") else 2
    items.sort(key=weight)


@pytest.fixture(scope="session", autouse=True)
def session_caches(tmp_path_factory):
    """Every test session trains and downloads into temporary folders, never into the repository's `.cache`.

    The workers of one `pytest -n N` run share the model cache (its entries are written atomically and keyed by
    what trained them), so each ci model is trained once per run; each keeps its own weights folder."""
    names = ("SEMANTIC_BOTTLENECK_CACHE", "SEMANTIC_BOTTLENECK_WEIGHTS")
    before = {name: os.environ.get(name) for name in names}
    os.environ["SEMANTIC_BOTTLENECK_WEIGHTS"] = str(tmp_path_factory.mktemp("semantic_bottleneck_weights"))
    shared = tmp_path_factory.getbasetemp().parent / "model_cache" if WORKER else None
    if shared:
        shared.mkdir(exist_ok=True)
    os.environ["SEMANTIC_BOTTLENECK_CACHE"] = str(shared or tmp_path_factory.mktemp("semantic_bottleneck_cache"))
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
