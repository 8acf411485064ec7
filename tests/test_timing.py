"""The timing ledger: spans recorded only when asked, nested spans counted once, kinds checked."""
import time

import pytest

from semantic_bottleneck import timing


def test_nested_spans_record_their_own_seconds_so_a_chapter_adds_up(tmp_path, monkeypatch):
    ledger = tmp_path / "timings.jsonl"
    monkeypatch.setenv(timing.LEDGER, str(ledger))
    monkeypatch.setenv(timing.CHAPTER, "03_pruning")
    with timing.span("sampling", "tiny-ddim-10"):
        time.sleep(0.05)
        with timing.span("judging", "features"):
            time.sleep(0.1)
    rows = {row["kind"]: row for row in timing.read_ledger(ledger)}
    assert set(rows) == {"sampling", "judging"} and rows["judging"]["chapter"] == "03_pruning"
    assert 0.1 <= rows["judging"]["seconds"] < 0.15
    assert 0.05 <= rows["sampling"]["seconds"] < 0.1  # the inner 0.1 s is not counted twice


def test_without_a_ledger_nothing_is_written_and_a_wrong_kind_fails_in_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv(timing.LEDGER, raising=False)
    with timing.span("training", "tiny DiT"):
        pass
    assert timing.read_ledger(tmp_path / "none.jsonl") == [] and not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="kind must be one of training, sampling"):
        with timing.span("train", "tiny DiT"):
            pass
