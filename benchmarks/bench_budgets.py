"""Print the wall time of the tiny profiles' training and of the book build, against their budgets.

    python benchmarks/bench_budgets.py training     # tiny + ci model and classifier, cold cache
    python benchmarks/bench_budgets.py book         # the whole tiny book cold, then again with no change

Budgets (2-core CPU): tiny DiT training <= 420 s (its in-context twin too, its cross-attention twin <= 480 s), ci
training <= 30 s each, tiny book cold (every chapter) <= 1800 s,
a second `book` with nothing changed <= 60 s. Uses a temporary model cache; nothing is asserted.
"""
import os
import subprocess
import sys
import tempfile
import time

BUDGETS = {"tiny DiT": 420, "ci DiT": 30, "tiny in-context": 420, "tiny cross-attention": 480, "ci in-context": 30,
           "ci cross-attention": 30, "book cold": 1800, "book unchanged": 60}


def timed(label, func, rows):
    """Run func(), append (label, seconds) to rows and print it at once."""
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    rows.append((label, seconds))
    budget = BUDGETS.get(label)
    print(f"{label:<22}{seconds:9.1f} s" + (f"   budget {budget} s: {'ok' if seconds <= budget else 'OVER'}" if budget else ""),
          flush=True)


def training(rows):
    """Cold training of each profile's DiT, its in-context and cross-attention twins, and the evaluation classifier."""
    from semantic_bottleneck.tiny.classes import class_model as models
    from semantic_bottleneck.tiny.classes.mechanism_models import mechanism_train_config

    for profile in ("ci", "tiny"):
        timed(f"{profile} DiT", lambda: models.load_tiny_dit(profile, progress=False), rows)
        for mechanism in ("in-context", "cross-attention"):
            config = mechanism_train_config(mechanism, profile)
            timed(f"{profile} {mechanism}", lambda: models.load_trained(config, progress=False), rows)
        timed(f"{profile} classifier", lambda: models.load_eval_classifier(profile, progress=False), rows)


def book(rows):
    """The whole tiny book from a cold cache (forced), then a second run with nothing changed."""
    command = [sys.executable, "-m", "semantic_bottleneck", "book", "--profile", "tiny"]
    timed("book cold", lambda: subprocess.run(command + ["--force"], check=True, stdout=subprocess.DEVNULL), rows)
    timed("book unchanged", lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL), rows)


def main():
    """Parse the target and run it in a temporary cache."""
    target = sys.argv[1] if len(sys.argv) > 1 else "training"
    if target not in ("training", "book"):
        sys.exit(f"error: target must be training or book, got {target!r}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SEMANTIC_BOTTLENECK_CACHE"] = cache
        print(f"torch threads: {os.cpu_count()} cores; cache {cache}")
        rows = []
        {"training": training, "book": book}[target](rows)


if __name__ == "__main__":
    main()
