"""Benchmark: wall time of every tiny model the `tiny` profile trains on a cold cache.

Trains, in a temporary cache folder (SEMANTIC_BOTTLENECK_CACHE), the main tiny DiT and the evaluation
classifier (`tiny.classes.class_model`, shared by every chapter) and the sparsity chapter's training-dynamics runs (baseline,
fewer-timestep, weight-decay and other-seed runs, with the lengths of the notebook's parameters),
and prints the wall time of each and the total. The budget: the whole tiny book cold in 30 minutes on 2 cores, of which the sparsity
chapter's extra training should take at most about 6 minutes.

    python benchmarks/bench_tiny_training.py                 # everything, to completion (slow: run once)
    python benchmarks/bench_tiny_training.py --estimate 100  # time 100 steps of each DiT run, extrapolate
"""
import argparse
from dataclasses import replace
import os
import sys
import tempfile
import time

BUDGET_S = 6 * 60


def sparsity_params():
    """The sparsity chapter's parameters under the tiny profile (its parameters cell over its profile file)."""
    from semantic_bottleneck.book.driver import resolved_parameters

    return resolved_parameters("tiny", "02_sparsity")


def timed(fn):
    """(result, seconds) of calling fn()."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main():
    """Train every run in a fresh cache and print one line per run, then the totals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--estimate", type=int, metavar="STEPS",
                        help="train only STEPS steps of each DiT run and extrapolate to its full length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["SEMANTIC_BOTTLENECK_CACHE"] = folder
        from semantic_bottleneck.chapters.sparsity import study as sparsity_study
        from semantic_bottleneck.tiny.classes import class_model as models
        from semantic_bottleneck.tiny.train import load_or_train
        import torch

        params = sparsity_params()
        main_config = models.tiny_train_config("tiny")
        variants = sparsity_study.variant_configs(main_config, params["variant_steps"], params["timestep_counts"],
                                            params["weight_decays"], params["variant_log_every"],
                                            params["baseline_seeds"])
        runs = {"main tiny DiT (all chapters)": main_config,
                **{f"sparsity: {name}": config for name, config in variants.items()}}
        mode = f"estimate from {args.estimate} steps per run" if args.estimate else "full runs"
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} (other processes slow every number below); cache {folder}; {mode}")
        seconds = {}
        for name, config in runs.items():
            length = config.steps
            if args.estimate:
                short = min(args.estimate, length)
                config = replace(config, steps=short, log_every=min(config.log_every, short))
            _, s = timed(lambda: load_or_train(config, progress=False))
            seconds[name] = s * length / config.steps
            print(f"{name:38} {length:6d} steps {seconds[name]:8.1f} s{'  (extrapolated)' if args.estimate else ''}")
        if not args.estimate:
            name = "evaluation classifier (all chapters)"
            _, seconds[name] = timed(lambda: models.load_eval_classifier("tiny", False))
            print(f"{name:38} {'':12} {seconds[name]:8.1f} s")
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    extra = sum(s for name, s in seconds.items() if name.startswith("sparsity"))
    print(f"\nsparsity chapter's extra training: {extra:.1f} s (budget about {BUDGET_S} s: "
          f"{'met' if extra <= BUDGET_S else 'MISSED'}); everything above: {sum(seconds.values()):.1f} s")
    return 0 if extra <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
