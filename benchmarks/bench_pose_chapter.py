"""Print the wall time of the pose-guided chapter cold: each trained model, then the notebook on the warm cache.

    python benchmarks/bench_pose_chapter.py [tiny|ci] [threads]

Budgets (an idle 2-core CPU): the tiny chapter cold (training included) <= 300 s, the ci one <= 60 s. Uses a
temporary model cache; nothing is asserted. The load average is printed: on a shared machine times are inflated.
"""
import os
import subprocess
import sys
import tempfile
import time

BUDGETS = {"tiny": 300, "ci": 60}


def timed(label, func, rows):
    """Run func(), append (label, seconds) to rows and print it at once."""
    start = time.perf_counter()
    func()
    rows.append((label, time.perf_counter() - start))
    print(f"{label:<34}{rows[-1][1]:8.1f} s", flush=True)


def main():
    """Train every model of the chapter in a temporary cache, then execute the notebook on it."""
    profile = sys.argv[1] if len(sys.argv) > 1 else "tiny"
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    if profile not in BUDGETS:
        sys.exit(f"error: profile must be tiny or ci, got {profile!r}")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["SEMANTIC_BOTTLENECK_CACHE"] = cache
        import torch

        from semantic_bottleneck.tiny.people import pose_eval, pose_model
        from semantic_bottleneck.tiny.people.pose_encoders import load_or_train_encoder

        torch.set_num_threads(threads)
        print(f"profile {profile}, {threads} torch thread(s), load average {os.getloadavg()[0]:.2f}; cache {cache}")
        config, rows = pose_model.pose_train_config(profile), []
        timed("pose encoder", lambda: load_or_train_encoder(config.pose_encoder, progress=False), rows)
        timed("source encoder", lambda: load_or_train_encoder(config.source_encoder, progress=False), rows)
        timed("evaluation network", lambda: pose_eval.load_eval_network(profile, progress=False), rows)
        timed(f"tiny pose model ({config.steps} steps)", lambda: pose_model.load_or_train_pose_model(config, False), rows)
        command = [sys.executable, "-m", "semantic_bottleneck", "book", "--profile", profile, "--only", "04_pose_guided",
                   "--force", "--no-render"]
        timed("notebook, models cached", lambda: subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                                                                stderr=subprocess.DEVNULL), rows)
        total = sum(seconds for _, seconds in rows)
        print(f"{'cold total':<34}{total:8.1f} s   budget {BUDGETS[profile]} s (idle 2 cores); "
              f"load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
