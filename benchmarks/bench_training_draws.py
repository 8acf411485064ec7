"""Benchmark: how the pruning chapter's verdicts move between training draws of the tiny class model.

The chapter's noise floor is over sampling seeds of one trained model. This script trains the class model with other
training seeds (and, with `--recipe`, another way of training: compiled blocks, bfloat16 products, fewer steps),
runs the chapter's study on each draw exactly as the notebook does (tiny settings, the same judge), and prints per
draw the training seconds, the baseline FID and class agreement with their noise floors, then every verdict row per
draw, so one sees which of the chapter's verdicts are properties of the recipe and which of one draw.

    python benchmarks/bench_training_draws.py [--seeds 0 1 2] [--recipe book|compiled|bfloat16] [--steps N]

Models are cached like the book's (SEMANTIC_BOTTLENECK_CACHE); the book's own draw is seed 0 of recipe `book`.
"""
import argparse
from dataclasses import replace
import time

RECIPES = {"book": {}, "compiled": {"compiled": True}, "bfloat16": {"compiled": True, "precision": "bfloat16"}}


def draw_config(seed, recipe, steps):
    """The class model's training configuration of one draw."""
    from semantic_bottleneck.tiny.classes.class_model import TINY_RUNS

    book = TINY_RUNS["tiny"]
    return replace(book, seed=seed, steps=steps or book.steps, **RECIPES[recipe])


def run_draw(config):
    """Train (or load) one draw and run the pruning study on it: (training seconds, its verdicts)."""
    from semantic_bottleneck.chapters.pruning import study as pruning_study, verdicts
    from semantic_bottleneck.settings import resolve, settings_class
    from semantic_bottleneck.study.judges import build_judge
    from semantic_bottleneck.tiny.classes import class_model

    class_model.TINY_RUNS["tiny"] = config  # the registry's tiny-class reads the profile's configuration from here
    start = time.perf_counter()
    class_model.load_trained(config)
    trained_s = time.perf_counter() - start
    settings = resolve(settings_class("03_pruning"), {"profile": "tiny"})[0]
    judge = build_judge(settings.judge, settings, model="tiny-class")
    study = pruning_study.run(settings, "tiny-class", judge)["pruning"]
    return trained_s, verdicts.verdicts(study, "fid", judge.agreement.column, "tiny")


def main():
    """Run every draw, then print the verdict of each phenomenon per draw."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="training seeds (0: the book's)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="book", help="how the class model is trained")
    parser.add_argument("--steps", type=int, default=0, help="training steps (0: the book's)")
    args = parser.parse_args()
    table = {}
    for seed in args.seeds:
        config = draw_config(seed, args.recipe, args.steps)
        trained_s, found = run_draw(config)
        print(f"draw seed {seed} ({args.recipe}, {config.steps} steps): trained/loaded in {trained_s:.1f} s; "
              f"{found[0].noise}", flush=True)
        for v in found:
            table.setdefault(v.phenomenon, {})[seed] = v.verdict
            print(f"  {v.verdict:>15} | {v.phenomenon} | {v.this_build}", flush=True)
    print("\nverdicts per training draw (seeds " + ", ".join(map(str, args.seeds)) + ")")
    for phenomenon, by_seed in table.items():
        marks = [by_seed.get(seed, "-") for seed in args.seeds]
        stable = "stable" if len(set(marks)) == 1 else "MOVES"
        print(f"{stable:>6} | " + " | ".join(f"{m:>14}" for m in marks) + f" | {phenomenon}")


if __name__ == "__main__":
    main()
