"""The registry: one entry per model name, each well formed; unknown names are refused with the known ones."""
from pathlib import Path

import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.checkpoints.families import Family
from semantic_bottleneck.checkpoints.sources import OfficialCheckpoint
from semantic_bottleneck.paper import paper_table
from semantic_bottleneck.sampling.presets import PRESETS
from helpers import write_checkpoint

LIB = Path(__file__).resolve().parents[1] / "lib" / "semantic_bottleneck"


@pytest.mark.parametrize("name", list(registry.MODELS))
def test_every_entry_is_well_formed(name):
    entry = registry.model(name)
    assert entry.name == name and isinstance(entry.facts, Family) and entry.condition in registry.CONDITIONS
    assert registry.family_facts(entry.family) == entry.facts, "models of one family share one record"
    assert (entry.sampler in PRESETS) != bool(entry.not_sampled), "a model has a sampler or a reason it has none"
    columns = set(paper_table("T1").columns) | set(paper_table("T4").columns) | set(paper_table("T5").columns)  # X-MDPT-B/S appear in Table 5 only
    assert entry.paper_column is None or entry.paper_column in columns
    if entry.paper_tables is not None:
        table, prefix, t6 = entry.paper_tables
        assert f"{prefix}baseline" in paper_table(table).index and f"{t6}baseline" in paper_table("T6").index
    for method in ("embedding", "network", "class_names"):
        assert callable(getattr(entry.source, method))
    if isinstance(entry.source, OfficialCheckpoint):
        weights = entry.source.weights
        assert weights.name == name and weights.license and weights.mirrors
        assert all(url.startswith("https://") for mirror in weights.mirrors for url in mirror.urls)


def test_an_unknown_name_lists_every_known_one():
    with pytest.raises(ValueError) as err:
        registry.model("dit-xxl")
    assert str(err.value) == f"model must be one of {', '.join(registry.MODELS)}; got 'dit-xxl'"
    with pytest.raises(ValueError, match="cannot be sampled here: it is an MDTv2"):
        registry.load_network("mdt-v2-xl", "paper")


def test_a_local_checkpoint_path_stands_in_for_a_registry_name(tmp_path):
    path, state, _ = write_checkpoint("repa", tmp_path)
    embedding = registry.load_embedding(path, family="repa")
    assert embedding.info["family"] == "repa" and torch.equal(embedding.class_table, state["y_embedder.embedding_table.weight"])
    with pytest.raises(ValueError, match="must be an existing checkpoint path or one of tiny-class"):
        registry.load_embedding(tmp_path / "absent.pt")


def test_no_module_outside_the_registry_branches_on_a_model_name():
    """Adding a model is one registry entry: no other module compares a name with a registered one."""
    names = "|".join(registry.MODELS)
    import re

    pattern = re.compile(rf"""(==|!=|\bin\b)\s*\(?\s*["']({names})["']|["']({names})["']\s*(==|!=)""")
    offenders = [f"{path.relative_to(LIB)}:{number}" for path in LIB.rglob("*.py") if path.name != "registry.py"
                 for number, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, offenders
