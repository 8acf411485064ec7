"""Every notebook executes under the `ci` profile through the same driver as the book."""
from pathlib import Path

import pytest

from semantic_bottleneck.book import driver as book
import helpers

# Chapters whose own test executes them under `ci` (with these checks and more): executed there, once per run.
CHAPTER_TESTS = {"05_video_to_audio": "test_audio_chapter.py", "06_compute": "test_compute.py"}


@pytest.mark.slow
@pytest.mark.parametrize("name", [name for name in book.notebook_names() if name not in CHAPTER_TESTS])
def test_notebook_executes_under_ci(name, build_dirs):
    helpers.execute_under_ci(name)


def test_every_notebook_is_executed_under_ci_by_one_test():
    assert set(CHAPTER_TESTS) <= set(book.notebook_names())
    for name, test_file in CHAPTER_TESTS.items():
        assert f'helpers.execute_under_ci("{name}")' in (Path(__file__).parent / test_file).read_text(), test_file
