"""Metrics on hand-checkable cases: precision/recall, Frechet distance, IS, agreement, the judge."""

import pytest
import torch

from semantic_bottleneck.judge import features as feature_extractors, metrics
from semantic_bottleneck.tiny.classes.classifier import ClassifierConfig, EvalClassifier



def test_precision_recall_on_a_hand_computed_case():
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [5.0], [3.9]])
    # k = 1 radii: real -> 1, 1, 1, 1; fake -> 3.4 (0.5), 1.1 (5.0), 1.1 (3.9)
    # precision: 0.5 (within 0.5 of 0) and 3.9 (0.9 of 3) are inside, 5.0 (2.0 from 3) is not -> 2/3
    # recall: 0, 1, 2 lie within 3.4 of 0.5; 3 lies within 3.4 of 0.5 too -> 4/4
    precision, recall = metrics.precision_recall(real, fake, k=1)
    assert precision == pytest.approx(2 / 3) and recall == 1.0
    # k = 2 for the real set: radii 2, 1, 1, 2 -> 5.0 is 2.0 from 3 (radius 2): inside -> 3/3
    precision, _ = metrics.precision_recall(real, torch.tensor([[0.5], [5.0], [3.9]]), k=2)
    assert precision == 1.0


def test_precision_recall_refuse_statistics_only_and_tiny_sets():
    with pytest.raises(ValueError, match="not statistics only"):
        metrics.precision_recall(None, torch.zeros(5, 2))
    with pytest.raises(ValueError, match="k must be smaller"):
        metrics.precision_recall(torch.zeros(3, 2), torch.zeros(5, 2), k=3)


def test_frechet_distance_of_two_gaussians_by_hand_and_against_torchmetrics():
    # 1-D: (0 - 1)^2 + 1 + 4 - 2 sqrt(1 * 4) = 2
    assert metrics.frechet_distance([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(2.0)
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(300, 6, generator=g), 1.5 * torch.randn(200, 6, generator=g) + 0.2
    from torchmetrics.image.fid import FrechetInceptionDistance

    fid = FrechetInceptionDistance(feature=metrics.PassThrough(6))
    fid.update(real, real=True)
    fid.update(fake, real=False)
    mine = metrics.frechet_distance(*metrics.feature_stats(real), *metrics.feature_stats(fake))
    assert mine == pytest.approx(fid.compute().item(), rel=1e-4)


class Identity:
    """Features are the inputs; logits are the first three coordinates."""

    name, num_features = "identity", 4

    def __call__(self, images):
        return images, images[:, :3]


def test_judge_scores_a_set_identical_to_the_reference_as_perfect():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(60, 4, generator=g)
    judge = metrics.Judge(Identity(), feature_extractors.ClassifierAgreement(), metrics.Reference.from_features(real, "r"),
                          kid_subsets=5, kid_subset_size=30)
    scores = judge.score(judge.records(real, torch.zeros(60, dtype=torch.long)))
    assert scores["fid"] == pytest.approx(0.0, abs=1e-3)
    assert scores["precision"] == 1.0 and scores["recall"] == 1.0
    other = judge.score(judge.records(torch.randn(60, 4, generator=g), torch.zeros(60, dtype=torch.long)))
    assert abs(other["kid"]) < 3 * other["kid_std"]  # unbiased MMD of a fresh draw: zero in expectation
    shifted = judge.score(judge.records(real + 3.0, torch.zeros(60, dtype=torch.long)))
    assert shifted["kid"] > 10 * abs(other["kid"]) and shifted["fid"] == pytest.approx(4 * 9.0, rel=1e-3)
    assert scores["class_agreement"] == pytest.approx((real[:, :3].argmax(1) == 0).float().mean().item())


def test_inception_score_is_1_for_one_class_and_k_for_k_confident_balanced_classes():
    judge = metrics.Judge(Identity(), feature_extractors.ClassifierAgreement(),
                          metrics.Reference.from_features(torch.randn(20, 4), "r"), kid_subsets=2, kid_subset_size=10)
    confident = torch.zeros(30, 4)
    confident[torch.arange(30), torch.arange(30) % 3] = 50.0  # logits: one of 3 classes, balanced
    assert judge.score(judge.records(confident, torch.arange(30) % 3))["is"] == pytest.approx(3.0, rel=1e-4)
    assert judge.score(judge.records(torch.zeros(30, 4), torch.zeros(30)))["is"] == pytest.approx(1.0)
    assert judge.score(judge.records(confident, torch.arange(30) % 3))["class_agreement"] == 1.0


def test_a_statistics_only_reference_gives_fid_without_precision_recall():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(100, 4, generator=g), torch.randn(80, 4, generator=g) + 1
    mu, sigma = metrics.feature_stats(real)
    judge = metrics.Judge(Identity(), feature_extractors.ClassifierAgreement(), metrics.Reference("stats", mu, sigma, 100, None, False))
    scores = judge.score(judge.records(fake, torch.zeros(80)))
    assert scores["fid"] == pytest.approx(metrics.frechet_distance(mu, sigma, *metrics.feature_stats(fake)))
    assert "precision" not in scores and "kid" not in scores


def test_classifier_features_read_the_evaluation_classifier():
    torch.manual_seed(0)
    classifier = EvalClassifier(ClassifierConfig(width=4)).eval()
    extractor = feature_extractors.ClassifierFeatures(classifier)
    images = torch.rand(5, 3, 16, 16) * 2 - 1
    features, logits = extractor(images)
    assert features.shape == (5, 16) and extractor.num_features == 16
    torch.testing.assert_close(logits, classifier(images))


def test_records_split_by_rows():
    records = {"features": torch.arange(12.0).reshape(6, 2), "agreement": torch.arange(6.0)}  # (6, 2)
    both = metrics.concat_records([records, records])
    assert both["features"].shape == (12, 2)
    assert metrics.subset_records(both, [1, 7])["agreement"].tolist() == [1.0, 1.0]
