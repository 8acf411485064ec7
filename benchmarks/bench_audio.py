"""Benchmark: what the video-to-audio chapter costs on this machine, piece by piece, on a cold cache.

Trains, in a temporary cache folder, the frame encoder (CAVP stand-in), the tiny MDSGen and the audio evaluation
network of a profile, then times the sampler (DPM-Solver++, with and without guidance, per 100 samples) and the way
back to sound (Griffin-Lim per clip), and prints one line each with the machine's load. Budgets (2 cores, idle):
the whole tiny chapter cold in 5 minutes, the ci one in 60 s. Run with one thread, as the notebook does.

    python benchmarks/bench_audio.py            # the tiny profile
    python benchmarks/bench_audio.py ci         # the ci profile
"""
import os
import sys
import tempfile
import time

import torch


def timed(label, fn):
    """Run fn(), print its wall time, return its result."""
    start = time.perf_counter()
    result = fn()
    print(f"{label:<46}{time.perf_counter() - start:8.1f} s", flush=True)
    return result


def main():
    """Train each piece of the profile in a fresh cache and time sampling and Griffin-Lim."""
    profile = sys.argv[1] if len(sys.argv) > 1 else "tiny"
    if profile not in ("tiny", "ci"):
        sys.exit(f"error: profile must be tiny or ci, got {profile!r}")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SEMANTIC_BOTTLENECK_CACHE"] = cache
        from semantic_bottleneck.registry import load_network
        from semantic_bottleneck.sampling.generate import generate
        from semantic_bottleneck.sampling.presets import preset
        from semantic_bottleneck.tiny.sounds import audio
        from semantic_bottleneck.tiny.sounds.audio_eval import load_eval_net
        from semantic_bottleneck.tiny.sounds.audio_model import load_tiny_mdsgen, profile_runs
        from semantic_bottleneck.tiny.sounds.frame_encoder import load_frame_encoder

        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; profile {profile}; cache {cache}")
        run, evaluation = profile_runs(profile)
        timed("frame encoder (CAVP stand-in)", lambda: load_frame_encoder(run.encoder, progress=False))
        timed(f"tiny MDSGen ({run.steps} steps, with its data)", lambda: load_tiny_mdsgen(profile, progress=False))
        timed("audio evaluation network", lambda: load_eval_net(evaluation, progress=False))
        loaded = load_network("tiny-mdsgen", profile)
        sampler = {"tiny": "tiny-v2a-dpmpp-20", "ci": "tiny-v2a-dpmpp-10"}[profile]  # the notebook's, per profile
        for name in (sampler, f"{sampler}-no-cfg"):
            images = timed(f"100 samples, {name}", lambda: generate(loaded.network, range(100), 0, preset(name),
                                                                    loaded.conditions, progress=False).images)
        timed("Griffin-Lim, 10 clips", lambda: audio.waveforms(images[:10]))
        print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
