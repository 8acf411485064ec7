"""Rehearse the README's "Adding a model": a new architecture is one network class and one registry entry.

The network is defined here (a DiT whose blocks are scaled by a learned gate per block), the entry is put into
`registry.MODELS` alone (its family record written in the entry), and statistics, a pruning study (a few samples), compression
and the cost table must all take the new model with no other table edited.
"""
from dataclasses import dataclass
import json

import pytest
import torch
from torch import nn

from semantic_bottleneck import registry
from semantic_bottleneck.chapters.compute import cost
from semantic_bottleneck.checkpoints.compressed import CompressedModel, load_compressed
from semantic_bottleneck.checkpoints.families import Family
from semantic_bottleneck.condition.compress import compressed_index
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.condition.prune import PruneSpec
from semantic_bottleneck.nets.architectures import build_network
from semantic_bottleneck.nets.dit import DiT, DiTConfig, unpatchify
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.network import LoadedNetwork
import helpers


@dataclass(frozen=True)
class GatedConfig(DiTConfig):
    """A DiT with a learned output gate per block."""

    gate_init: float = 0.5


class GatedDiT(DiT):
    """DiT whose blocks' outputs pass through a learned scalar gate (x + g (block(x) - x))."""

    config_class = GatedConfig

    def __init__(self, config):
        super().__init__(config)
        self.gates = nn.Parameter(torch.full((config.depth,), config.gate_init))

    def forward(self, x, t, y):
        x = self.x_embedder(x) + self.pos_embed
        c = self.t_embedder(t) + self.embed_condition(y)
        for gate, block in zip(self.gates, self.blocks):
            x = x + gate * (block(x, c, self.feat_rope) - x)
        return unpatchify(self.final_layer(x, c), self.patch, self.out_channels, self.grid)


CONFIG = GatedConfig(image_size=8, patch_size=4, hidden_size=16, depth=2, num_heads=2, num_classes=5)
GATED = Family("gated", "gated DiT (a rehearsal)", None, "integer DDPM t in 0..999, 999 = pure noise", 999, "integer",
               None, "DDIM 10 steps (the tiny models')", "this project's license", t_range=(0, 999))


class RandomGated:
    """Registry source: a seeded random GatedDiT and its class embedding (no training)."""

    def network(self, model, profile, device="cpu", progress=True):
        network = helpers.randomize(lambda: build_network(CONFIG), 0, 0.3)
        embedding = ConditionEmbedding.from_state_dict(network.state_dict(), family=model.family, model=model.name,
                                                       t0=model.facts.t0,
                                                       time_convention=model.facts.time_convention)
        return LoadedNetwork(network.to(device), embedding, None, ClassLabels(CONFIG.num_classes), model.family,
                             CONFIG.hidden_size, self.class_names(model, profile))

    def embedding(self, model, profile, progress=True):
        return self.network(model, profile).embedding

    def class_names(self, model, profile):
        return [f"class {i}" for i in range(CONFIG.num_classes)]


@pytest.fixture
def gated(monkeypatch, tmp_cache):
    """The new model's one registry entry (and its compressed twin), in `MODELS` for this test only."""
    entry = registry.Model("gated", GATED, RandomGated(), "tiny-ddim-10", "shape classes",
                           architecture=("Gated-S (a rehearsal)", CONFIG))
    monkeypatch.setitem(registry.MODELS, "gated", entry)
    monkeypatch.setitem(registry.MODELS, "gated-compressed", registry.Model(
        "gated-compressed", GATED, CompressedModel(entry.source, "gated", 0.5), "tiny-ddim-10", "shape classes"))
    return entry


def test_the_network_is_found_from_its_class_alone():
    assert type(build_network(CONFIG)) is GatedDiT


def test_statistics_take_the_new_model(gated, capsys):
    from semantic_bottleneck.__main__ import main

    assert registry.family_facts("gated") is GATED and "gated" in registry.families_frame().index
    assert main(["stats", "gated", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["family"] == "gated" and stats["t"] == 999 and stats["time_convention"] == GATED.time_convention
    assert 0 < stats["y_plus_t"]["npr"] <= CONFIG.hidden_size
    assert stats["silu_reading"]["npr_contribution"] > 0


def test_a_pruning_study_runs_on_the_new_model(gated, one_thread):
    from semantic_bottleneck.study.protocol import run_study

    specs = lambda settings, dim: {"baseline": None, "tail_half": PruneSpec("tail", fraction=0.5)}  # noqa: E731
    judge = helpers.small_judge(num_classes=CONFIG.num_classes, image_size=CONFIG.image_size, kid_subsets=2,
                                kid_subset_size=2)
    study = run_study("gated", helpers.study_params(samples_per_seed=4, seeds=2), judge, specs, progress=False)
    fid = study.summary[study.summary["metric"] == "fid"].set_index("row")
    assert set(fid.index) == {"baseline", "tail_half"} and fid.loc["baseline", "delta"] == 0
    assert study.dim == CONFIG.hidden_size and study.protocol.model == "gated"


def test_the_new_model_compresses_and_reads_back(gated):
    loaded = registry.load_network("gated-compressed", "ci")
    assert type(loaded.network) is GatedDiT and len(compressed_index(loaded.network)) == CONFIG.hidden_size // 2
    again = load_compressed(loaded.info["checkpoint"])
    assert type(again) is GatedDiT and torch.equal(again.gates, loaded.network.gates)


def test_the_cost_table_counts_the_new_architecture(gated):
    builders = cost.official_architectures()
    assert "Gated-S (a rehearsal)" in builders
    costs = cost.costs_table({"Gated-S (a rehearsal)": builders["Gated-S (a rehearsal)"]})
    row = costs.loc["Gated-S (a rehearsal)"]
    assert row["width D"] == CONFIG.hidden_size and row["modulation layers"] == CONFIG.depth + 1
    assert row["parameters (M)"] * 1e6 == sum(p.numel() for p in build_network(CONFIG).parameters())
