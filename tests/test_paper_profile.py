"""The `paper` profile of the similarity chapter, end to end on stand-in checkpoints in the official layouts.

The real weights cannot be downloaded here; small files written in each family's layout are put where the
registry caches its downloads, so the notebook runs exactly the code it runs in Colab.
"""
import pandas as pd
import pytest
import yaml

from semantic_bottleneck import profiles, registry
from semantic_bottleneck.book import driver as book
from semantic_bottleneck.checkpoints.download import CACHE_ENV
from helpers import write_checkpoint

FAMILY_CASE = {"dit": "dit", "sit": "sit", "repa": "repa", "mg": "mg", "mdt": "mdt", "lightningdit": "lightningdit"}


@pytest.mark.slow
def test_similarity_notebook_runs_under_paper_profile(tmp_path, monkeypatch, build_dirs):
    names = yaml.safe_load((profiles.params_folder() / "paper.yaml").read_text())["01_similarity"]["models"]
    cache = tmp_path / "weights"
    for seed, name in enumerate(names):
        entry = registry.model(name)
        source, _, _ = write_checkpoint(FAMILY_CASE[entry.family], tmp_path / "written" / name, seed)
        target = cache / name / entry.source.weights.mirrors[0].filename
        target.parent.mkdir(parents=True)
        source.rename(target)
    monkeypatch.setenv(CACHE_ENV, str(cache))
    outcome = book.execute("01_similarity", "paper", force=True)
    assert outcome.status == "executed", outcome.error
    results = pd.read_csv(book.RESULTS / "01_similarity.csv")
    assert set(results["profile"]) == {"paper"}
    assert {"DiT", "SiT", "MDT", "LightningDiT", "MG", "REPA"} <= set(results["column"])
