"""The similarity chapter's closing verdicts, computed from this run's rows, sweeps and sample check.

Thresholds are the paper's (Eq. 3's and Appendix A.2's cosine, Table 4's smallest gap between y + t and y alone,
all read from the numbers file) or, where the paper gives a direction and no number, the reading named in the row.
"""
import math

from ...paper import paper_value
from ...registry import model, paper_column
from ..verdicts import Verdict

IMAGENET = ("DiT", "SiT", "MDT", "LightningDiT", "MG", "REPA")
NEARLY_ALL = 0.9  # our reading of A.2's "nearly all timesteps": at least 90% of the grid (the paper gives no share)
DETERMINISTIC = "none: a deterministic function of the trained weights (one model; no seed spread measured here)"


def cosine_threshold(row="eq3_cosine_all_pairs"):
    """The paper's prose threshold on the cosine of c (Eq. 3, or A.2 with `a2_cosine_across_timesteps`)."""
    return paper_value("TEXT", row, "ImageNet class models")


def paper_cosine_claim(name=None):
    """Eq. 3's threshold set against the paper's own Table 1, naming its ImageNet models below the threshold."""
    threshold = cosine_threshold()
    cosines = {m: paper_value("T1", "cosine", m) for m in IMAGENET}
    below = [f"{m} {v:.4f}" for m, v in cosines.items() if v < threshold]
    text = (f"Eq. 3: cos(c_y, c_y') ≈ {threshold:g} for all pairs; Table 1: {min(cosines.values()):.4f}-"
            f"{max(cosines.values()):.4f} over six ImageNet models, {len(below)} of them below the paper's own "
            f"{threshold:g}" + (f" ({', '.join(below)})" if below else ""))
    column = paper_column(name) if name else None
    if column in cosines:
        text += f"; {column}: {cosines[column]:.4f}"
    return text


def alignment_verdict(name, row, label, statistic="c"):
    """c (or SiLU(c) with statistic="SiLU(c)") is nearly one direction at t0: mean pairwise cosine above Eq. 3's."""
    threshold = cosine_threshold()
    paper = paper_cosine_claim(name)
    if statistic != "c":
        paper = f"not examined (Eq. 5 and 7 omit the SiLU); Eq. 3's {threshold:g} applied to what the Linear receives"
    return Verdict(
        phenomenon=f"{statistic} is nearly one direction across classes at t0 (mean over pairs)", paper=paper,
        this_build=f"mean pairwise cosine of {statistic} {row['cosine_mean']:.4f} (minimum {row['cosine_min']:.4f})",
        verdict="reproduced" if row["cosine_mean"] > threshold else "not reproduced", noise=DETERMINISTIC, model=label)


def smallest_paper_gap():
    """The smallest gap, over the paper's ImageNet models of Table 4, between the cosine of y + t and of y alone."""
    return min(paper_value("T4", "cosine_y_plus_t", m) - paper_value("T4", "cosine_y_only", m) for m in IMAGENET)


def y_alone_verdict(row, label):
    """y alone is far less aligned than c (Table 4): the gap at least the paper's smallest, inverted below zero."""
    gap, least = row["cosine_mean"] - row["y_cosine_mean"], smallest_paper_gap()
    y_only = [paper_value("T4", "cosine_y_only", m) for m in IMAGENET]
    verdict = "reproduced" if gap >= least else "inverted" if gap < 0 else "not reproduced"
    return Verdict(
        phenomenon="y alone is far less aligned than c = y + t (Table 4)",
        paper=f"Table 4: cosine of y alone {min(y_only):.4f}-{max(y_only):.4f} over six ImageNet models, at least "
              f"{least:.4f} below that of y + t",
        this_build=f"cosine of y alone {row['y_cosine_mean']:.4f} against {row['cosine_mean']:.4f} for c: "
                   f"a gap of {gap:.4f}",
        verdict=verdict, noise=DETERMINISTIC, model=label)


def time_share_verdict(row, label):
    """The alignment comes from t: more than half of ‖c‖² lies along the shared timestep embedding."""
    return Verdict(
        phenomenon="the alignment comes from the shared t (share of ‖c‖² along t_emb)",
        paper="Table 4 and Appendix B.1: the shared t makes c aligned where y alone is not; no share of ‖c‖² is "
              "given (read here as: more than half of ‖c‖² along t)",
        this_build=f"{100 * row['t_share']:.1f}% of ‖c‖² along t_emb (mean over classes)",
        verdict="reproduced" if row["t_share"] > 0.5 else "not reproduced", noise=DETERMINISTIC, model=label)


def schedule_verdict(sweep, label):
    """A.2: the cosine stays above the paper's threshold across nearly all timesteps of the schedule."""
    threshold = cosine_threshold("a2_cosine_across_timesteps")
    cosine = sweep["cosine_mean"]
    above = int((cosine > threshold).sum())
    noise = DETERMINISTIC
    if sweep["t"].max() <= 1:
        noise += "; continuous t in [0, 1] barely moves DiT's sinusoid, so a flat curve is nearly automatic"
    return Verdict(
        phenomenon="the cosine of c stays extremely high across the denoising schedule (Appendix A.2)",
        paper=f"Appendix A.2: above {threshold:g} across nearly all timesteps (no figure or number per t; "
              f"'nearly all' read here as at least {100 * NEARLY_ALL:g}% of them)",
        this_build=f"mean pairwise cosine {cosine.min():.4f}-{cosine.max():.4f} over {len(sweep)} timesteps from "
                   f"t = {sweep['t'].min():g} to {sweep['t'].max():g}; {above} of {len(sweep)} above {threshold:g}",
        verdict="reproduced" if above >= NEARLY_ALL * len(sweep) else "not reproduced", noise=noise, model=label)


def wilson_interval(successes, trials, z=1.96):
    """The Wilson 95% interval of a proportion."""
    if trials < 1:
        raise ValueError(f"trials must be at least 1, got {trials}")
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return centre - half, centre + half


def sample_verdict(check, label):
    """Context: the samples carry their class above chance (Wilson 95% interval); not testable without a check."""
    paper = "not a claim: the paper's checkpoints are trained generators; here, whether the statistics are of a " \
            "model that uses its class"
    phenomenon = "the model's samples carry their class above chance (context for every statistic above)"
    if check is None:
        return Verdict(phenomenon, paper, "no samples drawn in this run", "not testable here",
                       "the sample check is off in this profile (sample_check = False)", label)
    n, agreement = len(check["labels"]), check["agreement"]
    chance = 1 / len(set(map(int, check["labels"])))
    low, high = wilson_interval(round(agreement * n), n)
    return Verdict(
        phenomenon, paper,
        this_build=f"class agreement {agreement:.3f} of {n} samples (chance {chance:.3f}; real images of the same "
                   f"labels {check['agreement_on_real_images']:.3f}, held-out accuracy "
                   f"{check['classifier_heldout_accuracy']:.3f})",
        verdict="reproduced" if low > chance else "not reproduced",
        noise=f"Wilson 95% interval of the agreement {low:.3f}-{high:.3f} ({n} samples, one sampling seed)",
        model=label)


def verdicts(rows, silu_rows, sweeps, check, labels):
    """Every closing verdict of the chapter, model by model, then the sample check (where one was drawn).

    `rows` and `silu_rows` map model -> the statistics of c and of SiLU(c) at t0 (`tables.first_step_row`,
    `tables.silu_row`), `sweeps` model -> `tables.cosine_across_timesteps`, `labels` model -> `model_label`.
    """
    out = []
    for name, row in rows.items():
        out += [alignment_verdict(name, row, labels[name]),
                alignment_verdict(name, silu_rows[name], labels[name], "SiLU(c)"),
                y_alone_verdict(row, labels[name]), time_share_verdict(row, labels[name]),
                schedule_verdict(sweeps[name], labels[name])]
    tiny = [name for name in rows if model(name).family == "tiny"]
    if tiny:
        out.append(sample_verdict(check, labels[tiny[0]]))
    return out
