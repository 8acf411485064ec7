"""Every notebook executes under the `ci` profile through the same driver as the book."""
import pandas as pd
import pytest

from semantic_bottleneck import book

NAMES = book.notebook_names()


@pytest.fixture
def build_dirs(tmp_path, monkeypatch):
    """Executed copies, stamps and results go to a temporary book folder."""
    monkeypatch.setattr(book, "EXECUTED", tmp_path / "executed")
    monkeypatch.setattr(book, "RESULTS", tmp_path / "executed" / "results")
    monkeypatch.setattr(book, "STAMPS", tmp_path / "executed" / "stamps")
    monkeypatch.setattr(book, "FAILED", tmp_path / "failed")
    return tmp_path


@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_under_ci(name, build_dirs):
    outcome = book.execute(name, "ci", force=True)
    assert outcome.status == "executed", outcome.error
    results = pd.read_csv(book.RESULTS / f"{name}.csv")
    assert set(results["profile"]) == {"ci"} and results["value"].notna().all()
