"""Every notebook executes under the `ci` profile through the same driver as the book."""
import pandas as pd
import pytest

from semantic_bottleneck.book import driver as book

NAMES = book.notebook_names()


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_executes_under_ci(name, build_dirs):
    outcome = book.execute(name, "ci", force=True)
    assert outcome.status == "executed", outcome.error
    results = pd.read_csv(book.RESULTS / f"{name}.csv")
    assert set(results["profile"]) == {"ci"} and results["value"].notna().all()
