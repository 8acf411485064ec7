"""The pose chapter's analyses: the person/pose split of c, its rows, Table 7 beside the paper, guidance, status rows."""
from dataclasses import replace
import pandas as pd
import pytest
import torch

from semantic_bottleneck.chapters.pose import rows, study as pose_study, tables as pose_tables
from semantic_bottleneck.settings.chapters import PoseSettings


def test_an_additive_c_splits_exactly_into_person_and_pose_with_no_interaction():
    g = torch.Generator().manual_seed(0)
    person, pose = torch.randn(4, 1, 6, generator=g), 2 * torch.randn(1, 5, 6, generator=g)
    c = (3.0 + person + pose).reshape(20, 6)  # c_pq = m + a_p + b_q, p-major
    parts = pose_study.two_way_variance(c, 4, 5)
    assert parts["interaction"].abs().max() < 1e-12
    centred = lambda x: x - x.mean(dim=(0, 1), keepdim=True)
    torch.testing.assert_close(parts["person"], centred(person).square().mean((0, 1)).double())
    torch.testing.assert_close(parts["pose"], centred(pose).square().mean((0, 1)).double())
    noisy = c + torch.randn(20, 6, generator=g)
    parts = pose_study.two_way_variance(noisy, 4, 5)
    torch.testing.assert_close(parts["person"] + parts["pose"] + parts["interaction"], parts["total"])
    with pytest.raises(ValueError, match="sources x poses = 3 x 5"):
        pose_study.two_way_variance(c, 3, 5)


def test_shares_and_head_attribution_add_up_and_name_the_largest_dimensions():
    g = torch.Generator().manual_seed(1)
    c = torch.randn(12, 8, generator=g) * 0.1
    c[:, 2] += 5.0  # the head: dimension 2, then 6
    c[:, 6] -= 3.0
    parts = pose_study.two_way_variance(c, 3, 4)
    head = pose_study.head_dimensions(c, 2)
    assert head.tolist() == [2, 6]
    shares = pose_study.variation_shares(parts, head)
    assert shares.iloc[1]["share of the total variance"] + shares.iloc[2]["share of the total variance"] == \
        pytest.approx(1.0)
    summed = shares[[f"{p} share" for p in pose_study.PARTS]].sum(axis=1)
    assert summed.tolist() == pytest.approx([1.0] * 3)
    table = pose_study.head_attribution(c, parts, head)
    assert list(table.index) == [2, 6] and table["mean c"].iloc[0] == pytest.approx(c[:, 2].mean().item())


def test_the_rows_cover_tau_and_every_part_and_share_under_each_reading():
    params = PoseSettings(tau=0.1, shares=[0.4, 0.9], parts=["tail", "head"], mask_readings=["per_sample", "global"],
                         rankings=["contribution"])
    specs = rows.pose_specs(params, 32)
    assert list(specs)[:4] == ["baseline", "tail_tau0.1", "tail_40pct", "tail_90pct"]
    assert len(specs) == 1 + 2 * (1 + 2 * 2) + 2 and "head_90pct@global" in specs
    ranked = specs["head_40pct_by_contribution"]
    assert (ranked.part, ranked.fraction, ranked.ranking, ranked.reading) == ("head", 0.4, "contribution", "per_sample")
    assert specs["tail_40pct"].ranking == "magnitude"
    with pytest.raises(ValueError, match="rankings must hold only silu, contribution"):
        rows.pose_specs(replace(params, rankings=["magnitude"]), 32)
    assert specs["head_90pct@global"].reading == "global" and specs["head_90pct@global"].fraction == 0.9
    assert specs["tail_tau0.1"].tau == 0.1 and specs["baseline"] is None
    assert rows.table7_row("threshold", 0.1, [0.9]) == "tail_tau0.1"
    assert rows.table7_row("fraction", 0.1, [0.4]) == "tail_40pct"
    with pytest.raises(ValueError, match="shares must include 0.4"):
        rows.table7_row("fraction", 0.1, [0.5])


def _summary(values):
    """A summary frame of rows -> {metric: (mean, ci95, delta, verdict)}."""
    return pd.DataFrame([{"row": row, "metric": metric, "mean": m, "ci95": ci, "delta": d, "delta_ci95": 0.0,
                          "noise_floor": 0.1, "verdict": v, "seeds": 2}
                         for row, metrics in values.items() for metric, (m, ci, d, v) in metrics.items()])


def test_table7_sets_our_rows_beside_the_papers_numbers():
    summary = _summary({"baseline": {"fid": (20.0, 1.0, 0.0, "baseline"), "ssim": (0.5, 0.01, 0.0, "baseline")},
                        "tail_tau0.1": {"fid": (21.0, 1.0, 1.0, "larger than noise"),
                                        "ssim": (0.49, 0.01, -0.01, "within noise")}})
    table = pose_tables.table7_beside_paper(summary, "tail_tau0.1")
    assert table.loc["baseline (ours: baseline)", "FID (paper)"] == "18.64"
    assert table.loc["tail_tau0.1_40pct (ours: tail_tau0.1)", "SSIM (paper)"] == "0.6792"
    assert table.loc["tail_tau0.1_40pct (ours: tail_tau0.1)", "FID Δ"] == "+1 (larger than noise)"
    labelled = pose_tables.table7_beside_paper(summary, "tail_tau0.1", ("kid", "fid", "lpips"),
                                          {"lpips": "LPIPS stand-in", "fid": "FID (not meaningful)"})
    assert labelled.loc["baseline (ours: baseline)", "KID (paper)"] == "not in Table 7"
    assert labelled.loc["baseline (ours: baseline)", "LPIPS stand-in (paper)"] == "0.1672"
    assert "FID (not meaningful) ours" in labelled.columns and "LPIPS (paper)" not in labelled.columns


def test_a_row_whose_change_doubles_with_guidance_interacts_with_it():
    def long(changes):
        """Per-seed values: baseline 10, 11, 12; each row the baseline plus its change."""
        out = []
        for seed, base in enumerate((10.0, 11.0, 12.0)):
            out.append({"row": "baseline", "replicate": seed, "metric": "fid", "value": base})
            out += [{"row": row, "replicate": seed, "metric": "fid", "value": base + change[seed]}
                    for row, change in changes.items()]
        return pd.DataFrame(out)

    unguided = long({"a": (1.0, 1.1, 0.9), "b": (0.5, 0.4, 0.6)})
    guided = long({"a": (2.0, 2.2, 1.8), "b": (0.5, 0.4, 0.6)})
    table = pose_study.guidance_interaction(guided, unguided, "fid")
    assert table.loc["a", "difference (with - without)"] == pytest.approx(1.0)
    assert table.loc["a", "verdict"] == "larger than seed spread"
    assert table.loc["b", "difference (with - without)"] == pytest.approx(0.0, abs=1e-12)
    assert table.loc["b", "verdict"] == "within seed spread"


def test_status_rows_stand_beside_the_x_mdpt_cells_of_tables_1_5_and_7():
    row = {"cosine_mean": 0.9999, "cosine_min": 0.999, "npr_mean_over_classes": 0.5, "npr_of_mean_vector": 0.49,
           "y_cosine_mean": 0.98, "y_npr_mean_over_classes": 0.3, "pr_mean_over_classes": 16.0, "pairs": 64}
    out = pd.DataFrame(pose_tables.statistics_status_rows({"tiny-pose": row, "xmdpt-b": row}))
    tiny, base = out[out["model"] == "tiny-pose"], out[out["model"] == "xmdpt-b"]
    assert set(tiny[tiny["table"] == "T1"]["column"]) == {"X-MDPT"} and set(tiny[tiny["table"] == "T5"]["column"]) == \
        {"X-MDPT-L"}
    assert set(base["table"]) == {"T5"} and set(base["column"]) == {"X-MDPT-B"}  # Table 1's X-MDPT is its L
    summary = _summary({"baseline": {"fid": (20.0, 1.0, 0.0, "baseline"), "removed_dims": (0.0, 0.0, 0.0, "")},
                        "tail_40pct": {"fid": (21.0, 1.0, 1.0, "larger than noise"),
                                       "removed_dims": (13.0, 0.0, 13.0, "")}})

    class Protocol:
        samples_per_seed, seeds, sampler = 48, 2, type("S", (), {"name": "tiny-pose-ddim-10"})

    t7 = pd.DataFrame(pose_tables.pruning_status_rows(summary, "tiny-pose", Protocol, "eval network", "tail_40pct"))
    assert list(zip(t7["row"], t7["column"])) == [("baseline", "fid"), ("tail_tau0.1_40pct", "fid")]
    assert "13.0 dims zeroed" in t7["reading"].iloc[1] and "larger than noise" in t7["reading"].iloc[1]
    marked = pd.DataFrame(pose_tables.pruning_status_rows(summary, "tiny-pose", Protocol, "eval network", "tail_40pct",
                                                     {"fid": "FID (not meaningful: 48 samples)"}))
    assert marked["reading"].iloc[0].startswith("FID (not meaningful: 48 samples), FID-48 on eval network")


def test_the_status_page_sets_pose_rows_beside_the_x_mdpt_cells(tmp_path):
    from semantic_bottleneck.book.status_page import status_table

    pd.DataFrame([
        {"table": "T1", "row": "cosine", "column": "X-MDPT", "model": "tiny-pose", "reading": "r", "value": 0.9999},
        {"table": "T1", "row": "cosine", "column": "X-MDPT", "model": "xmdpt-l", "reading": "r", "value": 0.9997},
        {"table": "T5", "row": "cosine_y_only", "column": "X-MDPT-S", "model": "xmdpt-s", "reading": "r", "value": 0.9},
        {"table": "T7", "row": "baseline", "column": "fid", "model": "xmdpt-l", "reading": "r", "value": 18.7},
    ]).assign(profile="paper", notebook="04_pose_guided").to_csv(tmp_path / "04_pose_guided.csv", index=False)
    table = status_table(tmp_path)
    done = table[table["this build"] != ""].set_index(["model", "table"])
    assert done.loc[("tiny-pose", "T1"), "paper"] == "0.9998 (X-MDPT)"  # the X-MDPT cell, not the ImageNet range
    assert done.loc[("tiny-pose", "T1"), "verdict"].startswith("analog: not comparable")
    assert done.loc[("xmdpt-l", "T1"), "verdict"].startswith("reproduced (Δ = -0.0001")  # Table 1's X-MDPT is the L
    assert done.loc[("xmdpt-s", "T5"), "verdict"].startswith("differs")
    assert done.loc[("xmdpt-l", "T7"), "verdict"].startswith("reproduced")  # 18.7 - 18.6372 within 0.15
    pending = table[(table["this build"] == "") & (table["table"] == "T7")]
    assert ("baseline", "fid") not in set(zip(pending["row"], pending["column"])) and len(pending) == 7
    assert "pose-guided chapter" in pending["verdict"].iloc[0]


def test_the_statistics_row_says_how_much_variance_the_small_coordinates_carry():
    g = torch.Generator().manual_seed(2)
    c = torch.zeros(50, 5)
    c[:, :2] = torch.randn(50, 2, generator=g) * 0.5  # small mean, all the variation
    c[:, 2:] = 5.0 + 0.001 * torch.randn(50, 3, generator=g)  # large and nearly constant
    row = pose_study.statistics_row(c, c - 5.0, torch.full((5,), 5.0), tau=0.1, tail_share=0.4)
    assert row["tail_variance_share"] == pytest.approx(1.0, abs=1e-4)  # the 2 smallest |mean| of 5 dimensions
    assert row["below_tau_of_mean_vector"] == pytest.approx((c.mean(0).abs() < 0.1).double().mean().item())
    table = pose_tables.table1_beside_paper({"tiny-pose": {**row, "pairs": 50}}, {"tiny-pose": "X-MDPT-L"})
    assert table.loc["cosine (y+t)", "X-MDPT (paper)"] == 0.9998 and table.loc["d", "X-MDPT-L (paper)"] == ""
    assert table.loc["d", "tiny-pose (this build, beside X-MDPT-L)"] == 5


def test_the_reach_table_labels_every_silu_aware_statistic_of_each_model():
    from semantic_bottleneck.condition.reach import reach_summary

    c = torch.tensor([[-8.0, 3.0, 0.5, -0.1, 0.2], [-7.0, 2.0, 0.4, 0.1, 0.3]])
    table = pose_tables.reach_table({"tiny-pose": reach_summary(c, torch.ones(5), 0.4)})
    assert len(table) == len(pose_tables.REACH_LABELS) and list(table.columns) == ["tiny-pose"]
    column = table["tiny-pose"]
    assert column.iloc[0] == 2 and column.iloc[1] == 1  # head {0, 1}; coordinate 0 (mean -7.5) is inert


def test_the_reach_figure_marks_the_head_and_the_sweep_keeps_each_ranking_apart():
    from types import SimpleNamespace

    from semantic_bottleneck.chapters.pose import figures
    from semantic_bottleneck.condition.prune import PruneSpec

    c = torch.tensor([[-8.0, 3.0, 0.5, -0.1, 0.2], [-7.0, 2.0, 0.4, 0.1, 0.3]])
    fig = figures.reach(c, torch.ones(5), 2, "tiny-pose")
    rest, head = fig.axes[0].collections[:2]
    assert len(rest.get_offsets()) == 3 and sorted(head.get_offsets()[:, 0].tolist()) == [-7.5, 2.5]
    summary = _summary({row: {"removed_dims": (2.0 * (row != "baseline"), 0.0, 0.0, ""), "ssim": (0.5, 0.0, 0.0, "")}
                        for row in ("baseline", "tail_40pct", "tail_40pct_by_contribution")})
    study = SimpleNamespace(summary=summary, dim=5, specs={
        "baseline": None, "tail_40pct": PruneSpec("tail", fraction=0.4),
        "tail_40pct_by_contribution": PruneSpec("tail", fraction=0.4, ranking="contribution")})
    points = figures.sweep_points({"ddim": study})
    assert set(points["series"]) == {"tail (per_sample), ddim", "tail (per_sample, by contribution), ddim"}
    ranked = points[points["series"].str.contains("contribution") & (points["metric"] == "ssim")]
    assert ranked["share"].tolist() == [0.0, 0.4]
