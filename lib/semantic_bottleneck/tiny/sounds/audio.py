"""The tiny profile's sound as the networks see it: log-mel spectrograms, back to sound, and onsets (librosa).

A clip's one second at 8 kHz becomes a mel spectrogram of 32 frames (hop 250 samples: two per video frame) x 32
mel bands (0 to 4 kHz; librosa's Slaney filterbank, periodic Hann window of 512, centred frames); its power in dB,
mapped linearly from [DB_LOW, DB_HIGH] to [-1, 1] and clipped, is the "image" the tiny MDSGen denoises, laid out as
MDSGen's latents are: time down the rows, mel bands across (N, 1, frames, bands). The STFT runs in torch (the same
transform as librosa's, batched); the way back to a waveform is the filterbank's pseudo-inverse and librosa's
Griffin-Lim, and onsets are librosa's onset detection on the dB mel spectrogram.
Shapes: N clips, L samples, M mel bands, K frames.
"""
import numpy as np
import torch

from .clips import FPS, SAMPLE_RATE, SAMPLES

N_FFT, HOP, N_MELS = 512, 250, 32
MEL_FRAMES = SAMPLES // HOP  # 32; librosa's centred framing gives one more, at the very end, which is dropped
DB_LOW, DB_HIGH = -40.0, 30.0  # dB mapped to -1 and 1; the clips' noise floor (near -53 dB) is clipped to -1
FRAMES_PER_VIDEO_FRAME = SAMPLE_RATE // FPS // HOP  # 2
GRIFFIN_LIM_ITERATIONS = 32


def mel_filterbank():
    """librosa's mel filterbank (M, N_FFT/2 + 1) for this sample rate, as a float32 tensor."""
    import librosa

    return torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmax=SAMPLE_RATE / 2))


def mel_power(waveforms):
    """Mel power spectrograms (N, M, K) of waveforms (N, L): librosa's `melspectrogram` conventions, in torch."""
    spectrum = torch.stft(torch.as_tensor(waveforms, dtype=torch.float32), N_FFT, HOP,
                          window=torch.hann_window(N_FFT, periodic=True), center=True, pad_mode="constant",
                          return_complex=True)  # (N, N_FFT/2 + 1, K + 1)
    return (mel_filterbank() @ spectrum.abs().square())[..., :MEL_FRAMES]


def to_image(power):
    """Mel power (N, M, K) -> the networks' input (N, 1, K, M) in [-1, 1]: dB mapped from [DB_LOW, DB_HIGH]."""
    db = 10 * torch.log10(power.clamp(min=1e-10))
    return ((db - DB_LOW) / (DB_HIGH - DB_LOW) * 2 - 1).clamp(-1, 1).transpose(1, 2).unsqueeze(1)


def to_db(images):
    """The networks' spectrograms (N, 1, K, M) in [-1, 1] -> dB mel spectrograms (N, M, K) as numpy."""
    x = torch.as_tensor(images).float().clamp(-1, 1).squeeze(1).transpose(1, 2)  # (N, M, K)
    return ((x + 1) / 2 * (DB_HIGH - DB_LOW) + DB_LOW).cpu().numpy()


def spectrograms(waveforms):
    """The networks' input (N, 1, K, M) of waveforms (N, L)."""
    return to_image(mel_power(waveforms))


def waveforms(images, iterations=GRIFFIN_LIM_ITERATIONS):
    """Sound (N, L) of spectrograms (N, 1, K, M): the filterbank's pseudo-inverse (clipped at 0), then librosa's
    Griffin-Lim (seeded phases). librosa's own `mel_to_stft` (non-negative least squares) gives the same spectra on
    real clips but can take tens of seconds on a loud, noisy generated one."""
    import librosa

    power = 10 ** (to_db(images) / 10)
    padded = np.concatenate([power, power[..., -1:]], axis=-1)  # the dropped last centred frame, repeated
    magnitude = np.sqrt(np.maximum(np.linalg.pinv(mel_filterbank().numpy()) @ padded, 0))  # (N, N_FFT/2 + 1, K + 1)
    audio = librosa.griffinlim(magnitude, n_iter=iterations, hop_length=HOP, center=True, pad_mode="constant",
                               length=SAMPLES, random_state=0)
    return torch.from_numpy(np.asarray(audio, dtype=np.float32)).reshape(-1, SAMPLES)  # (N, L)


class GriffinLim:
    """Spectrograms (N, 1, K, M) -> sound (N, L) at `rate` (`waveforms`); the way real sound loses by the trip."""

    rate = SAMPLE_RATE
    name = f"librosa mel inversion + Griffin-Lim ({GRIFFIN_LIM_ITERATIONS} iterations, {SAMPLE_RATE} Hz)"

    def __call__(self, images):
        return waveforms(images)

    def round_trip(self, sound):
        """Real sound (N, L) as the spectrograms keep it: sound -> spectrogram -> sound."""
        return waveforms(spectrograms(sound))

    def round_trip_error(self, sound):
        """`round_trip_error` of real sound's spectrograms."""
        return round_trip_error(spectrograms(sound))


def onset_frames(images):
    """Detected onsets of each spectrogram (N, 1, K, M): a list of arrays of mel-frame indices.

    librosa's onset strength (mean positive change of dB between frames) and its peak picking, with defaults.
    """
    import librosa

    out = []
    for db in to_db(images):
        db[:, 0] = db[:, 1]  # the first centred frame is half zero padding: quieter than the noise floor, not an onset
        envelope = librosa.onset.onset_strength(S=db, sr=SAMPLE_RATE, hop_length=HOP, center=False)  # S is centred
        out.append(librosa.onset.onset_detect(onset_envelope=envelope, sr=SAMPLE_RATE, hop_length=HOP, units="frames"))
    return out


def onset_f1(detected, true_frame, tolerance=FRAMES_PER_VIDEO_FRAME):
    """F1 of detected onsets (mel frames) against one true onset: a hit is a detection within `tolerance` frames.

    1 when exactly one onset is detected within the tolerance, 2 / (n + 1) with n detections of which one hits,
    0 when none hits (also when nothing is detected).
    """
    detected = np.asarray(detected)
    hit = bool(len(detected)) and np.abs(detected - true_frame).min() <= tolerance
    return 2 / (len(detected) + 1) if hit else 0.0


def round_trip_error(images, within_db=30.0):
    """How far mel -> sound (Griffin-Lim) -> mel moves spectrograms (N, 1, K, M): mean and 95th percentile of |dB|
    over the bins within `within_db` of each clip's peak, and over all bins."""
    before, after = to_db(images), to_db(spectrograms(waveforms(images)))
    audible = before >= before.max(axis=(1, 2), keepdims=True) - within_db
    error = np.abs(after - before)
    return {"mean |dB| (audible bins)": float(error[audible].mean()),
            "95th percentile |dB| (audible bins)": float(np.percentile(error[audible], 95)),
            "mean |dB| (all bins)": float(error.mean()), "audible share of bins": float(audible.mean())}
