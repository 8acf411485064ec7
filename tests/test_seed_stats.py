"""Intervals, paired changes, noise floor and verdicts over seeds, on hand-computed cases."""
import math

import pandas as pd
import pytest

from semantic_bottleneck.chapters.pruning import tables as chapter_tables
from semantic_bottleneck.judge import paired_seeds


def long_frame(rows):
    """{row: [value per seed]} for one metric ("fid") as the long table `run_rows` returns."""
    return pd.DataFrame([{"row": row, "replicate": r, "metric": "fid", "value": v}
                         for row, values in rows.items() for r, v in enumerate(values)])


def test_interval_is_the_t_interval_of_the_mean():
    mean, half = paired_seeds._interval([1.0, 2.0, 3.0])
    assert mean == 2.0 and half == pytest.approx(4.302653 * 1.0 / math.sqrt(3), rel=1e-6)  # t(0.975, 2) * sd / sqrt(n)
    assert math.isnan(paired_seeds._interval([5.0])[1])


def test_noise_floor_is_the_rms_difference_over_all_seed_pairs():
    assert paired_seeds.noise_floor([1.0, 2.0, 4.0]) == pytest.approx(math.sqrt((1 + 9 + 4) / 3))
    assert math.isnan(paired_seeds.noise_floor([3.0]))


def test_verdicts_need_a_change_beyond_the_floor_and_an_interval_excluding_zero():
    summary = paired_seeds.summarise(long_frame({
        "baseline": [10.0, 11.0, 12.0],          # floor sqrt((1 + 4 + 1) / 3) = 1.41
        "shifted": [20.0, 21.1, 21.9],            # paired changes 10, 10.1, 9.9: far beyond the floor
        "small": [10.5, 11.5, 12.5],              # +0.5 every seed: excludes zero but below the floor
        "noisy": [16.0, 9.0, 16.0],               # changes +6, -2, +4: mean 2.7 above the floor, interval spans 0
    })).set_index("row")
    assert summary.loc["baseline", "verdict"] == "baseline" and summary.loc["baseline", "delta"] == 0
    assert summary.loc["shifted", "delta"] == pytest.approx(10.0)
    assert summary.loc["shifted", "noise_floor"] == pytest.approx(math.sqrt(2))
    assert summary.loc["shifted", "verdict"] == "larger than noise"
    assert summary.loc["small", "verdict"] == "within noise"
    assert summary.loc["noisy", "verdict"] == "within noise"


def test_one_seed_gives_no_verdict_and_a_float_rounding_change_never_counts():
    one = paired_seeds.summarise(long_frame({"baseline": [10.0], "row": [30.0]})).set_index("row")
    assert one.loc["row", "verdict"] == "" and math.isnan(one.loc["row", "noise_floor"])
    same = paired_seeds.summarise(long_frame({"baseline": [7.0, 7.0], "row": [7.0 + 1e-12, 7.0 + 1e-12]}))
    assert same.set_index("row").loc["row", "verdict"] == "within noise"


def test_tables_put_the_papers_number_of_the_models_own_table_beside_ours():
    summary = paired_seeds.summarise(long_frame({"baseline": [7.0, 7.2], "tail_tau0.01_first_step": [7.1, 7.3]}))
    repa = chapter_tables.beside_paper(summary, ["fid"], "repa-xl")
    lightning = chapter_tables.beside_paper(summary, ["fid"], "lightningdit-xl")
    assert repa.loc["Baseline", "FID (paper: REPA, Table 2)"] != lightning.loc["Baseline", "FID (paper: LightningDiT, Table 3)"]
    table = chapter_tables.beside_paper(summary, ["fid"], "lightningdit-xl-64ep")
    assert not any("paper" in column for column in table)
    assert lightning.loc["Baseline", "FID (ours)"].startswith("7.1 ±")
    assert lightning.loc["Tail τ=0.01 (t_0)", "ΔFID"].startswith("+0.1 (")
