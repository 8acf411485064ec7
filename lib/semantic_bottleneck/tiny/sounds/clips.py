"""Procedural video-to-audio clips: an object falls and hits the floor, or appears, and a sound starts with the event.

A clip is 16 frames (16 fps, 16 x 16 RGB) and one second of audio (8 kHz). Its one event happens at the start of
frame `event_frame`: the falling object touches the floor, or the object appears. The sound's onset is the
event's time; its pitch is the object's colour, its timbre (the event class) the object's shape, its loudness the
fall's speed (an appearing object sounds at a fixed level). Size, position, rotation, tints and pixel noise vary
freely. Every clip is drawn from its split and global index alone (like per-index noise), and the splits use
disjoint seeds, so the `test` clips never occur in training. Shapes: N clips, T frames, S frame side, L samples.
"""
from dataclasses import dataclass, fields
import math

import torch

from ..classes.shapes import COLOURS, SHAPES, shape_sdf

FRAMES, FRAME_SIZE, FPS = 16, 16, 16
SAMPLE_RATE = 8000
SAMPLES = FRAMES * SAMPLE_RATE // FPS  # one second
EVENT_SHAPES = SHAPES[:4]  # circle, square, triangle, cross
EVENTS = ("bell", "buzz", "pluck", "knock")  # the sound of each shape, in that order: the event classes
PITCHES = (220.0, 330.0, 495.0, 742.5)  # Hz of red, green, blue, yellow: a fifth apart
COLOUR_NAMES = tuple(COLOURS)
# (partial frequency ratios, amplitudes, decay time in s) of the tonal sounds; `knock` is band-passed noise instead
TIMBRES = {"bell": ((1.0, 2.76, 5.4, 0.0), (1.0, 0.35, 0.12, 0.0), 0.30),
           "buzz": ((1.0, 3.0, 5.0, 7.0), (1.0, 1 / 3, 1 / 5, 1 / 7), 0.18),
           "pluck": ((1.0, 2.0, 3.0, 4.0), (1.0, 0.5, 1 / 3, 0.25), 0.08)}
KNOCK_BAND, KNOCK_DECAY = (0.7, 1.6), 0.05  # the knock's noise band (times the pitch) and decay
KINDS = ("hit", "appear")
SPLITS = {"train": 11, "eval": 23, "reference": 37, "test": 41}  # seed namespaces: no clip is in two splits
SPEEDS = (0.8, 3.0)  # pixels per frame of a falling object
FLOOR = 13  # first row of the floor


@dataclass
class Clips:
    """The parameters of N clips (one tensor of N values each), drawn from split and index by `draw`."""

    shape: torch.Tensor  # event class: index into EVENT_SHAPES / EVENTS
    colour: torch.Tensor  # pitch class: index into COLOUR_NAMES / PITCHES
    kind: torch.Tensor  # index into KINDS
    event_frame: torch.Tensor  # the event happens at the start of this frame (2 .. 13)
    speed: torch.Tensor  # pixels per frame of the fall (hits; 0 for appearing objects)
    loudness: torch.Tensor  # peak amplitude of the sound
    radius: torch.Tensor
    x: torch.Tensor  # column of the object's centre
    rest_y: torch.Tensor  # row of the object's centre once it has landed or appeared
    angle: torch.Tensor
    background: torch.Tensor  # (N, 3)
    seed: torch.Tensor  # per-clip seed of the pixel and audio noise

    def __len__(self):
        return len(self.shape)

    def __getitem__(self, rows):
        """The clips of some rows (a slice, indices or a mask), as `Clips`."""
        return Clips(*[getattr(self, f.name)[rows] for f in fields(self)])

    def onset_seconds(self):
        """Time of each clip's event (and sound onset) in seconds."""
        return self.event_frame.double() / FPS

    def labels(self):
        """One line per clip, e.g. 'red circle hits (bell, 220 Hz) at frame 5'."""
        return [f"{COLOUR_NAMES[c]} {EVENT_SHAPES[s]} {'hits' if k == 0 else 'appears'} ({EVENTS[s]}, "
                f"{PITCHES[c]:g} Hz) at frame {e}" for s, c, k, e in zip(self.shape.tolist(), self.colour.tolist(),
                                                                      self.kind.tolist(), self.event_frame.tolist())]


def draw(split, indices):
    """The clips of global `indices` in `split` (train, eval, reference, test): each from its own seeded generator."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}; got {split!r}")
    rows = []
    for index in indices:
        g = torch.Generator().manual_seed(SPLITS[split] * 1_000_003 + int(index))
        u = torch.rand(9, generator=g, dtype=torch.float64).tolist()
        shape, colour, kind = int(4 * u[0]), int(4 * u[1]), int(u[2] < 0.4)
        speed = 0.0 if kind else SPEEDS[0] + (SPEEDS[1] - SPEEDS[0]) * u[4]
        loudness = 0.4 if kind else 0.15 + 0.6 * (speed - SPEEDS[0]) / (SPEEDS[1] - SPEEDS[0])
        radius = 3.2 + 1.4 * u[5]
        rest_y = FLOOR - 0.9 * radius if (not kind or u[8] < 0.5) else radius + (FLOOR - 2 * radius) * u[8]
        rows.append((shape, colour, kind, 2 + int(12 * u[3]), speed, loudness, radius,
                     radius + 1 + (FRAME_SIZE - 2 * radius - 2) * u[6], rest_y, 2 * math.pi * u[7],
                     torch.rand(3, generator=g).tolist(), int(torch.randint(0, 2**31, (1,), generator=g))))
    columns = list(zip(*rows)) if rows else [[] for _ in fields(Clips)]
    tensors = [torch.tensor(col, dtype=torch.long if f.name in ("shape", "colour", "kind", "event_frame", "seed")
                            else torch.float32) for f, col in zip(fields(Clips), columns)]
    return Clips(*tensors)


def render(clips):
    """The clips' video frames (N, T, 3, S, S) in [-1, 1]."""
    n, s = len(clips), FRAME_SIZE
    f = torch.arange(FRAMES, dtype=torch.float32).view(1, FRAMES)  # (1, T)
    before = (clips.event_frame.view(n, 1) - f).clamp(min=0)  # frames left until the event: (N, T)
    cy = clips.rest_y.view(n, 1) - clips.speed.view(n, 1) * before  # a hit falls at constant speed, then rests
    visible = (clips.kind.view(n, 1) == 0) | (f >= clips.event_frame.view(n, 1))  # (N, T)
    grid = torch.arange(s, dtype=torch.float32) + 0.5
    dx = (grid.view(1, 1, 1, s) - clips.x.view(n, 1, 1, 1)).expand(n, FRAMES, s, s)  # (N, T, S, S)
    dy = grid.view(1, 1, s, 1) - cy.view(n, FRAMES, 1, 1)  # (N, T, S, 1)
    cos, sin = torch.cos(clips.angle).view(n, 1, 1, 1), torch.sin(clips.angle).view(n, 1, 1, 1)  # (N, 1, 1, 1)
    px, py = cos * dx + sin * dy, -sin * dx + cos * dy  # (N, T, S, S)
    r = clips.radius.view(n, 1, 1, 1).expand(n, FRAMES, s, s)  # (N, T, S, S)
    sdf = torch.empty(n, FRAMES, s, s)
    for k, shape in enumerate(EVENT_SHAPES):
        pick = clips.shape == k
        if pick.any():
            sdf[pick] = shape_sdf(shape, px[pick], py[pick], r[pick])
    mask = torch.sigmoid(-sdf / 0.4) * visible.view(n, FRAMES, 1, 1)  # (N, T, S, S), anti-aliased
    palette = torch.tensor([COLOURS[c] for c in COLOUR_NAMES])
    colour = palette[clips.colour].view(n, 1, 3, 1, 1)  # (N, 1, 3, 1, 1)
    background = (-0.9 + 0.5 * clips.background).view(n, 1, 3, 1, 1)  # (N, 1, 3, 1, 1)
    floor = (torch.arange(s) >= FLOOR).float().view(1, 1, 1, s, 1)  # (1, 1, 1, S, 1)
    scene = background * (1 - floor) + 0.3 * floor
    frames = scene * (1 - mask.unsqueeze(2)) + colour * mask.unsqueeze(2)
    noise = torch.stack([torch.randn(FRAMES, 3, s, s, generator=torch.Generator().manual_seed(int(seed)))
                         for seed in clips.seed]) if n else torch.zeros(0, FRAMES, 3, s, s)
    return (frames + 0.03 * noise).clamp(-1, 1)


def sound(clips):
    """The clips' audio (N, L) at SAMPLE_RATE: the event's sound from its onset on, over a faint noise floor."""
    n = len(clips)
    t = torch.arange(SAMPLES, dtype=torch.float64).view(1, SAMPLES) / SAMPLE_RATE  # (1, L)
    since = t - clips.onset_seconds().view(n, 1)  # (N, L), seconds after the onset
    generators = [torch.Generator().manual_seed(int(seed) + 1) for seed in clips.seed]
    noise = torch.stack([torch.randn(2, SAMPLES, generator=g, dtype=torch.float64) for g in generators]) if n \
        else torch.zeros(0, 2, SAMPLES, dtype=torch.float64)
    pitch = torch.tensor(PITCHES, dtype=torch.float64)[clips.colour].view(n, 1)  # (N, 1)
    out = torch.zeros(n, SAMPLES, dtype=torch.float64)
    for k, event in enumerate(EVENTS):
        pick = clips.shape == k
        if not pick.any():
            continue
        if event == "knock":
            spectrum = torch.fft.rfft(noise[pick, 0], dim=1)
            freqs = torch.fft.rfftfreq(SAMPLES, 1 / SAMPLE_RATE, dtype=torch.float64).view(1, -1)  # (1, L/2+1)
            band = (freqs >= KNOCK_BAND[0] * pitch[pick]) & (freqs <= KNOCK_BAND[1] * pitch[pick])
            tone, decay = torch.fft.irfft(spectrum * band, n=SAMPLES, dim=1), KNOCK_DECAY
            tone = tone / tone.std(dim=1, keepdim=True)
        else:
            ratios, amplitudes, decay = TIMBRES[event]
            tone = torch.zeros(int(pick.sum()), SAMPLES, dtype=torch.float64)
            for ratio, amplitude in zip(ratios, amplitudes):
                audible = (ratio * pitch[pick] < SAMPLE_RATE / 2).double()  # partials above Nyquist are dropped
                tone += amplitude * audible * torch.sin(2 * math.pi * ratio * pitch[pick] * since[pick].clamp(min=0))
        envelope = (since[pick] / 0.004).clamp(0, 1) * torch.exp(-since[pick].clamp(min=0) / decay)  # 4 ms attack
        out[pick] = tone * envelope * (since[pick] >= 0)
    peak = out.abs().amax(dim=1, keepdim=True).clamp(min=1e-9)
    return (clips.loudness.double().view(n, 1) * out / peak + 0.001 * noise[:, 1]).float()  # (N, L)
