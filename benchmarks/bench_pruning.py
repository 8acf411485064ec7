"""Benchmark: wall time of the pruning chapter, whole notebook and its sampling, against its budgets.

Budgets (2-core CPU, idle, models already cached): the `tiny` profile at most about 4 minutes, the
`ci` profile at most 2 minutes (aim: 60 s). Executes notebooks/03_pruning.ipynb with the book driver
into a temporary folder (the real executed copies are left alone) and prints, per profile, the wall
time, the budget and the sample-steps it ran; then times one baseline row alone with 1 and 2 CPU
threads, to show what OpenMP contention on a shared machine does.

    python benchmarks/bench_pruning.py [--profiles ci tiny] [--skip-threads]
"""
import argparse
from pathlib import Path
import sys
import tempfile
import time

ROOT = Path(__file__).resolve().parents[1]
NAME = "03_pruning"
BUDGET_S = {"ci": 120, "tiny": 240}


def notebook_params(profile):
    """The chapter's typed settings under a profile, as its notebook builds them."""
    from semantic_bottleneck.settings import resolve, settings_class

    return resolve(settings_class(NAME), {"profile": profile})[0]


def sample_steps(params):
    """Sample-steps (samples x denoising steps, CFG rows not doubled) the chapter runs for a profile."""
    from semantic_bottleneck import registry
    from semantic_bottleneck.chapters.pruning.rows import table2_specs
    from semantic_bottleneck.sampling.presets import preset

    config = preset(params.samplers.get("tiny-class") or registry.model("tiny-class").sampler)
    specs = table2_specs(params, 128)
    per_row = [spec.k if spec is not None and spec.schedule == "last_k_steps" else config.num_steps
               for spec in specs.values()]
    return len(specs), sum(per_row) * params.samples_per_seed * params.seeds


def run_notebook(profile):
    """Execute the chapter under `profile` into a temporary build folder; returns (status, seconds)."""
    from semantic_bottleneck.book import driver as book

    with tempfile.TemporaryDirectory() as folder:
        for attr, sub in (("EXECUTED", "executed"), ("RESULTS", "executed/results"), ("STAMPS", "executed/stamps"),
                          ("FAILED", "failed")):
            setattr(book, attr, Path(folder) / sub)
        start = time.perf_counter()
        outcome = book.execute(NAME, profile, force=True)
        return outcome.status + (f" ({outcome.error})" if outcome.error else ""), time.perf_counter() - start


def time_threads(profile):
    """Seconds of one baseline row (all seeds) of the profile's tiny model with 1 and with 2 CPU threads."""
    import torch

    from semantic_bottleneck import registry
    from semantic_bottleneck.sampling.conditions import ClassLabels
    from semantic_bottleneck.sampling.generate import generate
    from semantic_bottleneck.sampling.presets import preset
    from semantic_bottleneck.tiny.classes.class_model import load_tiny_dit

    params = notebook_params(profile)
    model, _, _ = load_tiny_dit(profile, progress=False)
    config = preset(params.samplers.get("tiny-class") or registry.model("tiny-class").sampler)
    indices = range(params.samples_per_seed * params.seeds)
    out = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        start = time.perf_counter()
        generate(model, indices, 0, config, ClassLabels(model.config.num_classes), batch_size=params.batch_size,
                        progress=False)
        out[threads] = time.perf_counter() - start
    return out


def main():
    """Run the notebook per profile, print wall times against budgets, then the thread comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", nargs="+", default=["ci", "tiny"], choices=sorted(BUDGET_S))
    parser.add_argument("--skip-threads", action="store_true", help="skip the 1-vs-2-thread timing")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "lib"))
    rows = []
    for profile in args.profiles:
        n_rows, steps = sample_steps(notebook_params(profile))
        status, seconds = run_notebook(profile)
        rows.append((profile, status, seconds, BUDGET_S[profile], n_rows, steps))
    print(f"\n{'profile':8}{'status':12}{'wall (s)':>10}{'budget (s)':>12}{'rows':>6}{'sample-steps':>14}")
    for profile, status, seconds, budget, n_rows, steps in rows:
        verdict = "within budget" if seconds <= budget else "OVER BUDGET"
        print(f"{profile:8}{status[:11]:12}{seconds:>10.1f}{budget:>12}{n_rows:>6}{steps:>14}   {verdict}")
    if not args.skip_threads:
        for profile in args.profiles:
            t = time_threads(profile)
            print(f"{profile}: one baseline row, 1 thread {t[1]:.1f} s, 2 threads {t[2]:.1f} s")
    return 0 if all(r[2] <= r[3] and r[1].startswith("executed") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
