"""The compute chapter's core: parameter and FLOP counts against hand counts, the compressed network against the pruned
sampler in every runnable layout, its checkpoint round trip, the projection onto r principal directions, and the
chapter's rows run through the study protocol."""
import copy
import itertools
import time

import helpers
import pandas as pd
import pytest
import torch
from safetensors.torch import save_file
from semantic_bottleneck.book import driver as book
from semantic_bottleneck.book.provenance import VERDICTS_FOLDER
from semantic_bottleneck.chapters.compute import cost, report, study as compute_study, tables as compute_tables
from semantic_bottleneck.checkpoints.compressed import CompressedModel, load_compressed, save_compressed
from semantic_bottleneck.checkpoints.diffusers import to_diffusers
from semantic_bottleneck.checkpoints.files import CheckpointError
from semantic_bottleneck.condition.compress import compress, compressed_index, global_kept, kept_index
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.condition.hooks import CaptureC, hook_points
from semantic_bottleneck.condition.project import Projector, ProjectSpec, kept_energy, principal_directions, row_hooks
from semantic_bottleneck.condition.prune import Pruner, PruneSpec
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.nets.dit import CONFIGS, DiT, DiTConfig
from semantic_bottleneck.nets.mdsgen import MDSGen, MDSGenConfig, TinyMDSGen, TinyMDSGenConfig
from semantic_bottleneck.nets.mdt import MDT, MDTConfig
from semantic_bottleneck.nets.xmdpt import XMDPT, TinyXMDPT, TinyXMDPTConfig, XMDPTConfig
from semantic_bottleneck.sampling.conditions import ClassLabels
from semantic_bottleneck.sampling.generate import generate
from semantic_bottleneck.sampling.network import LoadedNetwork
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.settings.chapters import ComputeSettings
from semantic_bottleneck.study.protocol import Protocol, Study, run_rows

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = DiTConfig(image_size=4, patch_size=2, in_channels=3, hidden_size=8, depth=2, num_heads=2, num_classes=3)
TOKENS = {"pose_token_count": 5, "pose_token_width": 6, "source_token_count": 5, "source_token_width": 7}
SAMPLER = preset("tiny-ddim-10", num_steps=4)


# ----------------------------------------------------------------------------- counts against hand counts

def test_parameters_and_flops_of_a_small_dit_match_a_hand_count():
    """D = 8, 2 blocks, 4 tokens of 2x2x3 patches, 3 classes; FLOPs = 2 x multiply-adds."""
    costs = cost.layout_costs(lambda: DiT(SMALL))
    d, t, patch = 8, 4, 2 * 2 * 3
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + (d * 6 * d + 6 * d)
    final = (d * patch + patch) + (d * 2 * d + 2 * d)
    embedders = (d * patch + d) + (256 * d + d) + (d * d + d) + (3 + 1) * d
    assert costs["parameters (M)"] * 1e6 == pytest.approx(embedders + t * d + 2 * block + final)  # + pos_embed
    assert costs["modulation parameters (M)"] * 1e6 == pytest.approx(2 * (d * 6 * d + 6 * d) + d * 2 * d + 2 * d)
    attention = 2 * (2 * t * t * d)  # q k^T and the weighted sum of v, over all heads
    block_flops = 2 * t * d * (3 * d + d + 4 * d + 4 * d) + attention + 2 * d * 6 * d
    flops = 2 * t * d * patch + 2 * (256 * d + d * d) + 2 * block_flops + 2 * d * 2 * d + 2 * t * d * patch
    assert costs["GFLOP per sample"] * 1e9 == pytest.approx(flops)
    assert costs["modulation MFLOP per sample"] * 1e6 == pytest.approx(2 * (2 * d * 6 * d) + 2 * d * 2 * d)
    assert costs["modulation layers"] == 3 and costs["never run at inference (M)"] == 0


def test_mdt_side_blocks_are_counted_as_never_run():
    """MDT holds one training-only side block: its parameters (with its relative-position table) never run."""
    config = MDTConfig(image_size=4, patch_size=2, in_channels=3, hidden_size=8, depth=2, num_heads=2, num_classes=3,
                       learn_sigma=False, decode_layer=1)
    costs = cost.layout_costs(lambda: MDT(config))
    d, heads = 8, 2
    block = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + (d * 6 * d + 6 * d)
    table = ((2 * 2 - 1) * (2 * 2 - 1) + 3) * heads
    assert costs["never run at inference (M)"] * 1e6 == pytest.approx(block + table)
    assert costs["modulation layers"] == 3  # the side block's modulation layer never runs either


def test_dit_xl_modulation_layers_hold_a_third_of_its_parameters():
    costs = cost.layout_costs(cost.official_architectures()["REPA, MG (SiT-XL/2, no variance)"])
    d = 1152
    assert costs["modulation parameters (M)"] * 1e6 == 28 * (d * 6 * d + 6 * d) + d * 2 * d + 2 * d
    with torch.device("meta"):
        assert costs["parameters (M)"] * 1e6 == sum(p.numel() for p in DiT(CONFIGS["DiT-XL/2"]).parameters())
    assert 0.33 < costs["modulation share of parameters"] < 0.34 and costs["modulation share of FLOPs"] < 0.01


# ----------------------------------------------------------------------------- compressed = pruned, every layout

class RandomConditions:
    """A condition source whose sample i gets a batch made by `make(1, seed=i)`; null: `keep` set to 0."""

    def __init__(self, make):
        self.make = make

    def for_indices(self, indices):
        parts = [self.make(1, seed=int(i)) for i in indices]
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}

    def null_like(self, batch):
        return {**batch, "keep": torch.zeros_like(batch["keep"])}

    def describe(self, count):
        return f"{count} random conditions"


def _frames(config):
    """Random video features of an MDSGen config, one sample per seed."""
    def make(n, seed):
        g = torch.Generator().manual_seed(seed)
        return {"frames": torch.randn(n, config.frames, config.feature_dim, generator=g), "keep": torch.ones(n)}
    return make


def _layouts():
    """(name, network with random weights, condition source) of every runnable layout, small."""
    mdt = MDTConfig(image_size=4, patch_size=2, in_channels=3, hidden_size=16, depth=2, num_heads=2, num_classes=5,
                    learn_sigma=True, decode_layer=1)
    xmdpt = XMDPTConfig(image_size=4, patch_size=2, in_channels=4, hidden_size=16, depth=2, num_heads=2, decode_layer=1,
                        **TOKENS)
    tiny_pose = TinyXMDPTConfig(image_size=4, hidden_size=16, depth=2, num_heads=2, **TOKENS)
    mdsgen = MDSGenConfig(image_size=8, image_width=4, patch_size=2, patch_width=2, in_channels=2, hidden_size=16,
                          depth=2, num_heads=2, decode_layer=1, frames=3, feature_dim=5, frequency_embedding_size=16)
    tiny_audio = TinyMDSGenConfig(image_size=8, image_width=8, patch_width=4, hidden_size=16, depth=2, num_heads=2,
                                  frames=3, feature_dim=5)
    dit = DiTConfig(image_size=8, patch_size=2, in_channels=3, hidden_size=16, depth=2, num_heads=2, num_classes=5)
    std = 0.1  # a calm random network: float rounding is not amplified by the sampler
    return [
        ("dit", helpers.random_dit(dit, std=std), ClassLabels(5)),
        ("lightningdit", helpers.random_lightningdit(std=std), ClassLabels(5)),
        ("mdt", helpers.randomize(lambda: MDT(mdt), std=std), ClassLabels(5)),
        ("diffusers-dit", to_diffusers(helpers.random_dit(dit, std=std)), ClassLabels(5)),
        ("xmdpt", helpers.randomize(lambda: XMDPT(xmdpt), std=std),
         RandomConditions(lambda n, seed: helpers.random_pose_batch(xmdpt, n, seed))),
        ("tiny-pose", helpers.randomize(lambda: TinyXMDPT(tiny_pose), std=std),
         RandomConditions(lambda n, seed: helpers.random_pose_batch(tiny_pose, n, seed))),
        ("mdsgen", helpers.randomize(lambda: MDSGen(mdsgen), std=std), RandomConditions(_frames(mdsgen))),
        ("tiny-v2a", helpers.randomize(lambda: TinyMDSGen(tiny_audio), std=std), RandomConditions(_frames(tiny_audio))),
    ]


def _kept(width, seed=0, share=0.4):
    """A random global mask of kept coordinates (D,), about `share` of them."""
    kept = torch.rand(width, generator=torch.Generator().manual_seed(seed)) < share
    kept[0] = True
    return kept


@pytest.mark.parametrize("name,network,conditions", _layouts(), ids=[layout[0] for layout in _layouts()])
def test_the_compressed_network_samples_what_the_pruned_sampler_samples(name, network, conditions):
    width = network.inner_dim if name == "diffusers-dit" else network.config.hidden_size
    kept = _kept(width)
    spec = PruneSpec("tail", fraction=1 - kept.float().mean().item(), reading="global")
    with Pruner(network, spec, SAMPLER.num_steps, mask=~kept) as pruner:
        pruned = generate(network, range(3), 0, SAMPLER, conditions, step_callback=pruner,
                          rows_callback=pruner.set_conditional_rows, progress=False).images
    small = compress(network, kept)
    compressed = generate(small, range(3), 0, SAMPLER, conditions, progress=False).images
    dense = generate(network, range(3), 0, SAMPLER, conditions, progress=False).images
    # float32 rounding only: a Linear over fewer columns sums in another order (2e-5 seen for X-MDPT on AVX-512)
    assert torch.allclose(compressed, pruned, atol=5e-5, rtol=0)
    assert (dense - pruned).abs().max() > 1e-2  # the mask matters: the test could fail
    assert sum(p.numel() for p in small.parameters()) < sum(p.numel() for p in network.parameters())
    assert all(linear.in_features == int(kept.sum()) for _, _, linear in cost.modulation_layers(small))


def test_c_is_gathered_once_per_forward_and_every_layer_sees_that_one_tensor():
    network = helpers.random_dit(SMALL)
    small = compress(network, _kept(8))
    seen = []
    for module in hook_points(small)[1]:
        module.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    x, t, y = cost.example_inputs(small, 2, "cpu", torch.Generator().manual_seed(0))
    small(x, t, y)
    assert len(seen) == 3 and all(c is seen[0] for c in seen) and seen[0].shape == (2, int(_kept(8).sum()))
    assert small.kept_coordinates._last[0] is None  # nothing held once the pass is over
    copied = copy.deepcopy(small)  # an EMA copy, say: its hooks gather with its own module
    hook = next(iter(copied.blocks[0].adaLN_modulation._forward_pre_hooks.values()))
    assert hook.__self__.transform is copied.kept_coordinates


def test_keeping_every_coordinate_changes_nothing_and_bad_masks_are_refused():
    network = helpers.random_dit(SMALL)
    x, t, y = cost.example_inputs(network, 2, "cpu", torch.Generator().manual_seed(0))
    assert torch.equal(compress(network, torch.ones(8, dtype=torch.bool))(x, t, y), network(x, t, y))
    assert kept_index(torch.tensor([5, 1]), 8).tolist() == [1, 5]
    for bad, message in ((torch.zeros(8, dtype=torch.bool), "non-empty"), (torch.ones(7, dtype=torch.bool), "shape"),
                         (torch.tensor([1, 1]), "distinct"), (torch.tensor([8]), r"in \[0, 8\)"),
                         (torch.tensor([0.5]), "integer")):
        with pytest.raises(ValueError, match=message):
            compress(network, bad)
    with pytest.raises(ValueError, match="already compressed"):
        compress(compress(network, _kept(8)), _kept(8))


# ----------------------------------------------------------------------------- the compressed checkpoint

@pytest.mark.parametrize("build", [lambda: helpers.random_dit(SMALL), helpers.random_lightningdit,
                                   lambda: helpers.randomize(lambda: TinyXMDPT(TinyXMDPTConfig(
                                       image_size=4, hidden_size=16, depth=2, num_heads=2, **TOKENS)))],
                         ids=["dit", "lightningdit", "tiny-pose"])
def test_a_saved_compressed_network_loads_back_without_its_original(build, tmp_path):
    network = build()
    small = compress(network, _kept(network.config.hidden_size, seed=1))
    path = save_compressed(small, tmp_path / "small.safetensors")
    again = load_compressed(path)
    assert torch.equal(compressed_index(again), compressed_index(small))
    assert all(torch.equal(a, b) for a, b in zip(small.state_dict().values(), again.state_dict().values()))
    x, t, y = cost.example_inputs(small, 2, "cpu", torch.Generator().manual_seed(0))
    assert torch.equal(again(x, t, y), small(x, t, y))
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(tmp_path / "dense.safetensors"))
    assert path.stat().st_size < (tmp_path / "dense.safetensors").stat().st_size


def test_only_compressed_networks_are_saved_and_loaded_as_such(tmp_path):
    network = helpers.random_dit(SMALL)
    with pytest.raises(ValueError, match="must be compressed"):
        save_compressed(network, tmp_path / "dense.safetensors")
    torch.save(network.state_dict(), tmp_path / "dense.pt")
    with pytest.raises(CheckpointError, match="not a compressed network"):
        load_compressed(tmp_path / "dense.pt")


class RandomBase:
    """A registry source standing in for a trained model: a random DiT and its class embedding."""

    def __init__(self):
        self.dit = helpers.random_dit(SMALL)

    def network(self, model, profile, device="cpu", progress=True):
        embedding = ConditionEmbedding.from_state_dict(self.dit.state_dict(), t0=999)
        return LoadedNetwork(self.dit.to(device), embedding, None, ClassLabels(3), model.family, 8, None, {})

    def embedding(self, model, profile, progress=True):
        return self.network(model, profile).embedding

    def class_names(self, model, profile):
        return ["a", "b", "c"]


def test_a_registered_compressed_model_is_written_once_and_read_from_its_file(tmp_cache):
    from semantic_bottleneck.checkpoints.families import TINY
    from semantic_bottleneck.registry import Model

    base = RandomBase()
    entry = Model("small-compressed", TINY, CompressedModel(base, "small", 0.5), "tiny-ddim-10", "shape classes")
    loaded = entry.source.network(entry, "ci")
    path = loaded.info["checkpoint"]
    written = tmp_cache.joinpath(path).stat().st_mtime_ns
    again = entry.source.network(entry, "ci")
    assert again.info["checkpoint"] == path and tmp_cache.joinpath(path).stat().st_mtime_ns == written
    kept = global_kept(loaded.embedding, 0.5)
    assert torch.equal(compressed_index(loaded.network), kept.nonzero().flatten()) and int(kept.sum()) == 4
    spec = PruneSpec("tail", fraction=0.5, reading="global")
    with Pruner(base.dit, spec, SAMPLER.num_steps, mask=~kept) as pruner:
        pruned = generate(base.dit, range(3), 0, SAMPLER, ClassLabels(3), step_callback=pruner,
                          rows_callback=pruner.set_conditional_rows, progress=False).images
    small = generate(loaded.network, range(3), 0, SAMPLER, ClassLabels(3), progress=False).images
    assert torch.allclose(small, pruned, atol=1e-5, rtol=0)



def test_the_registry_holds_the_tiny_class_model_compressed_to_table_2s_kept_share():
    from semantic_bottleneck.registry import model

    entry, base = model("tiny-class-compressed"), model("tiny-class")
    assert isinstance(entry.source, CompressedModel) and entry.source.base_name == "tiny-class"
    assert type(entry.source.base) is type(base.source) and entry.sampler == base.sampler
    assert entry.source.kept_share == pytest.approx(compute_study.paper_kept_shares()["tail_tau0.01_every_step"])

# ----------------------------------------------------------------------------- r directions

def test_the_projection_keeps_exactly_r_directions():
    vectors = torch.randn(40, 12, generator=torch.Generator().manual_seed(0)) + 3.0  # a dominant mean direction
    for rank in (1, 3, 12):
        basis = principal_directions(vectors, rank)
        assert basis.shape == (12, rank) and torch.allclose(basis.T @ basis, torch.eye(rank), atol=1e-5)
        projection = Projector(None, basis).apply(torch.eye(12))  # (D, D): the map applied to every axis
        assert torch.linalg.matrix_rank(projection, atol=1e-5) == rank
        assert torch.allclose(projection @ projection, projection, atol=1e-5) and torch.allclose(projection, projection.T)
    assert torch.allclose(Projector(None, principal_directions(vectors, 12)).apply(vectors), vectors, atol=1e-4)
    assert torch.nn.functional.cosine_similarity(principal_directions(vectors, 1)[:, 0], vectors.mean(0), dim=0).abs() > 0.99


def test_no_r_coordinates_keep_more_energy_than_the_top_r_directions():
    vectors = torch.randn(30, 10, generator=torch.Generator().manual_seed(1)) * torch.linspace(0.1, 2, 10)
    for rank in (1, 2, 5):
        best = max(kept_energy(vectors, torch.eye(10)[:, list(cols)]) for cols in
                   itertools.combinations(range(10), rank))
        assert kept_energy(vectors, principal_directions(vectors, rank)) >= best - 1e-9


def test_in_a_model_every_modulation_layer_sees_c_in_the_span_of_the_basis():
    network = helpers.random_dit(SMALL)
    embedding = ConditionEmbedding.from_state_dict(network.state_dict(), t0=999)
    with Projector.fit(network, embedding, [999, 500, 0], rank=2) as projector, CaptureC(network) as capture:
        generate(network, range(3), 0, SAMPLER, ClassLabels(3), step_callback=projector,
                 rows_callback=projector.set_conditional_rows, progress=False)
    seen = capture.stacked()  # (steps x 2 rows x 3 samples, D): conditional and CFG rows
    assert torch.linalg.matrix_rank(seen, atol=1e-4) == 2
    assert torch.allclose(seen, projector.apply(seen), atol=1e-5)
    assert {r[1] / r[2] for r in projector.records} == {8 - 2}  # D - r dimensions removed per conditional row


def test_each_row_gets_its_operator_and_a_projection_row_is_validated():
    network = helpers.random_dit(SMALL)
    embedding = ConditionEmbedding.from_state_dict(network.state_dict(), t0=999)
    assert isinstance(row_hooks(network, ProjectSpec(2), 4, embedding, [999, 0]), Projector)
    pruner = row_hooks(network, PruneSpec("tail", fraction=0.5, reading="global"), 4, embedding, [999, 0])
    assert isinstance(pruner, Pruner) and pruner.fixed_mask.sum() == 4
    for bad in (0, 1.5, -2):
        with pytest.raises(ValueError, match="rank must be a positive integer"):
            ProjectSpec(bad)
    with pytest.raises(ValueError, match="rank must be in"):
        principal_directions(torch.randn(3, 8), 4)


# ----------------------------------------------------------------------------- the chapter's rows and tables

def test_coordinate_and_direction_rows_run_through_the_study_protocol():
    network = helpers.random_dit(DiTConfig(image_size=8, patch_size=2, in_channels=3, hidden_size=16, depth=2,
                                           num_heads=2, num_classes=5), std=0.1)
    embedding = ConditionEmbedding.from_state_dict(network.state_dict(), t0=999)
    judge = helpers.small_judge(image_size=8, references=30, kid_subsets=3, kid_subset_size=5)
    protocol = Protocol("tiny-class", SAMPLER, 5, 2, 0, 10, "5 per class")
    specs = compute_study.rank_specs(ComputeSettings(ranks=[2, 4, 16]), 16)
    assert list(specs) == ["baseline", "coordinates_r2", "directions_r2", "coordinates_r4", "directions_r4"]
    long, images, _ = run_rows(network, specs, protocol, judge, ClassLabels(5), embedding, progress=False)
    removed = long[long["metric"] == "removed_dims"].groupby("row")["value"].first()
    assert removed.to_dict() == {"baseline": 0, "coordinates_r2": 14, "directions_r2": 14, "coordinates_r4": 12,
                                 "directions_r4": 12}
    assert not torch.equal(images["coordinates_r2"], images["directions_r2"])
    study = Study("tiny-class", protocol, specs, long, summarise(long), images, {}, 16, embedding)
    table = compute_tables.head_to_head(study, "fid")
    means = study.summary[study.summary["metric"] == "fid"].set_index("row")["mean"]
    assert table.loc[2, "directions"] == pytest.approx(means["directions_r2"])
    assert table.loc[2, "coordinates"] == pytest.approx(means["coordinates_r2"])
    energy = compute_tables.energy_table({"tiny-class": (study, judge)})
    assert (energy["directions"] >= energy["coordinates"] - 1e-9).all()
    assert "ranks are eligible" in report.directions_sentence({"tiny-class": (study, judge)}, "fid")


def test_the_compression_table_compares_dense_and_compressed_networks():
    network = helpers.random_dit(SMALL)
    table = cost.compression_table(network, cost.leading_masks(8, [0.5, 0.25]), batches=(1, 2), repeats=1, device="cpu")
    assert list(table.index) == ["dense", "keep 50% (r = 4)", "keep 25% (r = 2)"]
    assert table["kept coordinates r"].tolist() == [8, 4, 2]
    saved = [2 * (6 * 8) * (8 - r) + 2 * 8 * (8 - r) for r in (4, 2)]  # 6D outputs per block, 2D in the final layer
    expected = [s / sum(p.numel() for p in network.parameters()) for s in saved]
    assert table["parameters saved"].tolist()[1:] == pytest.approx(expected)
    assert table["ms, batch 2"].gt(0).all() and table.loc["dense", "time saved, batch 1"] == 0
    assert table.loc["dense", ["time saved q25, batch 1", "time saved q75, batch 1"]].tolist() == [0, 0]
    assert (table["time saved q25, batch 2"] <= table["time saved q75, batch 2"]).all()
    assert table.loc["keep 25% (r = 2)", "time saved, batch 2"] == pytest.approx(
        1 - table.loc["keep 25% (r = 2)", "ms, batch 2"] / table.loc["dense", "ms, batch 2"])


def test_calls_are_timed_in_turns_after_a_warm_up_in_milliseconds():
    calls = []
    times = cost.median_times({"slow": lambda: calls.append("slow") or time.sleep(0.01),
                               "fast": lambda: calls.append("fast")}, repeats=3)
    assert calls == ["slow", "fast"] * 4
    assert 10 <= times["slow"] < 200 and times["fast"] < 5


def test_the_modulation_layers_time_is_a_share_of_the_forward_and_the_sentence_quotes_it():
    network = helpers.random_dit(SMALL)
    times = cost.modulation_time(network, batches=(1, 2), repeats=2, device="cpu")
    assert list(times.index) == [1, 2] and (times > 0).all().all()
    assert times["modulation share of time"].tolist() == pytest.approx(
        (times["modulation layers ms"] / times["forward ms"]).tolist())
    sentence = report.time_sentence(times, "small", cost.layout_costs(lambda: DiT(SMALL)))
    assert f"{times.loc[2, 'modulation layers ms']:.3g} ms of {times.loc[2, 'forward ms']:.3g} ms" in sentence
    xl = pd.DataFrame({"forward ms": [39512.4], "modulation layers ms": [175.0], "modulation share of time": [0.00443]},
                      index=[8])
    assert "175 ms of 39,512 ms (0.4%) at batch 8" in report.time_sentence(xl, "xl", cost.layout_costs(lambda: DiT(SMALL)))


@pytest.mark.slow
def test_the_chapter_runs_under_ci_and_its_numbers_reach_the_status_page(build_dirs):
    results = helpers.execute_under_ci("06_compute").set_index("row")
    assert (results["table"] == compute_tables.NEW_TABLE).all()
    assert results.loc["compressed = pruned", "value"] < 1e-4
    assert results.loc["modulation share/REPA, MG (SiT-XL/2, no variance)", "value"].between(0.33, 0.34).any()
    assert results.index.str.startswith("compressed/keep 61.1%").any()
    assert results.index.str.startswith("directions - coordinates/r").any()
    verdicts = pd.read_csv(book.RESULTS / VERDICTS_FOLDER / "06_compute.csv").set_index("phenomenon")
    assert verdicts.loc["zeroing the tail equals deleting it", "verdict"] == "reproduced"
    assert verdicts.loc["sparse conditioning saves computation", "verdict"] == "not reproduced"


def test_the_compression_sentence_says_when_compressed_networks_ran_slower():
    table = cost.compression_table(helpers.random_dit(SMALL), cost.leading_masks(8, [0.5, 0.25]), batches=(1, 2),
                                   repeats=1, device="cpu")
    costs = cost.layout_costs(lambda: DiT(SMALL))
    saved = [c for c in table.columns if c.startswith("time saved")]
    table.loc[table.index[1:], saved] = 0.1
    assert "ran slower" not in report.compression_sentence(table, "small", 1, costs)
    table.loc["keep 25% (r = 2)", "time saved, batch 2"] = -0.2
    sentence = report.compression_sentence(table, "small", 1, costs)
    assert "1 of the 4 compressed timings ran slower" in sentence and "(+20%)" in sentence
