"""The video-to-audio chapter's figures and players: spectrograms from the same noise, and sound to listen to.

`spectrogram_grid` draws one row per pruning level (the same noise and clip per column); `players` is an HTML table
with a column per clip: its video frames above its sounds (the real one, the baseline's, the pruned rows'), each an
embedded WAV (`IPython.display.Audio`), so the rendered book plays them without any server.
"""
import base64
import io
import textwrap

from IPython.display import Audio, HTML, Markdown
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ..captions import captioned
from ..figures import scatter_panels
from ..pruning_tables import POINT_COLUMNS, sweep_points as shared_sweep_points
from .study import tsne

RMS_LIMIT = 0.1  # about the real clips' loudness


def spectrogram_grid(rows, column_labels=None, onsets=None, title=None):
    """Spectrograms (row name -> (n, 1, frames, bands) in [-1, 1]) as time x mel images, one row per name, the
    same clip and noise per column; dotted lines at the true onsets (mel frames), where given."""
    names = list(rows)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(names), n, figsize=(1.5 * n + 1.6, 1.2 * len(names) + 0.5), squeeze=False)
    for r, name in enumerate(names):
        images = torch.as_tensor(rows[name]).float().cpu()
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(images):
                ax.imshow(images[c, 0].T.numpy(), origin="lower", aspect="auto", vmin=-1, vmax=1, cmap="magma",
                          interpolation="nearest")
                if onsets is not None:
                    ax.axvline(onsets[c] - 0.5, color="white", ls=":", lw=0.8)
            if r == 0 and column_labels is not None and c < len(column_labels):
                ax.set_title(textwrap.fill(column_labels[c], 24), fontsize=6)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    plt.close(fig)  # returned for display; closing avoids a second inline copy
    return captioned(fig, "No figure of the paper (which prunes no sound model): spectrograms from the same noise as "
                          "more of c is zeroed, in the manner of its Figs 7 and 8")


def head_tail_tsne(step, labels, subsets, scores, names, seed=0, perplexity=30.0):
    """Fig. 13's analog for clips: t-SNE of c in each subset of dimensions, coloured by event class, with the
    leave-one-group-out k-NN accuracy and silhouette in the titles (a note instead where there are no labels)."""
    if scores is None:
        return Markdown("The conditions carry no event labels (CAVP feature files), so there is nothing to group by.")
    event = scores.loc["event class"]
    captions = {name: f"{name} ({int(event.loc[name, 'dims'])} dims)\nk-NN {event.loc[name, 'knn_accuracy']:.2f}, "
                      f"silhouette {event.loc[name, 'silhouette']:.2f}" for name in subsets}
    fig = scatter_panels(f"t-SNE of c over {len(step.indices)} clips at t0 = {step.t0:g}, by event class",
                         tsne(step, subsets, seed, perplexity), labels["event class"], captions, names)
    return captioned(fig, "Fig. 13 of the paper, for clips (it has no such figure for MDSGen): t-SNE of c in the head, "
                          "the tail and the control subsets, coloured by event class")


def _png(frames):
    """A strip of video frames (T, 3, S, S) in [-1, 1] as a base64 PNG."""
    strip = ((torch.as_tensor(frames).clamp(-1, 1) + 1) / 2).permute(2, 0, 3, 1).flatten(1, 2).numpy()  # (S, T*S, 3)
    buffer = io.BytesIO()
    plt.imsave(buffer, strip, format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def audio_element(waveform, rate, rms_limit=RMS_LIMIT):
    """An HTML <audio> element holding the waveform as an embedded WAV: turned down to an RMS of `rms_limit` if
    louder (a destroyed sample is full-scale noise), never up, then clipped to [-1, 1]."""
    data = np.asarray(waveform, dtype=np.float64)
    rms = np.sqrt(np.mean(data**2))
    data = np.clip(data * min(1.0, rms_limit / rms) if rms > 0 else data, -1, 1)
    return f'<audio controls preload="none" src="{Audio(data, rate=rate, normalize=False).src_attr()}"></audio>'


def players(sounds, rate, frames=None, captions=None):
    """An HTML table, one column per clip: its frames, then one player per sound (`sounds`: row name -> (N, L) or None,
    Nones left out); a note instead when there is no sound at all."""
    rows = {name: value for name, value in sounds.items() if value is not None}
    if not rows:
        return Markdown("No sound to play: the conditions come without their real sound (CAVP feature files).")
    count = len(next(iter(rows.values())))
    cell = 'style="padding:2px 6px;font-size:80%"'
    header = "<tr><th></th>" + "".join(f"<th {cell}>{captions[i] if captions is not None else i}</th>"
                                       for i in range(count)) + "</tr>"
    body = []
    if frames is not None:
        body.append("<tr><td>video frames</td>" + "".join(
            f'<td {cell}><img src="data:image/png;base64,{_png(frames[i])}" style="height:36px;'
            f'image-rendering:pixelated"></td>' for i in range(count)) + "</tr>")
    for name, values in rows.items():
        body.append(f"<tr><td {cell}>{name}</td>" + "".join(f"<td {cell}>{audio_element(values[i], rate)}</td>"
                                                        for i in range(count)) + "</tr>")
    return HTML(f'<table class="players">{header}{"".join(body)}</table>')


def sweep_points(studies):
    """Per-sample rows as points for `chapters.figures.share_sweep`: series (part, ranking other than |c_i|,
    guidance), share of d removed (in [0, 1]), metric, mean, ci95 (the baseline starts both parts by |c_i|)."""
    frames = []
    for guidance, study in studies.items():
        series = {}
        for row, spec in {"baseline": None, **study.specs}.items():
            if "@" in row or (spec is not None and spec.fraction is None):
                continue
            by = "" if spec is None or spec.ranking == "magnitude" else f" by {spec.ranking}"
            for part in ("tail", "head") if spec is None else (spec.part,):
                series.setdefault(f"{part}{by}, {guidance}", []).append(row)
        frames.append(shared_sweep_points(study, series)[list(POINT_COLUMNS)])
    return pd.concat(frames, ignore_index=True).sort_values(["series", "share"])
