"""`python -m semantic_bottleneck stats`: cosine, nPR and sparsity of c = y + t read from a checkpoint, and the
SiLU-aware reading beside the paper's (what of c reaches the modulation Linears: `condition.reach`).

`checkpoint_stats` is the computation (on the same `condition.measure` primitives as the chapters), `silu_reading`
the SiLU-aware statistics from the modulation weights' gains (`registry.load_gains`: a released checkpoint's read
from its file alone); `run` is the command: every bad input or failed download ends in one `error: ...` line and a
non-zero exit (`--debug` adds the traceback). A model whose gains cannot be read (no modulation Linear, or a file
without its modulation weights) still gets the paper's statistics, with the reason the SiLU-aware reading is missing.
Shapes: K real classes (null row excluded), D width of c.
"""
import json
import math
import sys
import traceback

from ..checkpoints.download import WeightsError
from ..checkpoints.families import check_t
from ..condition.measure import check_table, cosine_summary, fraction_below, normalized_pr, npr_readings
from ..condition.reach import INERT_BELOW, reach_summary
from ..profiles import profile_parameters
from ..registry import MODELS, family_facts, family_names, load_embedding, load_gains

DEFAULT_TAUS = (0.01, 0.02, 0.05)
HEAD_FRACTION_FROM = ("paper", "02_sparsity")  # the default head fraction: the sparsity chapter's on real checkpoints


def vector_stats(vectors, taus=DEFAULT_TAUS):
    """Cosine (mean, min over distinct pairs), nPR (mean over rows, of the mean row), sparsity of K vectors (K, D)."""
    npr = npr_readings(vectors)
    mean = vectors.mean(0)  # (D,)
    return {**cosine_summary(vectors), "npr": npr["npr_mean_over_classes"], "npr_of_mean": npr["npr_of_mean_vector"],
            "sparsity": {format(tau, "g"): fraction_below(mean, tau) for tau in taus}}


def checkpoint_stats(embedding, t=None, taus=DEFAULT_TAUS):
    """Statistics of c = y + t, of y alone and of t alone at timestep t (default: the family's first step t0).

    ValueError for a t outside the family's range, a tau that is not a finite number > 0, or vectors whose statistics
    would mean nothing (`condition.measure.check_table`: not finite, all zero, out of float32's range).
    """
    info = embedding.info
    t = check_t(family_facts(info["family"]), info.get("t0") if t is None else t)
    if not taus or not all(math.isfinite(tau) and tau > 0 for tau in taus):
        raise ValueError(f"tau must be finite and > 0 (one or more values); got {list(taus)}")
    check_table(embedding.c(t), f"c = y + t at t = {t:g}")  # one error line where the numbers would mean nothing
    check_table(embedding.label(), "y (the class table)")
    check_table(embedding.time([t])[0], f"t_emb at t = {t:g}")
    return {"family": info.get("family"), "model": info.get("model"), "source": info.get("source"),
            "weights": info.get("weights"), "format": info.get("format"),
            "time_convention": info.get("time_convention"), "t": t, "dim": embedding.dim,
            "num_classes": embedding.num_classes, "y_plus_t": vector_stats(embedding.c(t), taus),
            "y_only": vector_stats(embedding.label(), taus),
            "t_only": {"npr": normalized_pr(embedding.time([t])[0]).item()}}


def check_head_fraction(head_fraction):
    """`head_fraction` if it is a number in (0, 1]; ValueError naming the allowed range otherwise."""
    if not (isinstance(head_fraction, (int, float)) and 0 < head_fraction <= 1):
        raise ValueError(f"head fraction (--head-fraction) must be a number in (0, 1]; got {head_fraction!r}")
    return float(head_fraction)


def silu_reading(c, gains, head_fraction):
    """`condition.reach.reach_summary` of c (K, D) with the gains (D,) of its modulation Linears, ready for JSON: a
    share that is undefined (every gain 0, as in an untrained adaLN-Zero network) is None, and so is the overlap with
    a contribution head that such gains leave undefined."""
    summary = reach_summary(c, gains, check_head_fraction(head_fraction))
    summary = {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in summary.items()}
    if summary["contribution_head_share"] is None:
        summary["head_overlap"] = None
    return {"head_fraction": head_fraction, "inert_below": INERT_BELOW, **summary}


def model_silu_reading(model, embedding, t, head_fraction):
    """The SiLU-aware reading of a model's c at t (`silu_reading`), or the reason it has none
    ({"head_fraction", "unavailable"}) when its gains cannot be read."""
    try:
        gains = load_gains(model, family=embedding.info.get("family"))
        return silu_reading(embedding.c(t), gains, head_fraction)
    except ValueError as err:  # CheckpointError included: no modulation Linear, or no modulation weights in the file
        return {"head_fraction": head_fraction, "unavailable": str(err)}


def _value(x, width=10):
    return f"{'n/a':>{width}}" if x is None else f"{x:>{width}.4f}"


def format_silu_reading(reading):
    """The SiLU-aware reading as plain-text lines (added under the paper's statistics)."""
    lines = ["", "SiLU-aware reading (what reaches the modulation Linears), "
                 f"head fraction {reading['head_fraction']:g}"]
    if "unavailable" in reading:
        return lines + [f"not available: {reading['unavailable']}"]
    lines.append(f"head     k = {reading['head_dims']}: the coordinates of largest |mean c_i| (the paper's ranking)")
    lines.append(f"{'':34}{'|c|':>10}{'|SiLU(c)|':>10}{'contrib.':>10}")
    for label, key in (("nPR, mean over classes", "npr"), ("|c|-head's share of the sum", "head_share")):
        values = (reading[f"{key}_{ranking}"] for ranking in ("magnitude", "silu", "contribution"))
        lines.append(f"{label:34}" + "".join(map(_value, values)))
    lines.append(f"{'contribution head: its share':34}{'':20}{_value(reading['contribution_head_share'])}")
    lines.append(f"{'|c|-head also in contribution head':34}{'':20}{_value(reading['head_overlap'])}")
    lines.append(f"{f'inert |c|-head (mean c_i < {INERT_BELOW:.2f})':34}"
                 f"{reading['inert_head']:>10} of {reading['head_dims']}")
    return lines


def format_table(stats):
    """The statistics as a readable plain-text table."""
    lines = [f"source   {stats['source']}" + (f" ({stats['model']})" if stats.get("model") else ""),
             f"family   {stats['family']}, weights: {stats['weights']}"
             + (" (an old-format pickle: read whole into memory)" if stats.get("format") == "torch-pickle" else ""),
             f"t        {stats['t']:g} ({stats['time_convention']})",
             f"c        D = {stats['dim']}, K = {stats['num_classes']} classes (null row excluded)", "",
             f"{'':34}{'y + t':>10}{'y only':>10}"]
    rows = [("cosine, mean over class pairs", "cosine_mean"), ("cosine, min over class pairs", "cosine_min"),
            ("nPR of |c|, mean over classes", "npr"), ("nPR of the mean vector", "npr_of_mean")]
    for label, key in rows:
        lines.append(f"{label:34}{stats['y_plus_t'][key]:>10.4f}{stats['y_only'][key]:>10.4f}")
    for tau in stats["y_plus_t"]["sparsity"]:
        label = f"share of |mean c_i| < {tau}"
        lines.append(f"{label:34}{stats['y_plus_t']['sparsity'][tau]:>10.4f}{stats['y_only']['sparsity'][tau]:>10.4f}")
    lines.append(f"{'nPR of |t_emb| alone':34}{stats['t_only']['npr']:>10.4f}")
    if "silu_reading" in stats:
        lines += format_silu_reading(stats["silu_reading"])
    return "\n".join(lines)


def add_arguments(parser):
    """Add the `stats` arguments to an argparse (sub)parser."""
    parser.add_argument("model", metavar="MODEL_NAME_OR_PATH",
                        help=f"a registry name ({', '.join(MODELS)}) or a checkpoint file/folder")
    parser.add_argument("--family", help=f"family of a local checkpoint: {', '.join(family_names())} "
                                         "(detected from the keys where the file allows)")
    parser.add_argument("--t", type=float, help="timestep exactly as the model receives it (default: family t0)")
    parser.add_argument("--tau", type=float, nargs="+", default=list(DEFAULT_TAUS),
                        help="sparsity thresholds on |mean c_i| (default: 0.01 0.02 0.05)")
    parser.add_argument("--head-fraction", type=float,
                        help="share of c's coordinates in the head of the SiLU-aware reading (default: the "
                             f"{HEAD_FRACTION_FROM[0]} profile's {HEAD_FRACTION_FROM[1]} head_fraction)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")


def run(args):
    """Run `stats` on parsed arguments; 0 on success, 2 on bad input, 1 when a download or the file system failed."""
    try:
        if args.family is not None:
            family_facts(args.family)
        head_fraction = check_head_fraction(profile_parameters(*HEAD_FRACTION_FROM)["head_fraction"]
                                            if args.head_fraction is None else args.head_fraction)
        embedding = load_embedding(args.model, family=args.family)
        stats = checkpoint_stats(embedding, args.t, args.tau)
        stats["silu_reading"] = model_silu_reading(args.model, embedding, stats["t"], head_fraction)
    except (WeightsError, ValueError, OSError) as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ValueError) else 1
    print(json.dumps(stats, indent=1, allow_nan=False) if args.json else format_table(stats))
    return 0
