"""Benchmark: what compressing the adaLN modulation layers saves on the real architectures (random weights).

Prints each architecture's modulation layers' share of parameters and FLOPs (counted on the meta device); then, per
timed architecture and device (the CPU, and the GPU when one is visible): how much of a forward pass's time the
modulation layers take, and dense against compressed networks for the kept shares of Table 2's tail rows at
tau 0.01 and 0.02 (61% and 34% of c) and a sweep: parameters, checkpoint size and the median forward time per batch
size. Random weights: a forward pass costs the same whatever the weights are.

    python benchmarks/bench_compute.py [--architectures "LightningDiT-XL/1"] [--batches 1 8] [--repeats 3]
"""
import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))


def main():
    """Parse the options, print the counts, then time every architecture on every device."""
    import pandas as pd
    import torch
    from semantic_bottleneck.chapters.compute import cost, report, study as compute_study

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--architectures", nargs="+", default=["DiT-XL/2, SiT-XL/2 (learned variance)"],
                        choices=list(cost.official_architectures()), metavar="LABEL",
                        help="labels of chapters.compute.cost.official_architectures()")
    parser.add_argument("--sweep", nargs="*", type=float, default=[0.1], help="kept shares beside Table 2's")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per network (after one warm-up)")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    args = parser.parse_args()
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", 30)
    start = time.perf_counter()
    costs = cost.costs_table(cost.official_architectures())
    print(costs.to_string(float_format="{:.4g}".format), flush=True)
    shares = [*compute_study.paper_kept_shares().values(), *args.sweep]
    for device in ["cpu"] + (["cuda"] if torch.cuda.is_available() else []):
        threads = args.threads or torch.get_num_threads()
        name = torch.cuda.get_device_name(0) if device == "cuda" else f"cpu, {threads} threads"
        for label in args.architectures:
            times, table = cost.official_timings(label, shares, args.batches, args.repeats, device, args.threads)
            print(f"\n{label}, random weights, float32, {name}; medians of {args.repeats} interleaved repeats")
            print(times.to_string(float_format="{:.4g}".format))
            print(report.time_sentence(times, label, costs.loc[label]))
            print(table.to_string(float_format="{:.4g}".format), flush=True)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
