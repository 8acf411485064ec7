"""Benchmark: what the `paper` profile of the pruning chapter costs, per model, on this machine's device.

Counts the network rows the chapter's protocol runs (samples x steps x rows, CFG steps doubled, last-k
rows restarted from the baseline's state), times forward passes of each family's XL network (random
weights, the profile's dtype) on the default device, and prints the estimated device-hours. Run it on
the GPU you plan to use (Colab); on a CPU it shows how far out of reach the protocol is there.

    python benchmarks/bench_paper_cost.py [--batch 64] [--repeats 3]
"""
import argparse
from pathlib import Path
import sys
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from bench_pruning import notebook_params  # noqa: E402  (a sibling script)


def network_rows(params, name, dim=1152):
    """(preset, number of rows, network rows) of one model under the chapter's parameters."""
    from semantic_bottleneck import registry
    from semantic_bottleneck.chapters.pruning.rows import table2_specs
    from semantic_bottleneck.sampling.generate import timesteps
    from semantic_bottleneck.sampling.presets import preset

    config = preset(params.samplers.get(name) or registry.model(name).sampler)
    grid = timesteps(config)
    guided = [config.guidance_scale != 1.0 and (config.solver in ("ddim", "ddpm")
                                                or config.guidance_low <= t <= config.guidance_high) for t in grid]
    specs = table2_specs(params, dim)
    per_sample = 0
    for spec in specs.values():
        steps = guided[-spec.k:] if spec is not None and spec.schedule == "last_k_steps" else guided
        per_sample += sum(2 if g else 1 for g in steps)
    return config, len(specs), per_sample * params.samples_per_seed * params.seeds


def forward_rate(family, device, dtype, batch, repeats):
    """Network rows per second of the family's XL network (random weights) on `device`."""
    import torch

    from semantic_bottleneck.nets.dit import CONFIGS, DiT
    from semantic_bottleneck.nets.lightningdit import LightningDiT, LightningDiTConfig

    model = (LightningDiT(LightningDiTConfig()) if family == "lightningdit"
             else DiT(CONFIGS["DiT-XL/2"])).to(device).eval()
    c, h = model.config.in_channels, model.config.image_size
    x, t, y = torch.randn(batch, c, h, h, device=device), torch.rand(batch, device=device), torch.zeros(
        batch, dtype=torch.long, device=device)
    times = []
    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
        for i in range(repeats + 1):  # the first call warms up
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            model(x, t, y)
            if device == "cuda":
                torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - start)
    return batch / sorted(times)[len(times) // 2]


def main():
    """Print per model: sampler, rows, network rows, measured rate and estimated hours."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=None, help="rows per timed forward (default 256 GPU, 2 CPU)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from semantic_bottleneck import registry
    from semantic_bottleneck.devices import resolve_device

    params = notebook_params("paper")
    device = resolve_device(params.device)
    batch = args.batch or (256 if device == "cuda" else 2)
    rates = {}
    print(f"device {device}, dtype {params.dtype}, {params.samples_per_seed} samples x {params.seeds} seeds")
    print(f"{'model':18}{'rows':>5}{'network rows':>15}{'rows/s':>10}{'hours':>9}  sampler")
    for name in params.models:
        family = registry.model(name).family
        config, n_rows, total = network_rows(params, name)
        if family not in rates:
            rates[family] = forward_rate("lightningdit" if family == "lightningdit" else "dit", device,
                                         params.dtype, batch, args.repeats)
        hours = total / rates[family] / 3600
        print(f"{name:18}{n_rows:>5}{total:>15,}{rates[family]:>10.1f}{hours:>9.1f}  {config.describe()}")
    print("Forward passes only: decoding, Inception and CLIP add to this (one pass per image, not per step).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
