"""The hypotheses chapter's closing verdicts: each test of Section 6's hypotheses and of the U-Net claim, computed from
this run's numbers and judged against its noise (supported / not supported / not testable here).

The paper states these hypotheses without a test, so each row names how this build reads the hypothesis as a
measurable prediction, and the verdict is whether the prediction held beyond the noise that row names.
"""
from ...paper import paper_value
from ..verdicts import SEED_SCOPE, Verdict
from .study import BASE, CONTROL, interval

SUPPORTED, NOT_SUPPORTED, UNTESTABLE = "supported", "not supported", "not testable here"
DETERMINISTIC = "none: a deterministic function of the trained weights (one model; no seed spread measured here)"


def _paper_alignment():
    """Eq. 3 and Table 4 from the numbers file, in words."""
    aligned = paper_value("TEXT", "eq3_cosine_all_pairs", "ImageNet class models")
    with_t, y_only = paper_value("T4", "cosine_y_plus_t", "REPA"), paper_value("T4", "cosine_y_only", "REPA")
    return (f"Eq. 3 and Sec. 6: c is aligned (cos ≈ {aligned:g}) because a stable timestep signal dominates it; "
            f"Table 4: REPA's cosine {with_t:.4f} with t, {y_only:.4f} for y alone")


# ----------------------------------------------------------------------------- H1

def correlation_verdict(correlation, label):
    """H1 across models: the cosine of c rises with the share of c's squared norm that t_emb carries (Spearman's rho
    over every (model, t) point above 0 at p < 0.05)."""
    rho, p = correlation["rho"], correlation["p"]
    return Verdict(
        "H1: across models, c is more aligned where t_emb carries more of it (every model and t pooled)",
        _paper_alignment() + " (read here: over every model and timestep pooled, cosine rises with t's share)",
        f"Spearman's rho {rho:+.3f} between the t share and the mean cosine over {correlation['points']} points "
        f"({correlation['models']} models)",
        SUPPORTED if rho > 0 and p < 0.05 else NOT_SUPPORTED,
        f"p = {p:.2g} (Spearman, two-sided); the points of one model are not independent, so p is optimistic", label)


def control_verdict(effects, label):
    """H1's control: with t added to the tokens instead of c, c's cosine falls beyond the seed noise (every seed)
    while the label helps the network as much (label gain and class agreement within the seed noise of the base).
    Not testable when the base cell's label gain is within its seed noise (the small DiT ignores its label)."""
    base, ctrl = effects.loc[BASE], effects.loc[CONTROL]
    numbers = (f"cosine {ctrl['cosine']:.3f} against the base's {base['cosine']:.3f} "
               f"(change per seed {', '.join(f'{d:+.3f}' for d in ctrl['cosine changes per seed'])}); label gain "
               f"{ctrl['label gain']:.3f} against {base['label gain']:.3f}, class agreement "
               f"{ctrl['class agreement']:.3f} against {base['class agreement']:.3f}")
    noise = (f"seed noise (largest difference between two seeds of one cell): cosine ±{ctrl['cosine seed noise']:.3f}, "
             f"label gain ±{ctrl['label gain seed noise']:.3f}, agreement ±{ctrl['agreement seed noise']:.3f}")
    if base["label gain"] <= ctrl["label gain seed noise"]:
        verdict = UNTESTABLE
        noise += "; the base cell's label gain is within its seed noise: the small DiT does not use its class"
    else:
        falls = all(d < -ctrl["cosine seed noise"] for d in ctrl["cosine changes per seed"])
        keeps = (ctrl["label gain change"] >= -ctrl["label gain seed noise"]
                 and ctrl["agreement change"] >= -ctrl["agreement seed noise"])
        verdict = SUPPORTED if falls and keeps else NOT_SUPPORTED
    return Verdict(
        "H1 control: with t entering the tokens instead of c, c's cosine falls and the class is still used",
        "not tested in the paper (Sec. 6 proposes the mechanism; read here: remove t from c and the alignment goes, "
        "the class quality stays)", numbers, verdict, noise, label)


def within_model_verdict(correlation, label):
    """H1 within each model: over its own timesteps, cosine rises with the t share (Spearman's rho above 0 at
    p < 0.05 in every model)."""
    within = correlation["per model"]
    return Verdict(
        "H1: within each model, c is more aligned at the timesteps where t_emb carries more of it",
        _paper_alignment() + " (read here: over one model's timesteps, cosine rises with t's share of |c|^2)",
        "Spearman's rho over each model's timesteps: " + "; ".join(f"{name} {rho:+.3f} (p = {p:.2g})"
                                                                    for name, (rho, p) in within.items()),
        SUPPORTED if all(rho > 0 and p < 0.05 for rho, p in within.values()) else NOT_SUPPORTED,
        "p of each model's Spearman rho (two-sided) over its timesteps", label)


# ----------------------------------------------------------------------------- H2

def step_verdict(early_late, k, label):
    """H2 step by step: zeroing the tail changes the predicted noise more in the last k steps than in the first k
    (mean over seed blocks of late minus early above 0, its 95% interval excluding 0)."""
    diff = early_late["late minus early"].tolist()
    mean, half = interval(diff)
    return Verdict(
        "H2: the tail acts mostly at late steps (relative change of the predicted noise, last k vs first k steps)",
        "Sec. 6 and A.2: pruning acts as noise suppression, especially at late steps (Eq. 6-7; no measurement)",
        f"relative change {early_late['first k steps'].mean():.4f} over the first {k} steps, "
        f"{early_late['last k steps'].mean():.4f} over the last {k}: late minus early {mean:+.4f}",
        SUPPORTED if mean > 0 and not abs(mean) <= half else NOT_SUPPORTED,
        f"±{half:.2g}: 95% interval over {len(diff)} seed blocks", label)


def _line(summary, row, metric):
    return summary[(summary["row"] == row) & (summary["metric"] == metric)].iloc[0]


def schedule_verdict(summary, long, k, label):
    """H2 on the samples: the tail zeroed only in the last k steps moves the samples more than only in the first k
    (paired distance difference over seed blocks, 95% interval excluding 0) and costs no class agreement beyond the
    noise floor."""
    first, last = f"first {k} steps", f"last {k} steps"
    distance = long[long["metric"] == "distance_to_unpruned"].pivot(index="replicate", columns="row", values="value")
    mean, half = interval(distance[last] - distance[first])
    agreement = _line(summary, last, "class_agreement")
    early_agreement = _line(summary, first, "class_agreement")
    kept = not (agreement["delta"] < 0 and agreement["verdict"] == "larger than noise")
    return Verdict(
        "H2: pruning the tail only at the last k steps moves the samples more than only at the first k, keeping "
        "the classes",
        "Sec. 6 and Table 2's t_{n-k,n} rows: late-step pruning suppresses noise without losing the condition "
        "(read here: the last steps are where the tail's removal shows, at no cost in class agreement)",
        f"RMS pixel distance to the unpruned samples {distance[first].mean():.4f} (first {k} steps) and "
        f"{distance[last].mean():.4f} (last {k}): {mean:+.4f}; class agreement change {agreement['delta']:+.3f} "
        f"({agreement['verdict']}) for the last {k}, {early_agreement['delta']:+.3f} ({early_agreement['verdict']}) "
        f"for the first {k}",
        SUPPORTED if mean > 0 and not abs(mean) <= half and kept else NOT_SUPPORTED,
        f"distance: ±{half:.2g}, 95% interval over {len(distance)} seed blocks; agreement: noise floor "
        f"{agreement['noise_floor']:.3f} (RMS difference between unpruned seeds) and the paired 95% interval; "
        f"{SEED_SCOPE}", label)


# ----------------------------------------------------------------------------- H3

def gain_verdict(name, row, label):
    """H3 per model: the |c|-head's mean gain over the mean gain lies above the 97.5th percentile of random
    coordinate sets of its size (amplified); below the 2.5th it is attenuated, between them neither."""
    ratio = row["head gain / mean gain"]
    where = "amplified" if ratio > row["null high"] else "attenuated" if ratio < row["null low"] else "neither"
    return Verdict(
        f"H3: adaLN's Linear amplifies the |c|-head ({name})",
        "Sec. 6: AdaLN's linear projection amplifies a few coordinates (no measurement; a reviewer called it "
        "untested)",
        f"the {int(row['head dims'])} head coordinates (of {int(row['d'])}) have {ratio:.3f}x the mean gain "
        f"({where}); they carry {100 * row['head share of |c|']:.1f}% of |c|, "
        f"{100 * row['head share of |SiLU(c)|']:.1f}% of |SiLU(c)| and {100 * row['head share of the modulation input']:.1f}% of |SiLU(c)| x gain",
        SUPPORTED if where == "amplified" else NOT_SUPPORTED,
        f"{row['null low']:.3f} to {row['null high']:.3f}: 2.5 to 97.5 percentiles of the same ratio for random "
        f"coordinate sets of the head's size", label)


# ----------------------------------------------------------------------------- H4

CLAIMS = {  # factor: (phenomenon, +1 if the cell has the factor the claim names, -1 if the base has it)
    "weight decay": ("{cell} makes c sparser than no weight decay", 1),
    "optimiser": ("AdamW makes c sparser than SGD with momentum", -1),
    "training length": ("longer training ({cell}) makes c sparser", 1),
    "label dropout": ("label dropout 0.1 (for guidance) makes c sparser than none", -1),
}


def dynamics_verdict(table, class_log, label):
    """The sweep's small DiT grows sparser over training as the class model does: the base cell's nPR falls from the
    first to the last logged step by more than the seed noise, at every seed."""
    base = table[table["cell"] == BASE]
    falls = (base["nPR first"] - base["nPR"]).tolist()
    noise = table.groupby("cell")["nPR"].agg(lambda v: v.max() - v.min()).max()
    first, last = class_log["npr_mean_over_classes"].iloc[[0, -1]]
    return Verdict(
        "H4 premise: the sweep's small DiT grows sparser over training, as the class model does",
        f"Fig. 12: nPR from {paper_value('TEXT', 'fig12_npr_early', 'REPA-B/2'):.0%} early to under "
        f"{paper_value('TEXT', 'fig12_npr_late', 'REPA-B/2'):.0%} over REPA-B/2's training",
        f"base cell nPR {base['nPR first'].mean():.3f} at step {int(base['first logged step'].iloc[0])} -> "
        f"{base['nPR'].mean():.3f} at step {int(base['steps'].iloc[0])} (mean of {len(base)} seeds); the class model "
        f"{first:.3f} -> {last:.3f} over its {int(class_log['step'].iloc[-1])} steps",
        SUPPORTED if all(f > noise for f in falls) else NOT_SUPPORTED,
        f"±{noise:.3f}: largest end-of-run nPR difference between two seeds of one cell", label)


def factor_verdict(cell, effects, label):
    """H4 per cell: the factor the claim names lowers nPR beyond the seed noise, at every seed."""
    row = effects.loc[cell]
    phenomenon, sign = CLAIMS[row["factor"]]
    lowered = [-sign * d for d in row["nPR changes per seed"]]  # > 0: the claimed factor lowers nPR
    noise = row["nPR seed noise"]
    return Verdict(
        f"H4: {phenomenon.format(cell=cell)}",
        "Appendix A.3: implicit sparsity from weight decay and optimisation (no ablation, no number)",
        f"nPR {row['nPR']:.3f} ({cell}) against the base's {effects.loc[BASE, 'nPR']:.3f} at equal seeds: "
        f"{', '.join(f'{d:+.3f}' for d in row['nPR changes per seed'])} per seed; cosine "
        f"{row['cosine']:.3f} against {effects.loc[BASE, 'cosine']:.3f}",
        SUPPORTED if all(v > noise for v in lowered) else NOT_SUPPORTED,
        f"±{noise:.3f}: largest end-of-run nPR difference between two seeds of one cell", label)


def sweep_verdicts(table, effects, class_log, label):
    """The premise and one verdict per cell that changes a factor (the H1 control is judged in its own section)."""
    cells = [c for c in effects.index if effects.loc[c, "factor"] in CLAIMS]
    return [dynamics_verdict(table, class_log, label)] + [factor_verdict(c, effects, label) for c in cells]


# ----------------------------------------------------------------------------- the U-Net claim

def unet_verdict(unet, dit, cosine_noise, label):
    """The U-Net claim: emb's cosine with the timestep embedding exceeds that without it beyond the seed noise (the
    largest within-arm seed difference; with one seed per arm, `cosine_noise`, the DiT sweep's, stands in)."""
    arms = unet.groupby("arm")
    cosine, npr = arms["cosine_mean"].mean(), arms["npr_mean_over_classes"].mean()
    agree = arms["class agreement"].mean()
    seeds = arms.size().min()
    spread = arms["cosine_mean"].agg(lambda v: v.max() - v.min()).max()
    noise = spread if seeds > 1 else cosine_noise
    noise_text = (f"±{noise:.3f}: largest cosine difference between two seeds of one arm" if seeds > 1 else
                  f"±{noise:.3f}: one seed per arm, so the DiT sweep's largest cosine seed difference stands in")
    diff = cosine["with t"] - cosine["without t"]
    dit_text = "; ".join(f"{r['model']} seed {int(r['seed'])}: cosine {r['cosine_mean']:.3f}, nPR "
                         f"{r['npr_mean_over_classes']:.3f}" for _, r in dit.iterrows())
    return Verdict(
        "U-Net: emb (time + class) is aligned with the timestep embedding, not without it",
        "the paper's discussion: high cosine appears \"not in U-Nets when timestep embeddings are removed\"; \"similar "
        "redundancy emerges ... once timestep embeddings are included\" (no U-Net result shown)",
        f"cosine {cosine['with t']:.3f} with t, {cosine['without t']:.3f} without ({diff:+.3f}); nPR "
        f"{npr['with t']:.3f} and {npr['without t']:.3f}; class agreement {agree['with t']:.3f} and "
        f"{agree['without t']:.3f} ({seeds} seed(s) per arm); beside the DiTs: {dit_text}",
        SUPPORTED if diff > noise else NOT_SUPPORTED, noise_text, label)
