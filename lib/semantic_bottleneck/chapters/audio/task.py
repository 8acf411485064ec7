"""The chapter's set-up and its runs: load the model, describe the task, run both studies, pick what to show and play.

Condition sources of this chapter have, beside the protocol (`for_indices`, `null_like`, `describe`), what a reader
sees and hears of a condition: `frames`, `real_sound`, `captions`, `onsets` (mel frames) and `labels` (groups for the
head/tail scores); the CAVP files of the paper profile return None (or no labels) where they have nothing.
"""
import os

import pandas as pd

from ...checkpoints.mdsgen import CAVP_ENV
from ...devices import cpu_threads, resolve_device
from ...registry import load_network
from ...study.protocol import run_study
from ...settings.chapters import AudioSettings
from .rows import guided_specs, label, share_specs, unguided_settings


def load(settings: AudioSettings):
    """The notebook's model as a `LoadedNetwork` (trained on first use in the tiny profiles), with `settings.threads`;
    a non-empty `settings.cavp_features` names the folder of CAVP files the paper profile's model is conditioned on."""
    if settings.cavp_features:
        os.environ[CAVP_ENV] = str(settings.cavp_features)
    with cpu_threads(settings.threads):
        return load_network(settings.model, settings.profile, resolve_device(settings.device))


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


def run_studies(settings: AudioSettings, judge):
    """The guided study (every row) and, with `settings.unguided`, the unguided one (share rows) on the same noise."""
    with cpu_threads(settings.threads):
        studies = {"with guidance": run_study(settings.model, settings, judge, guided_specs)}
        if settings.unguided:
            studies["without guidance"] = run_study(settings.model, unguided_settings(settings), judge, share_specs)
    return studies


PROTOCOL_METRICS = {"FID": ("fid",), "KID": ("kid",), "IS": ("is", "is10"),
                    "precision / recall": ("precision", "recall")}  # the judge's protocol lines and their metrics


def protocol_table(study, judge, metrics):
    """The study's protocol table with only the metrics this chapter shows (`metrics`): the judge describes every
    metric it can compute, and a line for one no table reports would say more than the chapter does."""
    table = study.protocol.table(judge)
    hidden = [line for line, keys in PROTOCOL_METRICS.items() if not set(keys) & set(metrics)]
    table = table.drop(index=[line for line in hidden if line in table.index])
    return table.rename(index={"FID": "FD"}) if "fid" in metrics else table


def grid_rows(study, rows):
    """The kept images of the baseline and of `rows` (ids), keyed by their labels, for `figures.spectrogram_grid`."""
    return {label(row): study.images[row] for row in ["baseline", *rows]}


def player_sounds(studies, loaded, count, rows):
    """Sound per row of the players: the real clip, its spectrogram's sound, then the baseline and `rows` of
    every study (the first `count` clips, decoded with the model's sound)."""
    sound, indices = loaded.info["sound"], range(count)
    real = loaded.conditions.real_sound(indices)
    out = {"real": real, "real, through the spectrogram": None if real is None else sound.round_trip(real)}
    for guidance, study in studies.items():
        for row in ["baseline", *rows]:
            if row in study.images:
                out[f"{label(row)}, {guidance}"] = sound(study.images[row][:count])
    return out
