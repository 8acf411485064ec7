"""Statistics of conditioning vectors: cosine similarity, participation ratio, sparsity, variance.

Every function takes a matrix C (K, D) of K conditioning vectors, or one vector (D,). The summaries (`cosine_summary`,
`npr_readings`) refuse a table whose numbers would be meaningless (`check_table`): non-finite values, every vector
zero, or magnitudes whose squares leave float32's range.
"""
import math

import torch
import torch.nn.functional as F


_FLOAT32 = torch.finfo(torch.float32)


def check_table(vectors, what="vectors"):
    """`vectors` (K, D) or (D,) if its statistics are meaningful; ValueError in one line otherwise: a value that is
    not finite (an overflowed c), every vector zero, or a largest |v_i| whose square (summed over D) underflows or
    overflows float32, where cosines and norms computed in float32 stop meaning anything (a table scaled by 1e-30)."""
    table = torch.as_tensor(vectors)
    if not torch.isfinite(table).all():
        raise ValueError(f"{what} hold {int((~torch.isfinite(table)).sum())} values that are not finite (inf or nan: "
                         "an overflow?); their statistics would mean nothing")
    largest = table.abs().max().item() if table.numel() else 0.0
    if largest == 0:
        raise ValueError(f"{what} are all zero; cosine and participation ratio are undefined")
    low, high = _FLOAT32.tiny ** 0.5, (_FLOAT32.max / table.shape[-1]) ** 0.5
    if not low <= largest <= high:
        raise ValueError(f"{what} have a largest |v_i| of {largest:.3g}, outside [{low:.3g}, {high:.3g}] where its "
                         "squares fit float32 (underflow or overflow); their statistics would mean nothing")
    return vectors


def cosine_matrix(vectors):
    """Pairwise cosine similarity (K, K) of the rows of `vectors` (K, D)."""
    unit = F.normalize(vectors.float(), dim=1)
    return unit @ unit.T


def off_diagonal(matrix):
    """The off-diagonal entries of a square matrix, flattened."""
    k = matrix.shape[0]
    return matrix[~torch.eye(k, dtype=torch.bool, device=matrix.device)]


def cosine_summary(vectors):
    """Reduce the cosine matrix two ways, both named: mean and minimum over pairs of distinct rows."""
    if vectors.shape[0] < 2:
        raise ValueError(f"vectors must have at least 2 rows, got {vectors.shape[0]}")
    check_table(vectors)
    k = vectors.shape[0]
    unit = F.normalize(vectors.double(), dim=1)
    total = unit.sum(0)  # (D,): the mean over pairs without forming the matrix, in float64
    mean = ((total @ total - k) / (k * (k - 1))).item()
    return {"cosine_mean": mean, "cosine_min": off_diagonal(cosine_matrix(vectors)).min().item()}


def participation_ratio(vectors):
    """PR of |v| along the last axis (Eq. 1): (sum |v_i|)^2 / sum v_i^2; in [1, D]."""
    v = vectors.double().abs()
    return (v.sum(-1) ** 2 / (v**2).sum(-1)).float()


def normalized_pr(vectors):
    """nPR = PR / D, in (0, 1]: 1 for a constant vector, 1/D for a one-hot vector."""
    return participation_ratio(vectors) / vectors.shape[-1]


def npr_readings(vectors):
    """nPR under both readings of the paper: averaged over the rows, and of the mean row."""
    check_table(vectors)
    return {"npr_mean_over_classes": normalized_pr(vectors).mean().item(),
            "npr_of_mean_vector": normalized_pr(vectors.mean(0)).item()}


def fraction_below(vector, tau):
    """Fraction of coordinates with |v_i| < tau (Eq. 2, the tail); 1 minus it counts |v_i| >= tau."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return (vector.abs() < tau).float().mean().item()


def time_share(vectors, time_vector):
    """Share of each c_k's squared norm along t_emb: <c_k, t> / |c_k|^2, averaged over k.

    With c = y + t the shares of t and y add up to exactly 1 for every k.
    """
    c = vectors.double()
    t = time_vector.double().reshape(-1)  # (D,)
    return ((c @ t) / (c**2).sum(1)).mean().item()


def similarity_row(c, y, t):
    """One Table-1/Table-4 style row: d, PR, nPR (both readings) and cosine (both reductions) of c and y."""
    row = {"d": c.shape[1], "pr_mean_over_classes": participation_ratio(c).mean().item()}
    row.update(npr_readings(c))
    row.update(cosine_summary(c))
    y_npr, y_cos = npr_readings(y), cosine_summary(y)
    row.update({f"y_{k}": v for k, v in {**y_npr, **y_cos}.items()})
    row["t_share"] = time_share(c, t)
    return row


def above_tau(vectors, tau):
    """Fraction of coordinates with |v_i| > tau along the last axis (Appendix A.3's convention)."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return (vectors.abs() > tau).double().mean(-1)


def below_tau(vectors, tau):
    """Fraction of coordinates with |v_i| < tau along the last axis (Eq. 2's convention, the tail)."""
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    return (vectors.abs() < tau).double().mean(-1)


def top_share(values, fraction):
    """Share of sum(values) carried by the ceil(fraction * D) largest entries of a non-negative vector (D,)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    values = torch.as_tensor(values).double()
    k = math.ceil(fraction * values.numel())
    return (values.topk(k).values.sum() / values.sum()).item()


def dims_for_share(values, share):
    """How many of the largest entries of a non-negative vector (D,) it takes to reach `share` of its sum."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    ordered = torch.as_tensor(values).double().sort(descending=True).values
    cumulative = ordered.cumsum(0) / ordered.sum()
    return int((cumulative < share - 1e-12).sum().item()) + 1


def dimension_variance(c):
    """Per-dimension variance across classes (D,) of c (K, D): population variance, as in Fig. 9."""
    if c.shape[0] < 2:
        raise ValueError(f"c must have at least 2 class rows, got {c.shape[0]}")
    return c.double().var(0, unbiased=False)
