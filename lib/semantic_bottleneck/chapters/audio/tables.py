"""The video-to-audio chapter's tables: the task, the protocol, Tables 1 and 5's MDSGen cells beside this build's,
the variance and what reaches the modulation, the pruning table, and the status-page rows. The paper runs no pruning
for video-to-audio and reports no audio metric, so every pruning row is a new experiment with no paper value; the
tables say so. `studies` maps "with guidance" / "without guidance" to a `study.protocol.Study`."""
import pandas as pd

from ...condition.measure import dimension_variance, similarity_row, top_share
from ...condition.reach import INERT_BELOW, reach_summary
from ...paper import paper_value
from ...settings.chapters import AudioSettings
from ..pruning_tables import change_text, mean_text
from .rows import label


def task_table(loaded, settings: AudioSettings):
    """What the model, its conditions and its sound are, with the numbers that qualify them (one-column table)."""
    info, sound = loaded.info, loaded.info["sound"]
    rows = {"model": f"{settings.model} ({loaded.family}), width of c d = {loaded.dim}",
            "conditions": loaded.conditions.describe(settings.samples_per_seed),
            "spectrogram -> sound": sound.name}
    if "training" in info:
        record = info["training"]
        rows["training"] = (f"{record['steps']} steps of {record['batch_size']} clips ({record['train_clips']} train "
                            f"clips), final loss {record['final_loss']:.4f}, {record['train_seconds']:.0f} s when trained")
    if hasattr(sound, "round_trip_error"):
        error = sound.round_trip_error(loaded.conditions.real_sound(range(settings.grid_samples)))
        rows["mel round trip (spectrogram -> Griffin-Lim -> spectrogram)"] = (
            f"mean |error| {error['mean |dB| (audible bins)']:.2f} dB over the bins within 30 dB of each clip's peak "
            f"({100 * error['audible share of bins']:.0f}% of the bins; 95th percentile "
            f"{error['95th percentile |dB| (audible bins)']:.1f} dB), {error['mean |dB| (all bins)']:.2f} dB over all "
            f"bins ({settings.grid_samples} test clips)")
    return pd.DataFrame({"value": rows})


PROTOCOL_METRICS = {"FID": ("fid",), "KID": ("kid",), "IS": ("is", "is10"),
                    "precision / recall": ("precision", "recall")}  # the judge's protocol lines and their metrics


def protocol_table(study, judge, metrics):
    """The study's protocol table with only the metrics this chapter shows (`metrics`): the judge describes every
    metric it can compute, and a line for one no table reports would say more than the chapter does."""
    table = study.protocol.table(judge)
    hidden = [line for line, keys in PROTOCOL_METRICS.items() if not set(keys) & set(metrics)]
    table = table.drop(index=[line for line in hidden if line in table.index])
    return table.rename(index={"FID": "FD"}) if "fid" in metrics else table


PAPER_COLUMN = "MDSGen"
TOP_FRACTIONS = (0.01, 0.02, 0.05)
REACH_READINGS = {"head_dims": "head size k (largest |mean c_i|)",
                  "npr_magnitude": "nPR of |c| (the paper's), mean over clips",
                  "npr_silu": "nPR of |SiLU(c)|, mean over clips",
                  "npr_contribution": "nPR of |SiLU(c)| x gain, mean over clips",
                  "head_share_magnitude": "share of sum |mean c| in the |c|-head",
                  "head_share_silu": "share of sum |SiLU(mean c)| in the |c|-head",
                  "head_share_contribution": "share of the contribution in the |c|-head",
                  "contribution_head_share": "share of the contribution in the contribution-ranked head (same k)",
                  "head_overlap": "share of the |c|-head inside the contribution-ranked head",
                  "inert_head": f"|c|-head dimensions with mean c_i < {INERT_BELOW:.2f} (SiLU passes < 5%)"}
# (paper table, paper row, statistic, key of `similarity_row`, reading); Table 5 repeats Table 1's y + t cells
READINGS = [("T1", "d", "d", "d", "width of c"),
            ("T1", "pr", "PR", "pr_mean_over_classes", "mean over clips"),
            ("T1", "npr", "nPR", "npr_mean_over_classes", "mean over clips"),
            ("T1", "npr", "nPR", "npr_of_mean_vector", "of the mean vector"),
            ("T1", "cosine", "cosine", "cosine_mean", "mean over pairs of clips"),
            ("T1", "cosine", "cosine", "cosine_min", "min over pairs of clips"),
            ("T5", "cosine_y_only", "cosine (y only)", "y_cosine_mean", "mean over pairs of clips"),
            ("T5", "cosine_y_only", "cosine (y only)", "y_cosine_min", "min over pairs of clips"),
            ("T5", "npr_y_only", "nPR (y only)", "y_npr_mean_over_classes", "mean over clips"),
            ("T5", "npr_y_only", "nPR (y only)", "y_npr_of_mean_vector", "of the mean vector")]
Y_PLUS_T = {"cosine": "cosine_y_plus_t", "npr": "npr_y_plus_t"}  # Table 5's names of Table 1's two cells


def statistics_beside_paper(step, model):
    """Table 1's and Table 5's MDSGen cells beside this build's, every reading named."""
    r = similarity_row(step.c, step.y, step.t)
    rows = [{"table": table, "statistic": name, "reading": reading, "paper (MDSGen)": paper_value(table, row, PAPER_COLUMN),
             f"this build ({model})": r[key]} for table, row, name, key, reading in READINGS]
    rows.append({"table": "", "statistic": "share of |c|² along t_emb", "reading": "mean over clips",
                 "paper (MDSGen)": None, f"this build ({model})": r["t_share"]})
    return pd.DataFrame(rows).set_index(["table", "statistic", "reading"])


def statistics_status_rows(step, model):
    """The statistics as status-page rows: Table 1's and Table 5's MDSGen cells, each reading."""
    r = similarity_row(step.c, step.y, step.t)
    out = []
    for table, row, _, key, reading in READINGS[1:]:
        for t, name in [(table, row)] + ([("T5", Y_PLUS_T[row])] if row in Y_PLUS_T else []):
            out.append({"table": t, "row": name, "column": PAPER_COLUMN, "model": model, "value": r[key],
                        "reading": f"{reading}, {len(step.indices)} clips at t0 = {step.t0:g}"})
    return out


def variance_summary(step):
    """Per-dimension variance of c across clips (population): its mean and the share held by the top dimensions."""
    variance = dimension_variance(step.c)
    return pd.DataFrame({"value": {"mean variance across clips": variance.mean().item(),
                                   **{f"share of the variance in the top {100 * f:g}% of dimensions":
                                      top_share(variance, f) for f in TOP_FRACTIONS}}})


def reach_table(step, gains, head_fraction):
    """`condition.reach.reach_summary` of c at t0 over the clips, one named reading per line (with the extremes
    of mean c in the |c|-head)."""
    summary = reach_summary(step.c, gains, head_fraction)
    mean = step.c.mean(0)
    head = mean.abs().topk(summary["head_dims"]).indices
    values = {REACH_READINGS[key]: value for key, value in summary.items()}
    values["most negative mean c_i in the |c|-head"] = mean[head].min().item()
    values["largest mean c_i in the |c|-head"] = mean[head].max().item()
    return pd.DataFrame({"value": values})


NEW_TABLE = "V2A (new)"  # status-page table of experiments the paper did not run
METRIC_NAMES = {"removed_dims": "removed", "fid": "FD", "kid": "KID", "is": "IS", "precision": "precision",
                "recall": "recall", "onset_f1": "onset F1", "event_accuracy": "event accuracy",
                "pitch_accuracy": "pitch accuracy", "audioset_agreement": "AudioSet agreement"}
LOWER_IS_BETTER = ("fid", "kid")


def pruning_table(studies, metrics):
    """Every row of every study: mean ± 95% interval over seeds, paired change from its own baseline with verdict."""
    out = []
    for guidance, study in studies.items():
        summary = study.summary.set_index(["row", "metric"])
        for row in dict.fromkeys(study.summary["row"]):
            entry = {"guidance": guidance, "row": label(row),
                     f"removed (of d = {study.dim})": f"{summary.loc[(row, 'removed_dims'), 'mean']:.1f}"}
            for metric in metrics:
                h = summary.loc[(row, metric)]
                entry[METRIC_NAMES[metric]] = mean_text(h)
                if row != "baseline":
                    entry[f"Δ {METRIC_NAMES[metric]}"] = change_text(h)
            out.append(entry)
    return pd.DataFrame(out).set_index(["guidance", "row"]).fillna("")


def pruning_status_rows(studies, judge, profile):
    """The pruning rows for the status page: new experiments, no paper value; the reading says how each was made."""
    out = []
    for guidance, study in studies.items():
        n, s = study.protocol.samples_per_seed, study.protocol.seeds
        for h in study.summary.itertuples():
            if h.metric not in METRIC_NAMES or h.metric == "removed_dims":
                continue
            change = "" if h.row == "baseline" else (f"; change {h.delta:+.3g} (floor {h.noise_floor:.2g}): "
                                                     f"{h.verdict}")
            out.append({"table": NEW_TABLE, "row": f"{guidance}/{h.row}", "column": h.metric, "model": study.model,
                        "value": h.mean,
                        "reading": f"new experiment, no paper value: {label(h.row)}, {METRIC_NAMES[h.metric]} on "
                                   f"{n} samples per seed, mean of {s} seeds ± {h.ci95:.2g} (95%){change}; "
                                   f"{study.protocol.sampler.name}; {judge.extractor.name}"})
    return out
