"""`python -m semantic_bottleneck stats`: cosine, nPR and sparsity of c = y + t read from a checkpoint.

`checkpoint_stats` is the computation (on the same `condition.measure` primitives as the chapters); `run` is
the command: every bad input or failed download ends in one `error: ...` line and a non-zero exit (`--debug`
adds the traceback). Shapes: K real classes (null row excluded), D width of c.
"""
import json
import math
import sys
import traceback

from ..checkpoints.download import WeightsError
from ..checkpoints.families import FAMILY_NAMES, check_t, family_row
from ..condition.measure import cosine_summary, fraction_below, normalized_pr, npr_readings
from ..registry import MODELS, load_embedding

DEFAULT_TAUS = (0.01, 0.02, 0.05)


def vector_stats(vectors, taus=DEFAULT_TAUS):
    """Cosine (mean, min over distinct pairs), nPR (mean over rows, of the mean row), sparsity of K vectors (K, D)."""
    npr = npr_readings(vectors)
    mean = vectors.mean(0)  # (D,)
    return {**cosine_summary(vectors), "npr": npr["npr_mean_over_classes"], "npr_of_mean": npr["npr_of_mean_vector"],
            "sparsity": {format(tau, "g"): fraction_below(mean, tau) for tau in taus}}


def checkpoint_stats(embedding, t=None, taus=DEFAULT_TAUS):
    """Statistics of c = y + t, of y alone and of t alone at timestep t (default: the family's first step t0).

    ValueError for a t outside the family's range or a tau that is not a finite number > 0.
    """
    info = embedding.info
    t = check_t(family_row(info["family"]), info.get("t0") if t is None else t)
    if not taus or not all(math.isfinite(tau) and tau > 0 for tau in taus):
        raise ValueError(f"tau must be finite and > 0 (one or more values); got {list(taus)}")
    return {"family": info.get("family"), "model": info.get("model"), "source": info.get("source"),
            "weights": info.get("weights"), "format": info.get("format"),
            "time_convention": info.get("time_convention"), "t": t, "dim": embedding.dim,
            "num_classes": embedding.num_classes, "y_plus_t": vector_stats(embedding.c(t), taus),
            "y_only": vector_stats(embedding.label(), taus),
            "t_only": {"npr": normalized_pr(embedding.time([t])[0]).item()}}


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
    return "\n".join(lines)


def add_arguments(parser):
    """Add the `stats` arguments to an argparse (sub)parser."""
    parser.add_argument("model", metavar="MODEL_NAME_OR_PATH",
                        help=f"a registry name ({', '.join(MODELS)}) or a checkpoint file/folder")
    parser.add_argument("--family", help=f"family of a local checkpoint: {', '.join(FAMILY_NAMES)} "
                                         "(detected from the keys where the file allows)")
    parser.add_argument("--t", type=float, help="timestep exactly as the model receives it (default: family t0)")
    parser.add_argument("--tau", type=float, nargs="+", default=list(DEFAULT_TAUS),
                        help="sparsity thresholds on |mean c_i| (default: 0.01 0.02 0.05)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")


def run(args):
    """Run `stats` on parsed arguments; 0 on success, 2 on bad input, 1 when a download or the file system failed."""
    try:
        if args.family is not None:
            family_row(args.family)
        embedding = load_embedding(args.model, family=args.family)
        stats = checkpoint_stats(embedding, args.t, args.tau)
    except (WeightsError, ValueError, OSError) as err:
        if args.debug:
            traceback.print_exc()
        print(f"error: {err}", file=sys.stderr)
        return 2 if isinstance(err, ValueError) else 1
    print(json.dumps(stats, indent=1, allow_nan=False) if args.json else format_table(stats))
    return 0
