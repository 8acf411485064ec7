"""Print where the tiny book's time goes, against its budgets, and how fast the tiny DiT trains against this CPU's peak.

    python benchmarks/bench_budgets.py book       # the whole tiny book cold, then again with nothing changed
    python benchmarks/bench_budgets.py training   # each profile's DiT, its twins and the classifier, cold
    python benchmarks/bench_budgets.py flops      # the tiny DiT's training step: GFLOP/s beside a large matmul's

`book` runs the driver with a timing ledger (`semantic_bottleneck.timing`): per chapter, the seconds spent training
each model, sampling, judging (reference features, per-sample features and scores, metrics) and the rest of the
notebook (kernel start, imports, statistics, figures), then rendering; the totals against the budgets (2 cores:
tiny book cold <= 900 s, 1,200 s with chapter 08; a second `book` with nothing changed <= 10 s). Uses a temporary
model cache and a temporary inductor cache; nothing is asserted. Run it with nothing else on the machine.
"""
from collections import defaultdict
import os
import subprocess
import sys
import tempfile
import time

BUDGETS = {"book cold": 900, "book unchanged": 10}
HYPOTHESES_CHAPTER, BUDGET_WITH_HYPOTHESES = "08_hypotheses", 1200  # chapter 08 brings the cold budget to 1,200 s


def timed(label, func):
    """Run func() and print its wall time against its budget, if any; returns the seconds."""
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    budget = BUDGETS.get(label)
    print(f"{label:<22}{seconds:9.1f} s" + (f"   budget {budget} s: {'ok' if seconds <= budget else 'OVER'}" if budget else ""),
          flush=True)
    return seconds


def training():
    """Cold training of each profile's DiT, its in-context and cross-attention twins, and the evaluation classifier."""
    from semantic_bottleneck.tiny.classes import class_model as models
    from semantic_bottleneck.tiny.classes.mechanism_models import mechanism_train_config

    for profile in ("ci", "tiny"):
        timed(f"{profile} DiT", lambda: models.load_tiny_dit(profile, progress=False))
        for mechanism in ("in-context", "cross-attention"):
            config = mechanism_train_config(mechanism, profile)
            timed(f"{profile} {mechanism}", lambda: models.load_trained(config, progress=False))
        timed(f"{profile} classifier", lambda: models.load_eval_classifier(profile, progress=False))


def breakdown(spans):
    """Per chapter: seconds of training, sampling, judging, the rest of the notebook, and the notebook in all."""
    import pandas as pd

    table = defaultdict(lambda: defaultdict(float))
    for row in spans:
        if row["kind"] != "rendering":
            table[row["chapter"]][row["kind"]] += row["seconds"]
    frame = pd.DataFrame(table).T.reindex(columns=["training", "sampling", "judging", "notebook"]).fillna(0.0)
    frame.insert(3, "other", frame["notebook"] - frame[["training", "sampling", "judging"]].sum(axis=1))
    frame.loc["all chapters"] = frame.sum()
    return frame.round(1)


def book():
    """The whole tiny book from a cold cache (forced), then a second run with nothing changed; the breakdown."""
    from semantic_bottleneck.timing import LEDGER, read_ledger

    from semantic_bottleneck.book.driver import notebook_names

    if HYPOTHESES_CHAPTER in notebook_names():
        BUDGETS["book cold"] = BUDGET_WITH_HYPOTHESES
    command = [sys.executable, "-m", "semantic_bottleneck", "book", "--profile", "tiny"]
    ledger = os.path.join(os.environ["SEMANTIC_BOTTLENECK_CACHE"], "timings.jsonl")
    os.environ[LEDGER] = ledger
    cold = timed("book cold", lambda: subprocess.run(command + ["--force"], check=True, stdout=subprocess.DEVNULL))
    spans = read_ledger(ledger)
    del os.environ[LEDGER]
    timed("book unchanged", lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL))
    print("\nseconds per chapter (training: every model the chapter trained first; other: kernel start, imports, "
          "statistics, figures)")
    print(breakdown(spans).to_string())
    rendering = sum(row["seconds"] for row in spans if row["kind"] == "rendering")
    notebooks = sum(row["seconds"] for row in spans if row["kind"] == "notebook")
    print(f"rendering {rendering:.1f} s; the driver's own work {cold - notebooks - rendering:.1f} s")
    print("\ntrained models")
    for row in spans:
        if row["kind"] == "training":
            print(f"  {row['chapter']:<20}{row['what']:<48}{row['seconds']:8.1f} s")


def matmul_rate(dtype, size=2048, repeats=10):
    """GFLOP/s of a size x size matrix product in `dtype` (the best this CPU gives torch: the practical peak)."""
    import torch

    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - start) / 1e9


def flops():
    """The tiny DiT's training step (the tiny profile's configuration): FLOPs counted by torch, GFLOP/s achieved,
    eager and with its blocks compiled (`tiny.fast`), beside this CPU's matrix-product peak."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from semantic_bottleneck.nets.architectures import build_network
    from semantic_bottleneck.sampling.schedule import LinearSchedule
    from semantic_bottleneck.tiny.classes import shapes
    from semantic_bottleneck.tiny.classes.class_model import tiny_train_config
    from semantic_bottleneck.tiny.fast import compile_blocks
    from semantic_bottleneck.tiny.train import make_optimizer, training_loss

    config = tiny_train_config("tiny")
    model = build_network(config.model)
    optimizer, schedule = make_optimizer(model, config), LinearSchedule()
    generator = torch.Generator().manual_seed(0)

    def step(batch_size=config.batch_size):
        x0, labels = shapes.batch(batch_size, generator, config.model.image_size, config.model.num_classes)
        loss = training_loss(model, x0, labels, schedule, generator)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def seconds_per_step(repeats=20, batch_size=config.batch_size):
        """Mean seconds of `repeats` steps after three unmeasured ones (compilation happens there)."""
        for _ in range(3):
            step(batch_size)
        start = time.perf_counter()
        for _ in range(repeats):
            step(batch_size)
        return (time.perf_counter() - start) / repeats

    with FlopCounterMode(display=False) as counter:
        step()
    per_step = counter.get_total_flops()
    eager = seconds_per_step()
    per_sample = {size: seconds_per_step(max(8, 2560 // size), size) / size for size in (64, 256, 512)}
    per_sample[config.batch_size] = eager / config.batch_size
    compile_blocks(model, True)
    start = time.perf_counter()
    step()
    compile_seconds = time.perf_counter() - start
    compiled = seconds_per_step()
    fp32, bf16 = matmul_rate(torch.float32), matmul_rate(torch.bfloat16)
    print(f"tiny DiT training step (batch {config.batch_size}, {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M "
          f"parameters): {per_step / 1e9:.2f} GFLOP (matrix products, torch's count)")
    for name, seconds in (("eager", eager), ("blocks compiled", compiled)):
        print(f"  {name:<16}{seconds * 1e3:6.0f} ms  {per_step / seconds / 1e9:5.0f} GFLOP/s  "
              f"{per_step / seconds / 1e9 / fp32:4.0%} of the fp32 peak")
    print(f"  compiling the blocks took {compile_seconds:.1f} s (the first compiled step)")
    print("  eager, per training sample at other batch sizes (a larger batch pays only if this falls): " + ", ".join(
        f"batch {size} {seconds * 1e6:.0f} us" for size, seconds in sorted(per_sample.items())))
    print(f"this CPU's peak as torch reaches it, a 2048^2 matrix product: fp32 {fp32:.0f} GFLOP/s, bf16 {bf16:.0f} GFLOP/s")


def main():
    """Parse the target and run it in a temporary model cache (and inductor cache)."""
    target = sys.argv[1] if len(sys.argv) > 1 else "book"
    if target not in ("training", "book", "flops"):
        sys.exit(f"error: target must be book, training or flops, got {target!r}")
    import torch

    with tempfile.TemporaryDirectory() as cache:
        os.environ["SEMANTIC_BOTTLENECK_CACHE"] = cache
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = os.path.join(cache, "inductor")
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} (other processes slow every number below); cache {cache}", flush=True)
        {"training": training, "book": book, "flops": flops}[target]()


if __name__ == "__main__":
    main()
