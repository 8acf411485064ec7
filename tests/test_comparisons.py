"""Comparisons with the paper compare like with like: IS splits, the pruned branch's counts, paper columns, labels."""
import pandas as pd
import pytest
import torch

from semantic_bottleneck import registry
from semantic_bottleneck.chapters.pruning import figures, report, tables as chapter_tables
from semantic_bottleneck.chapters.sparsity import study as sparsity_study
from semantic_bottleneck.judge.metrics import Judge, Reference
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study.protocol import Protocol, Study


class Confident:
    """An extractor whose logits name class i mod 10 with certainty; features are random."""

    name, num_features = "confident", 4

    def __call__(self, images):
        n = len(images)
        return torch.randn(n, 4), 50.0 * torch.nn.functional.one_hot(torch.arange(n) % 10, 10).float()


class Zero:
    """A per-sample scorer that scores 0."""

    column, name = "zero", "zero"

    def __call__(self, images, conditions, logits, indices=None):
        return torch.zeros(len(images))


def test_inception_score_is_given_over_one_split_and_over_ten():
    judge = Judge(Confident(), Zero(), Reference.from_features(torch.randn(30, 4), "random"), kid_subsets=2,
                  kid_subset_size=10)
    scores = judge.score(judge.records(torch.zeros(20, 3, 4, 4), torch.zeros(20)))
    assert scores["is"] == pytest.approx(10.0, rel=1e-4)  # 10 classes equally often, each image certain
    assert scores["is10"] <= 2.0 + 1e-4  # a split of 2 images holds at most 2 classes
    assert "10 random splits" in judge.protocol()["IS"]


def test_the_paper_is_set_beside_the_ten_split_reading_and_its_status_row_says_is():
    long = pd.DataFrame([{"row": r, "replicate": s, "metric": m, "value": v + s} for r in ("baseline", "tail_tau0.01_first_step")
                         for s in range(2) for m, v in (("is", 50.0), ("is10", 40.0), ("fid", 7.0))])
    from semantic_bottleneck.judge.paired_seeds import summarise

    summary = summarise(long)
    table = chapter_tables.beside_paper(summary, ["is", "is10"], "repa-xl")
    assert "IS (10 splits) (paper: REPA, Table 2)" in table.columns
    assert not any(c.startswith("IS (1 split) (paper") for c in table.columns)
    protocol = Protocol("repa-xl", preset("repa-ode-50"), 100, 2)
    rows = chapter_tables.status_rows(summary, "repa-xl", protocol, "x", "clip", 1152, "threshold", "per_sample")
    is_rows = [r for r in rows if r["column"] == "is"]
    assert is_rows and all(r["value"] in (40.5,) for r in is_rows)  # the 10-split mean over seeds


def test_two_grid_rows_removing_the_same_share_keep_a_line_each():
    from semantic_bottleneck.condition.prune import PruneSpec

    specs = {"baseline": None, "head_tau5.0_every_step": PruneSpec("head", fraction=1 / 128),
             "head_tau1.0_every_step": PruneSpec("head", fraction=1 / 128)}
    long = pd.DataFrame([{"row": r, "replicate": s, "metric": m, "value": v} for r in specs for s in range(2)
                         for m, v in (("removed_dims", 0.0 if r == "baseline" else 1.0), ("fid", 1.0))])
    from semantic_bottleneck.judge.paired_seeds import summarise

    study = Study("tiny-class", None, specs, long, summarise(long), {r: torch.zeros(1, 3, 2, 2) for r in specs}, {},
                  128, None)
    assert len(figures.grid_rows(study, "head")) == 3


def test_labels_name_what_runs():
    dit = registry.model("dit-xl")
    assert preset(dit.sampler).guidance_scale == 1.5 and "ema" in dit.source.decoder.name
    assert "cfg 1.5" in dit.facts.sampler and "sd-vae-ft-ema" in dit.facts.sampler
    sit = registry.model("sit-xl")
    assert preset(sit.sampler).guidance_scale == 4.0 and "mse" in sit.source.decoder.name
    assert registry.model("diffusers-dit-xl").source.decoder.name == "facebook/DiT-XL-2-256/vae"
    assert registry.model("lightningdit-xl-64ep").paper_tables is None  # the paper has no 64-epoch row


def test_a_class_that_barely_moves_is_called_near_trivial_to_separate():
    points = torch.tensor([[0.0, 0.0], [0.0, 0.001], [1.0, 0.0], [1.0, 0.001]]).numpy()
    labels = torch.tensor([0, 0, 1, 1]).numpy()
    assert sparsity_study.spread_ratio(points, labels) == pytest.approx(0.0005)


def test_the_head_sweep_says_where_the_agreement_itself_breaks_not_only_where_fid_moves():
    from semantic_bottleneck.condition.prune import PruneSpec
    from semantic_bottleneck.judge.paired_seeds import summarise

    counts = {"baseline": 0, "head_1": 1, "head_2": 2, "head_4": 4}
    specs = {r: None if n == 0 else PruneSpec("head", fraction=n / 64) for r, n in counts.items()}
    fid = {0: 100.0, 1: 200.0, 2: 300.0, 4: 900.0}  # every pruned row moves FID far beyond the baseline's spread
    agreement = {0: 0.90, 1: 0.90, 2: 0.89, 4: 0.40}  # agreement only breaks at 4 coordinates
    long = pd.DataFrame([{"row": r, "replicate": s, "metric": m, "value": v}
                         for r, n in counts.items() for s in range(3)
                         for m, v in (("removed_dims", float(n)), ("fid", fid[n] + s),
                                      ("agree", agreement[n] + s / 100))])
    study = Study("tiny-class", None, specs, long, summarise(long), {}, {}, 64, None)
    text = report.where_it_hurts(study, "fid", "agree")
    assert "the first share beyond noise is 1.6% (1 of 64), where FID changes by +100" in text
    assert "Agree itself first moves beyond noise at 4 of 64 coordinates (0.410)" in text
    quiet = long.assign(value=[v if m != "agree" else 0.9 + s / 100
                               for m, v, s in zip(long.metric, long.value, long.replicate)])
    assert "stays within noise at every share tried" in report.where_it_hurts(
        Study("tiny-class", None, specs, quiet, summarise(quiet), {}, {}, 64, None), "fid", "agree")


def test_a_sweep_whose_fid_stays_quiet_still_says_where_the_agreement_breaks():
    from semantic_bottleneck.condition.prune import PruneSpec
    from semantic_bottleneck.judge.paired_seeds import summarise

    counts = {"baseline": 0, "sweep_tail_a": 25, "sweep_tail_b": 42}
    specs = {r: None if n == 0 else PruneSpec("tail", fraction=n / 64) for r, n in counts.items()}
    agreement = {0: 0.93, 25: 0.93, 42: 0.74}
    long = pd.DataFrame([{"row": r, "replicate": s, "metric": m, "value": v}
                         for r, n in counts.items() for s in range(3)
                         for m, v in (("removed_dims", float(n)), ("fid", 145.0 + s), ("agree", agreement[n] + s / 100))])
    text = report.where_it_hurts(Study("tiny-class", None, specs, long, summarise(long), {}, {}, 64, None), "fid", "agree")
    assert "changes FID within noise at every share tried. Agree itself first moves beyond noise at 42 of 64" in text
