"""The video-to-audio chapter: its rows, statistics, scores, tables and sentences, its players, and the notebook under
`ci` with playable sound in the executed copy."""
import base64
from dataclasses import fields
import io
import re
import wave

import nbformat
import pandas as pd
import pytest
import torch

from semantic_bottleneck.book import driver as book
from semantic_bottleneck.chapters.audio import figures, report, rows, study as audio_study, tables as audio_tables
from semantic_bottleneck.judge.paired_seeds import summarise
from semantic_bottleneck.settings.chapters import AudioSettings
from semantic_bottleneck.sampling.presets import preset
from semantic_bottleneck.study.protocol import Protocol, Study
from semantic_bottleneck.tiny.sounds import audio_eval, clips
from semantic_bottleneck.tiny.sounds.audio_model import ClipConditions
from semantic_bottleneck.tiny.sounds.frame_encoder import FrameEncoder, FrameEncoderConfig
from semantic_bottleneck.nets.mdsgen import TinyMDSGen, TinyMDSGenConfig
import helpers

pytestmark = pytest.mark.usefixtures("one_thread")
PARAMS = dict(model="tiny-mdsgen", samplers={}, tail_shares=[0.5, 0.9], head_dims=[2], tail_taus=[0.1], head_taus=[],
              global_rows=True, contribution_tail_shares=[0.5], contribution_head_dims=[2])


def decoded_wavs(html):
    """Every embedded WAV of an HTML string as (rate, frames, channels)."""
    out = []
    for data in re.findall(r"data:audio/wav;base64,([A-Za-z0-9+/=]+)", html):
        with wave.open(io.BytesIO(base64.b64decode(data))) as w:
            out.append((w.getframerate(), w.getnframes(), w.getnchannels()))
    return out


def test_the_rows_name_what_they_prune():
    specs = rows.guided_specs(AudioSettings(**PARAMS), dim=64)
    assert list(specs) == ["tail_share0.5", "tail_share0.9", "head_dims2", "tail_contribution_share0.5",
                           "head_contribution_dims2", "tail_tau0.1", "tail_share0.5@global", "tail_share0.9@global",
                           "head_dims2@global"]
    assert specs["tail_contribution_share0.5"].ranking == "contribution" and "@" not in "".join(
        r for r, s in specs.items() if s.ranking == "contribution")
    assert specs["head_dims2"].fraction == 2 / 64 and specs["head_dims2"].part == "head"
    assert specs["tail_tau0.1"].tau == 0.1 and specs["head_dims2@global"].reading == "global"
    assert [rows.label(r) for r in ("baseline", "tail_share0.5", "head_dims2@global", "tail_tau0.1")] == [
        "baseline", "tail 50% (per sample)", "head 2 dims (global)", "tail τ=0.1 (per sample)"]
    unguided = rows.unguided_settings(AudioSettings(**PARAMS))
    assert unguided.samplers == {"tiny-mdsgen": "tiny-v2a-dpmpp-20-no-cfg"} and preset("tiny-v2a-dpmpp-20-no-cfg").guidance_scale == 1
    with pytest.raises(ValueError, match="no guidance-free twin"):
        rows.unguided_settings(AudioSettings(**{**PARAMS, "samplers": {"tiny-mdsgen": "tiny-ddim-20"}}))


def test_the_statistics_of_c_over_clips_beside_the_paper():
    model = helpers.randomize(lambda: TinyMDSGen(TinyMDSGenConfig(hidden_size=32, depth=2, num_heads=2)), std=0.2)
    conditions = ClipConditions(FrameEncoder(FrameEncoderConfig()).eval())
    step = audio_study.first_step(model, conditions, preset("tiny-v2a-dpmpp-10"), count=40)
    assert step.c.shape == (40, 32) and step.t0 == 999
    torch.testing.assert_close(step.c, step.y + step.t)
    table = audio_tables.statistics_beside_paper(step, "tiny-mdsgen")
    assert table.loc[("T1", "cosine", "mean over pairs of clips"), "paper (MDSGen)"] == pytest.approx(0.9999)
    status = audio_tables.statistics_status_rows(step, "tiny-mdsgen")
    assert {(r["table"], r["row"]) for r in status} == {("T1", "pr"), ("T1", "npr"), ("T1", "cosine"),
                                                        ("T5", "cosine_y_plus_t"), ("T5", "npr_y_plus_t"),
                                                        ("T5", "cosine_y_only"), ("T5", "npr_y_only")}
    scores, subsets = audio_study.separation(step, conditions.labels(step.indices), 0.1, folds=4)
    assert set(scores.index.get_level_values(0)) == {"event class", "pitch class"} and len(subsets["head"]) == 4
    assert audio_study.separation(step, {}, 0.1)[0] is None
    with pytest.raises(ValueError, match="at least 2 distinct"):
        audio_study.first_step(model, conditions, preset("tiny-v2a-dpmpp-10"), count=1)


def test_the_scores_of_a_clip_follow_its_events():
    indices = list(range(24))
    real = audio_eval.real_spectrograms("test", indices)
    onset = audio_eval.OnsetAlignment()
    assert onset(real, None, None, indices).mean() > 0.9
    assert onset(-torch.ones_like(real), None, None, indices).sum() == 0  # silence has no onset
    batch = clips.draw("test", indices)
    logits = torch.nn.functional.one_hot(audio_eval.joint_class(batch), audio_eval.CLASSES).float() * 10
    assert audio_eval.EventAccuracy()(real, None, logits, indices).mean() == 1
    assert audio_eval.PitchAccuracy()(real, None, logits, indices).mean() == 1
    event, pitch = audio_eval.marginals(logits)
    torch.testing.assert_close(event.exp().sum(1), logits.exp().sum(1))  # each marginal sums the joint
    assert torch.equal(pitch.argmax(1), batch.colour)


def fake_study(deltas, dim=32):
    """A study whose rows differ from the baseline by `deltas` (row -> change of onset F1), three seeds each."""
    long = []
    for row, delta in {"baseline": 0.0, **deltas}.items():
        for r, noise in enumerate((0.0, 0.01, -0.01)):
            long += [{"row": row, "replicate": r, "metric": "onset_f1", "value": 0.8 + delta + noise},
                     {"row": row, "replicate": r, "metric": "removed_dims", "value": 0.0 if row == "baseline" else 16}]
    specs = rows.guided_specs(AudioSettings(**{**PARAMS, "tail_taus": [], "global_rows": False}), dim)
    protocol = Protocol("tiny-mdsgen", preset("tiny-v2a-dpmpp-20"), 8, 3)
    frame = pd.DataFrame(long)
    values = dict(model="tiny-mdsgen", protocol=protocol, specs={k: specs[k] for k in deltas}, long=frame,
                  summary=summarise(frame), images={}, per_sample={}, dim=dim, embedding=None)
    return Study(**{f.name: values[f.name] for f in fields(Study)})


def test_the_tables_rows_and_sentences_of_a_study():
    studies = {"with guidance": fake_study({"tail_share0.5": 0.001, "head_dims2": -0.5})}
    table = audio_tables.pruning_table(studies, ["onset_f1"])
    assert table.loc[("with guidance", "head 2 dims (per sample)"), "Δ onset F1"] == "-0.5 (larger than noise)"
    assert table.loc[("with guidance", "tail 50% (per sample)"), "Δ onset F1"].endswith("(within noise)")
    status = audio_tables.pruning_status_rows(studies, helpers.small_judge(), "tiny")
    assert {r["table"] for r in status} == {audio_tables.NEW_TABLE}
    assert all("no paper value" in r["reading"] for r in status)
    studies["without guidance"] = fake_study({"tail_share0.5": -0.2, "head_dims2": 0.0})
    text = report.describe_pruning(studies, ["onset_f1"], "tiny")
    assert "Changed beyond the noise (with guidance): head 2 dims (per sample), 16.0 of 32 removed (onset F1 -0.5 " \
        "(worse))." in text
    assert "Changed beyond the noise (without guidance): tail 50% (per sample), 16.0 of 32 removed (onset F1 -0.2 " \
        "(worse))." in text
    assert ("No change detected in any metric (each within its floor or its interval): tail 50% (per sample) "
            "(16.0 of 32 removed).") in text
    assert "tail 50% (per sample) +0.001 / -0.2; head 2 dims (per sample) -0.5 / +0" in text
    points = figures.sweep_points(studies)
    assert set(points["series"]) == {f"{part}, {g}" for part in ("tail", "head") for g in studies}


def test_the_players_embed_wavs_of_the_stated_rate_and_length():
    sound = clips.sound(clips.draw("test", [0, 1]))
    html = figures.players({"real": sound, "missing": None}, clips.SAMPLE_RATE, clips.render(clips.draw("test", [0, 1])),
                           ["a", "b"]).data
    assert decoded_wavs(html) == [(clips.SAMPLE_RATE, clips.SAMPLES, 1)] * 2 and html.count("data:image/png") == 2
    assert "missing" not in html
    assert "No sound to play" in figures.players({"real": None}, clips.SAMPLE_RATE).data


@pytest.mark.slow
def test_the_chapter_runs_under_ci_and_its_executed_copy_plays_sound(build_dirs):
    results = helpers.execute_under_ci("05_video_to_audio")
    assert {("T1", "cosine"), ("T5", "npr_y_only")} <= set(zip(results["table"], results["row"]))
    assert (results["table"] == audio_tables.NEW_TABLE).sum() > 0
    executed = nbformat.read(book.EXECUTED / "05_video_to_audio.ipynb", as_version=4)
    html = "".join(output.get("data", {}).get("text/html", "") for cell in executed.cells if cell.cell_type == "code"
                   for output in cell.outputs)
    wavs = decoded_wavs(html)  # the first players (real, round trip) and the last (plus baseline and rows)
    assert len(wavs) >= 2 * 2 + 2 * 6 and set(wavs) == {(clips.SAMPLE_RATE, clips.SAMPLES, 1)}
