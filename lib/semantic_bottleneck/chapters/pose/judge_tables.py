"""How the pose-guided chapter reads its judge (`study.judges`: tiny-eval, inception-lpips or pixels): the metric
labels, the headline metrics, the protocol table and the calibration of the per-sample scores.

The reference set of FID and KID is the real answers (target images) of the evaluated pairs, not a training set.
FID estimates a covariance from each seed's samples: with no more samples than feature dimensions that covariance is
singular and FID means nothing (`fid_caveat`); KID, unbiased at any sample count, is then the headline. The tiny
profile's `lpips` column is the evaluation network's stand-in (`tiny.pose_eval.FeatureDistance`), named as such.
"""
import pandas as pd

from ...judge.metrics import concat_records
from ...tiny.pose_eval import FeatureDistance

REAL, COPY = "the real answers", "the source image, copied"  # the rows of `calibration`
UNREPORTED = ("IS", "precision / recall")  # computed by every Judge, never shown by this chapter


def feature_width(judge):
    """The dimension of the judge's FID/KID features."""
    return int(judge.reference.mu.shape[0])


def fid_caveat(samples, width):
    """Why FID is not meaningful at `samples` per seed in `width`-d features (samples <= width: a singular sample
    covariance), or "" when it is."""
    if samples <= width:
        return f"not meaningful: {samples} samples per seed <= {width}-d features, a singular covariance"
    return ""


def uses_lpips_stand_in(judge):
    """Whether the judge's `lpips` column is the tiny profile's stand-in (`tiny.pose_eval.FeatureDistance`)."""
    return any(isinstance(scorer, FeatureDistance) for scorer in judge.scorers)


def metric_names(judge, samples):
    """Each metric's label as this judge measures it: the LPIPS stand-in named as such, FID marked where it is not
    meaningful at `samples` per seed."""
    width = feature_width(judge)
    return {"lpips": "LPIPS stand-in" if uses_lpips_stand_in(judge) else "LPIPS",
            "fid": f"FID (not meaningful: {samples} per seed <= {width}-d)" if fid_caveat(samples, width) else "FID"}


def headline_metrics(judge, samples):
    """The metrics read first, in Table 7's order: FID, or KID where FID is not meaningful, then SSIM, LPIPS, PSNR
    (those this judge scores)."""
    columns = {scorer.column for scorer in judge.scorers}
    first = "kid" if fid_caveat(samples, feature_width(judge)) else "fid"
    return (first, *(m for m in ("ssim", "lpips", "psnr") if m in columns))


def protocol_table(protocol, judge):
    """The study's protocol table as this chapter reports it: the reference set named, FID's caveat and KID's role
    stated, and the metrics it never shows (IS, precision/recall) left out."""
    table = protocol.table(judge).drop(index=list(UNREPORTED), errors="ignore")
    caveat = fid_caveat(protocol.samples_per_seed, feature_width(judge))
    table.loc["reference"] = (f"{judge.reference.name} ({judge.reference.count} images): the target images of the "
                              "very pairs the samples are made for, not a training set")
    if caveat:
        table.loc["FID"] = f"{table.loc['FID', 'value']}; {caveat}: KID is the headline"
    if uses_lpips_stand_in(judge):
        table.loc["LPIPS"] = "a stand-in, not LPIPS (see agreement)"
    return table


def calibration(judge, pairs, indices, batch_size=64):
    """Each per-sample score of the real answers (its ceiling) and of the source images copied unchanged (a trivial
    answer that keeps the person and ignores the pose), over the pairs at `indices`, `batch_size` at a time."""
    indices, parts = list(indices), {REAL: [], COPY: []}
    for start in range(0, len(indices), batch_size):
        chunk = indices[start:start + batch_size]
        shown = pairs.shown(chunk)
        parts[REAL].append(judge.records(shown["answer"], None, chunk))
        parts[COPY].append(judge.records(shown["source"], None, chunk))
    return pd.DataFrame({name: {scorer.column: concat_records(records)[f"score:{scorer.column}"].mean().item()
                                for scorer in judge.scorers} for name, records in parts.items()}).T
