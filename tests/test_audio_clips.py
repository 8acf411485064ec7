"""The tiny video-to-audio task: procedural clips (events, sounds), spectrograms, the way back to sound, onsets."""
import librosa
import numpy as np
import pytest
import torch

from semantic_bottleneck.tiny.sounds import audio, clips

pytestmark = pytest.mark.usefixtures("one_thread")


def test_a_clip_is_drawn_from_its_split_and_index_alone():
    a, b = clips.draw("test", [3, 7]), clips.draw("test", [7])
    assert torch.equal(a.event_frame[1:], b.event_frame) and torch.equal(a.x[1:], b.x)
    assert torch.equal(clips.render(a[1:]), clips.render(b)) and torch.equal(clips.sound(a)[1:], clips.sound(b))
    train = clips.draw("train", range(200))
    test = clips.draw("test", range(200))
    assert not set(zip(train.x.tolist(), train.rest_y.tolist())) & set(zip(test.x.tolist(), test.rest_y.tolist()))
    with pytest.raises(ValueError, match="split must be one of"):
        clips.draw("validation", [0])


def test_the_sound_starts_at_the_event_and_not_before():
    batch = clips.draw("test", range(40))
    sound = clips.sound(batch)
    for wave, frame in zip(sound, batch.event_frame.tolist()):
        onset = frame * clips.SAMPLES // clips.FRAMES
        before, after = wave[:onset].abs().max().item(), wave[onset:onset + 200].abs().max().item()
        assert before < 0.01 < after  # only the faint noise floor before the event


def test_a_falling_object_touches_the_floor_at_its_event_frame_and_an_appearing_one_shows_up_then():
    batch = clips.draw("test", range(60))
    frames = clips.render(batch)  # (N, T, 3, S, S)
    object_pixels = ((frames - frames[:, :, :, :1, :1]).abs().sum(2) > 0.6)  # differs from the top-left background
    above_floor = object_pixels[..., :clips.FLOOR, :]
    lowest = lambda i, f: above_floor[i, f].any(-1).nonzero().max().item()  # lowest object row in frame f
    rows = torch.arange(clips.FLOOR, dtype=torch.float32).view(-1, 1)
    centre = lambda i, f: (above_floor[i, f] * rows).sum() / above_floor[i, f].sum()  # mean row of the object
    for i, (kind, frame) in enumerate(zip(batch.kind.tolist(), batch.event_frame.tolist())):
        if kind == 0:  # a hit: on the floor at its event frame and after it, higher one frame before
            assert lowest(i, frame) >= clips.FLOOR - 2 and abs(centre(i, frame) - centre(i, clips.FRAMES - 1)) < 0.3
            assert not above_floor[i, frame - 1].any() or centre(i, frame - 1) < centre(i, frame)
        else:  # appears: nothing before its event frame, something from it on
            assert above_floor[i, frame - 1].sum() == 0 and above_floor[i, frame].sum() > 0


def test_the_pitch_is_the_colour_and_the_loudness_follows_the_speed():
    batch = clips.draw("test", range(200))
    bells = (batch.shape == 0).nonzero().flatten()[:8]
    sound = clips.sound(batch[bells])
    for wave, colour in zip(sound, batch.colour[bells].tolist()):
        spectrum = torch.fft.rfft(wave).abs()
        peak = spectrum.argmax().item() * clips.SAMPLE_RATE / clips.SAMPLES
        assert peak == pytest.approx(clips.PITCHES[colour], abs=2.0)
    hits = batch.kind == 0
    assert np.corrcoef(batch.speed[hits], batch.loudness[hits])[0, 1] == pytest.approx(1.0)
    assert "hits" in batch.labels()[0] or "appears" in batch.labels()[0]


def test_the_mel_spectrogram_is_librosas_and_its_image_maps_back_to_db():
    sound = clips.sound(clips.draw("test", range(4)))
    ours = audio.mel_power(sound)
    theirs = librosa.feature.melspectrogram(y=sound.numpy(), sr=clips.SAMPLE_RATE, n_fft=audio.N_FFT,
                                            hop_length=audio.HOP, n_mels=audio.N_MELS, fmax=clips.SAMPLE_RATE / 2)
    np.testing.assert_allclose(ours.numpy(), theirs[..., :audio.MEL_FRAMES], rtol=1e-4, atol=1e-6 * theirs.max())
    image = audio.to_image(ours)
    assert image.shape == (4, 1, audio.MEL_FRAMES, audio.N_MELS) and image.min() >= -1 and image.max() <= 1
    db = 10 * np.log10(np.maximum(ours.numpy(), 1e-10))
    inside = (db > audio.DB_LOW) & (db < audio.DB_HIGH)
    np.testing.assert_allclose(audio.to_db(image)[inside], db[inside], atol=1e-3)


def test_the_round_trip_through_griffin_lim_keeps_the_audible_bins_within_two_db():
    images = audio.spectrograms(clips.sound(clips.draw("test", range(8))))
    error = audio.round_trip_error(images)
    assert error["mean |dB| (audible bins)"] < 2.0  # measured 1.2 dB on 32 test clips
    assert 0.02 < error["audible share of bins"] < 0.5
    assert audio.waveforms(images).shape == (8, clips.SAMPLES)


def test_onsets_are_found_where_hand_made_tones_start():
    t = np.arange(clips.SAMPLES) / clips.SAMPLE_RATE
    starts = [4, 13, 25]  # mel frames
    waves = []
    for frame in starts:
        start = frame * audio.HOP / clips.SAMPLE_RATE
        waves.append(np.where(t >= start, 0.5 * np.sin(2 * np.pi * 440 * t) * np.exp(-(t - start) / 0.2), 0.0))
    waves.append(np.zeros_like(t))  # silence
    found = audio.onset_frames(audio.spectrograms(torch.tensor(np.stack(waves), dtype=torch.float32)))
    for frames, start in zip(found, starts):
        assert list(frames) == [start]
    assert audio.onset_f1(found[0], starts[0]) == 1.0
    assert audio.onset_f1(found[0], starts[0] + 2) == 1.0 and audio.onset_f1(found[0], starts[0] + 3) == 0.0
    assert audio.onset_f1([5, 20, 29], 19) == pytest.approx(0.5)  # one hit among three: 2 / (3 + 1)
    assert audio.onset_f1([], 10) == 0.0 and audio.onset_f1(found[-1], 10) == 0.0
