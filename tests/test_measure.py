"""Statistics of c on hand-checkable vectors."""
import math

import pytest
import torch

from semantic_bottleneck.condition import measure


def test_orthogonal_vectors_have_cosine_zero():
    summary = measure.cosine_summary(torch.eye(4))
    assert summary == {"cosine_mean": 0.0, "cosine_min": 0.0}


def test_cosine_reductions_differ_and_ignore_the_diagonal():
    vectors = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    s = 1 / math.sqrt(2)
    summary = measure.cosine_summary(vectors)
    assert summary["cosine_mean"] == pytest.approx((s + 0 + s) / 3, abs=1e-6)
    assert summary["cosine_min"] == pytest.approx(0.0, abs=1e-7)


def test_cosine_is_scale_invariant_and_sign_aware():
    vectors = torch.tensor([[1.0, 2.0, 3.0], [-2.0, -4.0, -6.0]])
    assert measure.cosine_matrix(vectors)[0, 1].item() == pytest.approx(-1.0)


def test_one_hot_vector_has_npr_one_over_d():
    v = torch.zeros(64)
    v[5] = 3.0
    assert measure.normalized_pr(v).item() == pytest.approx(1 / 64)


def test_constant_vector_has_npr_one_and_sign_does_not_matter():
    v = torch.ones(10)
    v[::2] = -1
    assert measure.normalized_pr(v).item() == pytest.approx(1.0)


@pytest.mark.parametrize("k", [1, 3, 17])
def test_k_equal_entries_give_npr_k_over_d(k):
    v = torch.zeros(50)
    v[:k] = 0.7
    assert measure.normalized_pr(v).item() == pytest.approx(k / 50)


def test_npr_readings_differ_between_mean_of_rows_and_mean_row():
    rows = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # each row one-hot, mean row constant
    readings = measure.npr_readings(rows)
    assert readings["npr_mean_over_classes"] == pytest.approx(0.5)
    assert readings["npr_of_mean_vector"] == pytest.approx(1.0)


def test_fraction_below_counts_strictly_and_rejects_bad_tau():
    v = torch.tensor([0.001, -0.005, 0.01, 2.0])
    assert measure.fraction_below(v, 0.01) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="tau must be > 0"):
        measure.fraction_below(v, 0.0)


def test_time_and_label_shares_add_to_one():
    torch.manual_seed(0)
    y, t = torch.randn(5, 8), torch.randn(8)
    c = y + t
    share_t = measure.time_share(c, t)
    share_y = ((c * y).sum(1) / (c**2).sum(1)).mean().item()
    assert share_t + share_y == pytest.approx(1.0, abs=1e-6)


def test_cosine_summary_needs_two_rows():
    with pytest.raises(ValueError, match="at least 2 rows"):
        measure.cosine_summary(torch.ones(1, 3))
