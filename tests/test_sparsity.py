"""The sparsity chapter's statistics, head/tail split, separation score and dynamics helpers on hand-built data."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.chapters.sparsity import report as sparsity_report, study as sparsity_study, tables as sparsity
from semantic_bottleneck.chapters.sparsity import figures as plot_sparsity
from semantic_bottleneck.condition import measure, separation
from semantic_bottleneck.condition.embedding import ConditionEmbedding
from semantic_bottleneck.nets.dit import DiT, DiTConfig
from semantic_bottleneck.paper import paper_value
from semantic_bottleneck.tiny.train import TrainConfig, load_or_train


def embedding(table, t0=999.0, d=None, seed=0):
    """A ConditionEmbedding with the given class table (K, D) plus a null row and a random timestep MLP."""
    g = torch.Generator().manual_seed(seed)
    d = table.shape[1]
    full = torch.cat([table, torch.zeros(1, d)])
    return ConditionEmbedding(full, 0.1 * torch.randn(16, 256, generator=g), torch.zeros(16),
                              0.1 * torch.randn(d, 16, generator=g), torch.zeros(d), info={"t0": t0})


# ----------------------------------------------------------------------------- PR, thresholds, variance

@pytest.mark.parametrize("k", [1, 4, 13])
def test_k_equal_entries_give_npr_k_over_d_in_both_readings(k):
    c = torch.zeros(3, 40)
    c[:, :k] = -1.5
    row = sparsity_study.sparsity_row(c)
    assert row["pr_mean_over_classes"] == pytest.approx(k)
    assert row["npr_mean_over_classes"] == pytest.approx(k / 40)
    assert row["npr_of_mean_vector"] == pytest.approx(k / 40)


def test_npr_readings_differ_when_classes_use_different_dimensions():
    c = torch.eye(4)  # each class one-hot on its own dimension; the mean vector is flat
    row = sparsity_study.sparsity_row(c)
    assert row["npr_mean_over_classes"] == pytest.approx(0.25)
    assert row["npr_of_mean_vector"] == pytest.approx(1.0)


def test_below_and_above_conventions_are_strict_and_complementary_off_the_threshold():
    v = torch.tensor([0.001, -0.005, 0.01, 2.0, -6.0])
    assert measure.below_tau(v, 0.01).item() == pytest.approx(2 / 5)
    assert measure.above_tau(v, 0.01).item() == pytest.approx(2 / 5)  # 0.01 itself is neither
    assert measure.above_tau(v, 5.0).item() == pytest.approx(1 / 5)
    assert measure.below_tau(v, 5.0).item() == pytest.approx(4 / 5)
    rows = torch.stack([v, v / 10])  # per row along the last axis
    assert measure.below_tau(rows, 0.01).tolist() == pytest.approx([0.4, 0.6])
    for fn in (measure.below_tau, measure.above_tau):
        with pytest.raises(ValueError, match="tau must be > 0"):
            fn(v, 0)


def test_threshold_curve_has_both_conventions_for_both_readings():
    c = torch.tensor([[0.001, 0.5, 3.0, 0.02], [0.003, 0.5, 3.0, -0.02]])
    curve = sparsity_study.threshold_curve(c, [0.01, 1.0]).set_index("tau")
    assert curve.loc[1.0, "above (mean vector)"] == pytest.approx(0.25)
    # the mean vector's last coordinate is 0: below 0.01 for the mean vector, not for either class
    assert curve.loc[0.01, "below (mean vector)"] == pytest.approx(0.5)
    assert curve.loc[0.01, "below (mean over classes)"] == pytest.approx(0.25)
    assert curve.loc[1.0, "above (mean over classes)"] == pytest.approx(0.25)


def test_mean_vector_and_class_readings_of_a_count_can_differ():
    c = torch.tensor([[0.5, 1.0], [-0.5, 1.0]])  # mean vector (0, 1): one coordinate below 0.01
    curve = sparsity_study.threshold_curve(c, [0.01]).iloc[0]
    assert curve["below (mean vector)"] == pytest.approx(0.5)
    assert curve["below (mean over classes)"] == pytest.approx(0.0)


def test_variance_shares_on_a_planted_head():
    c = torch.zeros(2, 100)
    c[:, 7] = torch.tensor([2.0, -2.0])  # variance 4
    c[:, 42] = torch.tensor([1.0, -1.0])  # variance 1
    c[:, 50:] = 3.0  # large but constant across classes: no variance
    row = sparsity_study.variance_row(c)
    assert row["mean_variance"] == pytest.approx(5 / 100)
    assert row["variance_top1pct"] == pytest.approx(0.8)  # ceil(0.01 * 100) = 1 dimension
    assert row["variance_top2pct"] == pytest.approx(1.0)
    assert row["dims_for_half_the_variance"] == 1 and row["dims_for_90pct_of_variance"] == 2


def test_top_share_rounds_up_and_rejects_bad_fraction():
    values = torch.tensor([5.0, 3.0, 1.0, 1.0])
    assert measure.top_share(values, 0.1) == pytest.approx(0.5)  # ceil(0.4) = 1 entry
    assert measure.dims_for_share(values, 0.8) == 2
    with pytest.raises(ValueError, match="fraction must be in"):
        measure.top_share(values, 0)
    with pytest.raises(ValueError, match="at least 2 class rows"):
        measure.dimension_variance(torch.ones(1, 3))


def test_paper_points_are_read_from_tables_2_and_3():
    points = sparsity.paper_threshold_points()
    repa = sparsity.distinct_points(points[points["model"] == "REPA"]).set_index(["side", "tau"])["count"]
    assert repa.to_dict() == {("below", 0.01): 448, ("below", 0.02): 762, ("below", 0.05): 1110,
                              ("below", 5.0): 1149, ("above", 5.0): 2, ("above", 1.0): 8}
    assert repa[("below", 0.01)] == paper_value("T2", "tail_tau0.01_every_step", "removed_dims")
    assert set(points["model"]) == {"REPA", "MG", "LightningDiT"}
    assert (points["d"] == 1152).all()


def test_counts_beside_paper_recover_a_planted_vector_and_its_matched_tau():
    c = torch.full((1, 1152), 0.5)
    c[0, :448] = 0.005  # exactly the paper's 448 coordinates below 0.01
    c[0, 448:450] = 7.0  # two above 5
    table = sparsity.counts_beside_paper({"planted": c}).reset_index()
    below = table[(table["paper model"] == "REPA") & (table["count"] == "|c_i| < 0.01")].iloc[0]
    assert below["this build (mean vector)"] * 1152 == pytest.approx(448)
    above = table[(table["count"] == "|c_i| > 5")].iloc[0]
    assert above["this build (mean over classes)"] * 1152 == pytest.approx(2)
    assert sparsity_study.matched_tau(c[0], "below", 0.3) == pytest.approx(0.005)


def test_status_rows_use_paper_columns_and_the_t3_rows_of_mg():
    c = torch.full((3, 8), 0.5)
    c[:, 0] = 2.0
    rows = {name: sparsity_study.sparsity_row(c) for name in ("tiny-class", "mg-xl")}
    frame = pd.DataFrame(sparsity.status_rows(rows, {name: c for name in rows}))
    t1 = frame[frame["table"] == "T1"]
    assert set(t1["column"]) == {"tiny-class", "MG"} and set(t1["reading"]) == {"of the mean vector"}
    assert set(frame[frame["table"] != "T1"]["column"]) == {"removed_dims"}
    assert set(frame[frame["table"] == "T3"]["row"]) == {"MG/tail_tau0.01_every_step"}
    tiny = frame[(frame["model"] == "tiny-class") & (frame["row"] == "head_tau1.0_every_step")]
    assert tiny["value"].tolist() == [1.0, 1.0]  # one coordinate above 1, under both readings
    assert frame["value"].notna().all()


# ----------------------------------------------------------------------------- head / tail and separation

def test_subsets_pick_magnitude_head_variance_head_and_a_disjoint_tail():
    c = torch.full((4, 50), 0.01)
    c[:, [3, 7]] = 5.0  # large, identical for every class
    c[:, 10] = torch.tensor([1.0, -1.0, 0.5, -0.5])  # class information, small magnitude on average
    c[:, 11] = torch.tensor([0.8, -0.8, 0.3, -0.3])
    subsets = separation.dimension_subsets(c, head_fraction=0.04)  # k = 2
    assert subsets["head"].tolist() == [3, 7]
    assert subsets["variance head"].tolist() == [10, 11]
    assert set(subsets["tail"].tolist()) == set(range(50)) - {3, 7}
    assert len(subsets["random"]) == 2 and len(subsets["full"]) == 50
    with pytest.raises(ValueError, match="head_fraction must be in"):
        separation.dimension_subsets(c, 1.0)


def test_separation_score_on_planted_separable_and_unseparable_points():
    rng = np.random.default_rng(0)
    classes, groups = 5, 6
    labels = np.tile(np.arange(classes), groups)
    group = np.repeat(np.arange(groups), classes)
    centres = 10 * rng.standard_normal((classes, 8))
    separable = centres[labels] + 0.1 * rng.standard_normal((len(labels), 8))
    s = separation.separation_scores(separable, labels, group)
    assert s["knn_accuracy"] == 1.0 and s["silhouette"] > 0.9 and s["chance"] == pytest.approx(0.2)
    noise = rng.standard_normal((len(labels), 8))  # no class structure at all
    u = separation.separation_scores(noise, labels, group)
    assert u["knn_accuracy"] < 0.5 and u["silhouette"] < 0.1
    with pytest.raises(ValueError, match="groups must have at least 2"):
        separation.knn_accuracy(separable, labels, np.zeros(len(labels)))


def test_timestep_is_not_allowed_to_identify_a_class():
    # each class is recognisable only by its timestep-specific offset: left-out timesteps must not be guessable
    labels = np.tile(np.arange(4), 3)
    group = np.repeat(np.arange(3), 4)
    points = np.eye(12)  # every point orthogonal to every other: no class shares anything across timesteps
    assert separation.knn_accuracy(points, labels, group, neighbours=1) <= 0.5


@pytest.mark.parametrize("t0, expected", [(999, (999.0, 899.0)), (1.0, (1.0, 0.9)), (0.0, (0.0, 0.1))])
def test_schedule_window_runs_from_t0_toward_data(t0, expected):
    ts = sparsity_study.schedule_window(t0, 0.1, 5)
    assert (ts[0], ts[-1]) == pytest.approx(expected) and len(ts) == 5
    if t0 > 1:  # integer-time models only ever receive whole timesteps
        assert (ts == ts.round()).all()
    with pytest.raises(ValueError, match="window must be in"):
        sparsity_study.schedule_window(t0, 0.0, 5)


def test_class_points_and_tables_on_a_model_whose_head_carries_the_classes():
    k, d = 6, 24
    table = 0.001 * torch.randn(k, d, generator=torch.Generator().manual_seed(1))
    table[:, :2] += 3.0 * torch.randn(k, 2, generator=torch.Generator().manual_seed(2))  # class info in dims 0, 1
    emb = embedding(table)
    emb.t_weight2[:2] = 0  # the timestep does not move the head
    emb.t_bias2[:2] = 20.0  # and makes it the largest-magnitude pair
    points, labels, groups = sparsity_study.class_points(emb, [999, 990, 980], np.arange(k))
    assert points.shape == (3 * k, d) and labels.tolist() == list(range(k)) * 3 and groups.tolist() == [0] * k + [1] * k + [2] * k
    subsets = sparsity_study.first_step_subsets(emb, head_fraction=2 / d)
    assert subsets["head"].tolist() == [0, 1]
    scores = sparsity_study.separation_table(emb, subsets, [0.1], 4, np.arange(k)).loc[0.1]
    assert scores.loc["head", "knn_accuracy"] == 1.0
    assert scores.loc["head", "knn_accuracy"] > scores.loc["tail", "knn_accuracy"]
    table = scores.assign(window=0.1).set_index("window", append=True).reorder_levels(["window", "subset"])
    assert scores.loc["head", "points"] == 4 * k
    text = sparsity_report.describe_heads({"m": table}, {"m": subsets})
    assert "the magnitude head (2 dims) shares 2 with the variance head." in text


def test_pick_classes_keeps_all_or_draws_sorted():
    assert sparsity_study.pick_classes(5, 10).tolist() == [0, 1, 2, 3, 4]
    picked = sparsity_study.pick_classes(1000, 20, seed=3)
    assert len(set(picked.tolist())) == 20 and (np.diff(picked) > 0).all()


def test_paper_path_reads_a_registered_checkpoint_from_the_weights_cache(tmp_path, monkeypatch):
    state = DiT(DiTConfig(hidden_size=32, depth=1, num_heads=2, num_classes=12)).state_dict()
    state["projectors.0.0.weight"] = torch.zeros(2, 2)  # REPA layout: continuous t, t0 = 1 (noise)
    path = tmp_path / "repa-xl" / registry.model("repa-xl").source.weights.mirrors[0].filename
    path.parent.mkdir()
    torch.save(state, path)
    monkeypatch.setenv("SEMANTIC_BOTTLENECK_WEIGHTS", str(tmp_path))
    emb = registry.load_embedding("repa-xl", "paper")
    c = sparsity_study.first_step_c(emb)
    assert emb.info["t0"] == 1.0 and c.shape == (12, 32)
    rows = {"repa-xl": sparsity_study.sparsity_row(c)}
    status = pd.DataFrame(sparsity.status_rows(rows, {"repa-xl": c}))
    assert "REPA" in set(status["column"]) and {"repa-xl"} == set(status["model"])
    table = sparsity_study.separation_table(emb, sparsity_study.first_step_subsets(emb, 0.1), [0.5], 3, np.arange(12))
    assert table["t to"].iloc[0] == pytest.approx(0.5)


# ----------------------------------------------------------------------------- dynamics

def test_variant_configs_change_one_thing_each():
    base = TrainConfig(steps=4500, log_every=100, weight_decay=0.0)
    configs = sparsity_study.variant_configs(base, 300, [50, 200], [0.1], 25, seeds=[0, 7])
    assert configs[sparsity_study.BASELINE] == replace(base, steps=300, log_every=25)
    assert configs["baseline, seed 7"] == replace(base, steps=300, log_every=25, seed=7)
    assert "baseline, seed 0" not in configs  # the baseline's own seed is the baseline
    assert configs["50 timesteps"] == replace(base, steps=300, log_every=25, num_train_timesteps=50)
    assert configs["weight decay 0.1"] == replace(base, steps=300, log_every=25, weight_decay=0.1)
    changed = sparsity.runs_table(configs)["changed"]
    assert changed.to_dict() == {"baseline": "nothing", "50 timesteps": "num_train_timesteps",
                                 "200 timesteps": "num_train_timesteps", "weight decay 0.1": "weight_decay",
                                 "baseline, seed 7": "seed"}
    with pytest.raises(ValueError, match="timestep_counts must lie in"):
        sparsity_study.variant_configs(base, 300, [0], [], 25)
    with pytest.raises(ValueError, match="steps must be >= log_every"):
        sparsity_study.variant_configs(base, 10, [50], [], 25)


def test_prefix_agreement_compares_only_common_steps():
    main = pd.DataFrame({"step": [10, 20, 30], **{k: [0.5, 0.4, 0.3] for k in sparsity_study.LOGGED}})
    short = pd.DataFrame({"step": [5, 10, 20], **{k: [0.9, 0.5, 0.45] for k in sparsity_study.LOGGED}})
    agreement = sparsity_study.prefix_agreement(main, short)
    assert agreement == {"steps_compared": 2, "max_abs_difference": pytest.approx(0.05)}


def test_a_short_run_is_the_first_steps_of_a_long_run(tmp_cache):
    """The notebook's claim that the main log extends every short run (constant lr, seeded draws)."""
    base = TrainConfig(model=DiTConfig(hidden_size=16, depth=1, num_heads=2, num_classes=4), steps=6,
                       batch_size=8, log_every=3)
    _, long_log, _ = load_or_train(base, progress=False)
    _, short_log, _ = load_or_train(replace(base, steps=3), progress=False)
    assert sparsity_study.prefix_agreement(long_log, short_log) == {"steps_compared": 1, "max_abs_difference": 0.0}
    assert long_log["loss"].iloc[0] == short_log["loss"].iloc[0]


def test_seed_spread_sets_what_counts_as_a_difference():
    table = pd.DataFrame({"nPR (mean over classes)": [0.40, 0.43, 0.45, 0.38], "steps": 10, "‖c‖² share, top 5%": 0.5,
                          "median |c_i|": 0.1}, index=["baseline", "baseline, seed 1", "50 timesteps", "weight decay 0.1"])
    assert sparsity_study.seed_spread(table) == pytest.approx(0.03)
    assert sparsity_study.seed_spread(table.drop("baseline, seed 1")) is None


def test_end_of_run_table_and_describe_mention_every_run():
    model = DiT(DiTConfig(hidden_size=16, depth=1, num_heads=2, num_classes=4))
    log = pd.DataFrame({"step": [5, 10, 15], "loss": [1.0, 0.8, 0.7], **{k: [0.9, 0.8, 0.7] for k in sparsity_study.LOGGED}})
    runs = {sparsity_study.BASELINE: (model, log, 1.0), "50 timesteps": (model, log, 1.0),
            "weight decay 0.1": (model, log, 1.0)}
    table = sparsity.end_of_run_table(runs)
    assert list(table.index) == list(runs) and table["steps"].tolist() == [15, 15, 15]
    text = sparsity_report.describe_dynamics(table, sparsity_study.prefix_agreement(log, log))
    assert "differ by at most 0 in the logged cosine / nPR over 3 logged steps, so the main log extends" in text
    no_overlap = {"steps_compared": 0, "max_abs_difference": float("nan")}
    assert "extends" not in sparsity_report.describe_dynamics(table, no_overlap)


# ----------------------------------------------------------------------------- figures

def test_every_figure_draws(monkeypatch):
    c = torch.rand(5, 16) + 0.01
    vectors = {"a": c, "b": 2 * c}
    curves = {n: sparsity_study.threshold_curve(v, sparsity_study.tau_grid(v, 10)) for n, v in vectors.items()}
    log = pd.DataFrame({"step": [1, 2], **{k: [0.9, 0.8] for k in sparsity_study.LOGGED}})
    scores = pd.DataFrame({"dims": [16, 2], "knn_accuracy": [1.0, 0.5], "silhouette": [0.5, 0.1]}, index=["full", "head"])
    xy = {"full": np.random.rand(10, 2), "head": np.random.rand(10, 2)}
    figures = [plot_sparsity.magnitude_histograms(vectors), plot_sparsity.raw_vectors(vectors),
               plot_sparsity.threshold_curves(curves, sparsity.paper_threshold_points()),
               plot_sparsity.variance_profile(vectors), plot_sparsity.dimension_variance_bars("a", c),
               plot_sparsity.tsne_panels("t", xy, np.arange(10) % 3, scores),
               plot_sparsity.training_curves({"x": log, "y": log}, "title", baseline="x")]
    drawn = [any(ax.lines or ax.patches or ax.collections or ax.images for ax in f.axes) for f in figures]
    assert drawn == [True] * len(figures)  # every figure has data on it, not only empty axes


def test_figure_claims_read_the_paper_text_numbers_and_count_this_build():
    c = torch.full((4, 100), 0.005)
    c[:, :3] = 2.0  # 3 dims above 1, the other 97 below 0.01
    c[0, 5] = 0.5  # one class differs in one dimension: all variance there
    variances = sparsity.variance_beside_each_other({"m": c})
    log = pd.DataFrame({"step": [100, 4500], "npr_mean_over_classes": [0.7, 0.2]})
    claims = sparsity.figure_claims({"m": c}, variances, log).reset_index().set_index("claim")
    assert claims.loc["dimensions of the mean c above 0.1 / above 1 (Sec. 2.5)", "this build"] == "4 / 3 of 100"
    assert claims.loc["dimensions of the mean c above 0.1 / above 1 (Sec. 2.5)", "paper"] == "10 to 20 / ~10 of 1152"
    assert claims.loc["share of the mean c below 0.01 (Fig. 11)", "this build"] == "96.0%"
    assert claims.loc["share of the mean c below 0.01 (Fig. 11)", "paper"] == ">80%"
    assert claims.loc["dimensions holding the across-class variance (Fig. 9b)", "this build"].startswith("1 of 100 hold 90%")
    assert claims.loc["nPR of c early -> late in training (Fig. 12)", "this build"] == "70.0% (step 100) -> 20.0% (step 4500)"
