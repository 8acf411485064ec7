"""Benchmark: `stats` on a full-size DiT-XL/2 checkpoint against a plain full `torch.load` of it.

Writes a checkpoint with every key and shape of the released DiT-XL/2 (random weights, about
2.7 GB) to a temporary folder, runs each measurement in a fresh subprocess (time of the operation
after imports, and the process's peak RSS from `getrusage`), prints them side by side, and
deletes the file. Targets: at least 10x faster and under 500 MB peak RSS.

The parent never imports torch and writes the checkpoint from a child process: Linux carries a
parent's peak RSS into a child's `ru_maxrss` across fork/exec, which would hide the real numbers.

    PYTHONPATH=lib python benchmarks/bench_stats.py [--repeats 3] [--dir /tmp]
"""
import argparse
import json
import os
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time

LIB = Path(__file__).resolve().parents[1] / "lib"

CHILD = """
import json, resource, time
start = time.perf_counter()
import torch
{imports}
imported = time.perf_counter()
{operation}
done = time.perf_counter()
print(json.dumps({{"import_s": imported - start, "op_s": done - imported,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""

MEASUREMENTS = {
    "imports only": ("from semantic_bottleneck.commands.stats_command import checkpoint_stats", "pass"),
    "read c (ours)": ("from semantic_bottleneck.checkpoints.read import read_condition_embedding",
                      "read_condition_embedding(PATH, 'dit').c(999)"),
    "stats (ours)": ("from semantic_bottleneck.checkpoints.read import read_condition_embedding\n"
                     "from semantic_bottleneck.commands.stats_command import checkpoint_stats",
                     "checkpoint_stats(read_condition_embedding(PATH, 'dit'))"),
    "full torch.load": ("", "state = torch.load(PATH, map_location='cpu', weights_only=True)\n"
                            "assert sum(v.numel() for v in state.values()) > 6e8"),
}


def dit_xl_shapes(depth=28, hidden=1152, patch=2, in_channels=4, out_channels=8, classes=1000, tokens=256):
    """Every key and shape of the original DiT-XL/2 256x256 state dict (facebookresearch/DiT layout)."""
    d = hidden
    shapes = {"pos_embed": (1, tokens, d), "x_embedder.proj.weight": (d, in_channels, patch, patch),
              "x_embedder.proj.bias": (d,), "t_embedder.mlp.0.weight": (d, 256), "t_embedder.mlp.0.bias": (d,),
              "t_embedder.mlp.2.weight": (d, d), "t_embedder.mlp.2.bias": (d,),
              "y_embedder.embedding_table.weight": (classes + 1, d)}
    for i in range(depth):
        b = f"blocks.{i}."
        shapes.update({b + "attn.qkv.weight": (3 * d, d), b + "attn.qkv.bias": (3 * d,),
                       b + "attn.proj.weight": (d, d), b + "attn.proj.bias": (d,),
                       b + "mlp.fc1.weight": (4 * d, d), b + "mlp.fc1.bias": (4 * d,),
                       b + "mlp.fc2.weight": (d, 4 * d), b + "mlp.fc2.bias": (d,),
                       b + "adaLN_modulation.1.weight": (6 * d, d), b + "adaLN_modulation.1.bias": (6 * d,)})
    shapes.update({"final_layer.linear.weight": (patch * patch * out_channels, d),
                   "final_layer.linear.bias": (patch * patch * out_channels,),
                   "final_layer.adaLN_modulation.1.weight": (2 * d, d), "final_layer.adaLN_modulation.1.bias": (2 * d,)})
    return shapes


def write_checkpoint(path):
    """Save a random DiT-XL/2-layout state dict (fp32, as released) to `path`; returns its parameter count."""
    import torch

    generator = torch.Generator().manual_seed(0)
    state = {k: 0.02 * torch.randn(shape, generator=generator) for k, shape in dit_xl_shapes().items()}
    torch.save(state, path)
    return sum(v.numel() for v in state.values())


def measure(name, path):
    """Run one measurement in a fresh Python process; returns its JSON report plus the process wall time."""
    imports, operation = MEASUREMENTS[name]
    code = CHILD.format(imports=imports, operation=operation.replace("PATH", repr(str(path))))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(LIB)})
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "process_s": time.perf_counter() - start}


def main():
    """Write the checkpoint, measure every case `--repeats` times (interleaved), print the table, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write the temporary checkpoint")
    parser.add_argument("--write", metavar="PATH", help=argparse.SUPPRESS)  # child mode: write and exit
    args = parser.parse_args()
    if args.write:
        print(write_checkpoint(args.write))
        return 0
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        path = Path(folder) / "DiT-XL-2-256x256.pt"
        start = time.perf_counter()
        written = subprocess.run([sys.executable, __file__, "--write", str(path)], capture_output=True, text=True,
                                 check=True, env={**os.environ, "PYTHONPATH": str(LIB)})
        params = int(written.stdout.split()[-1])
        print(f"wrote {path.name}: {params / 1e6:.1f}M parameters, {path.stat().st_size / 1e9:.2f} GB "
              f"in {time.perf_counter() - start:.1f} s (page cache warm for every run below)")
        runs = {name: [] for name in MEASUREMENTS}
        for _ in range(args.repeats):
            for name in MEASUREMENTS:
                runs[name].append(measure(name, path))
    print(f"\n{'':18}{'op time (s)':>14}{'peak RSS (MB)':>15}{'process (s)':>13}   median of {args.repeats}, max RSS")
    summary = {}
    for name, reports in runs.items():
        summary[name] = (statistics.median(r["op_s"] for r in reports), max(r["peak_rss_mb"] for r in reports))
        process = statistics.median(r["process_s"] for r in reports)
        print(f"{name:18}{summary[name][0]:>14.3f}{summary[name][1]:>15.0f}{process:>13.2f}")
    speedup = summary["full torch.load"][0] / summary["stats (ours)"][0]
    peak = summary["stats (ours)"][1]
    print(f"\nspeed-up {speedup:.0f}x (target >= 10x: {'met' if speedup >= 10 else 'MISSED'}); "
          f"peak RSS {peak:.0f} MB (target < 500 MB: {'met' if peak < 500 else 'MISSED'})")
    return 0 if speedup >= 10 and peak < 500 else 1


if __name__ == "__main__":
    sys.exit(main())
