"""Where a notebook's numbers came from: profile, parameters, commit, lib hash, versions, wall time.

`start_run` is called right after a notebook's parameters cell; `Run.footer()` ends the notebook,
and `Run.save_results` writes the numbers the "Reproduction status" page reads.
"""
from dataclasses import dataclass, field
import json
from pathlib import Path
import platform
import subprocess
import time

import pandas as pd
import torch

from . import __version__
from .cache import REPO_ROOT, lib_hash
from .profiles import check_profile


def git_commit():
    """Commit of the checkout the lib runs from (with '+dirty' for local changes), or 'not a git checkout'."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "not a git checkout"


def device_name():
    """The torch device notebooks compute on, in words."""
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


@dataclass
class Run:
    """One execution of a notebook: its profile and parameters, and a clock started with it."""

    notebook: str
    profile: str
    params: dict
    output_dir: str
    started: float = field(default_factory=time.perf_counter)

    def save_results(self, rows):
        """Write this notebook's headline numbers (rows of dicts: table, row, column, model, value) as CSV."""
        frame = pd.DataFrame(rows).assign(profile=self.profile, notebook=self.notebook)
        out = Path(self.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / f"{self.notebook}.csv", index=False)
        return frame

    def provenance(self):
        """The provenance record as a dict."""
        return {
            "notebook": self.notebook, "profile": self.profile,
            "parameters": json.dumps(self.params, default=str),
            "git commit": git_commit(), "lib": f"semantic_bottleneck {__version__}, hash {lib_hash()}",
            "torch": torch.__version__, "device": device_name(),
            "wall time": f"{time.perf_counter() - self.started:.1f} s",
        }

    def footer(self):
        """The provenance footer as a table shown in full (the last output of every notebook)."""
        return pd.DataFrame(self.provenance().items(), columns=["provenance", "value"]).set_index("provenance").style


def start_run(notebook, profile, output_dir="results", **params):
    """Start the clock of one notebook execution and remember its parameters.

    Also makes pandas show table cells in full: protocol and sampler descriptions are sentences, and a
    truncated one ("ddim 20 steps (trailing spacing,...") hides what produced the numbers.
    """
    check_profile(profile)
    pd.set_option("display.max_colwidth", None)
    return Run(notebook, profile, {"profile": profile, **params}, output_dir)
