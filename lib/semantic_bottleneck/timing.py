"""Where a build's time goes: named spans (training a model, sampling, judging) appended to a ledger.

A span is recorded only while the environment variable `SEMANTIC_BOTTLENECK_TIMINGS` names a file (the budget
benchmark sets it; the book driver passes it to every notebook's kernel with the notebook's name in
`SEMANTIC_BOTTLENECK_CHAPTER`); otherwise `span` costs nothing. Spans may nest (judging that trains its classifier,
sampling that scores each batch as it comes): each records only its own seconds, its inner spans' taken out, so
a chapter's spans add up without double counting.
"""
from contextlib import contextmanager
import json
import os
import time

LEDGER = "SEMANTIC_BOTTLENECK_TIMINGS"
CHAPTER = "SEMANTIC_BOTTLENECK_CHAPTER"
KINDS = ("training", "sampling", "judging", "notebook", "rendering")  # the last two: the driver's own spans
_open = []  # the spans now running in this process, innermost last: [seconds of their inner spans]


@contextmanager
def span(kind, what):
    """Time the block as `kind` (one of KINDS) of `what` (a model or judge name) in the ledger, if one is set."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    path = os.environ.get(LEDGER)
    if not path:
        yield
        return
    _open.append(0.0)
    start = time.perf_counter()
    try:
        yield
    finally:
        total = time.perf_counter() - start
        inner = _open.pop()
        if _open:
            _open[-1] += total
        row = {"chapter": os.environ.get(CHAPTER, ""), "kind": kind, "what": what,
               "seconds": round(total - inner, 3)}
        with open(path, "a", encoding="utf-8") as ledger:
            ledger.write(json.dumps(row) + "\n")


def read_ledger(path):
    """The ledger's spans as a list of dicts (chapter, kind, what, seconds); [] if there is none."""
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as ledger:
        return [json.loads(line) for line in ledger if line.strip()]
