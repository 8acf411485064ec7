"""Where a notebook's numbers came from: profile, parameters, commit, lib hash, versions, wall time.

`start_run(name, globals())` is called right after a notebook's parameters cell and captures its parameters
once (`run.params`, handed to the library's protocol functions); `Run.footer()` ends the notebook, and
`Run.save_results` writes the numbers the "Reproduction status" page reads.
"""
from dataclasses import dataclass, field
import json
import re
from pathlib import Path
import platform
import subprocess
import time

import pandas as pd
import torch

from .. import __version__
from ..cache import REPO_ROOT, lib_hash
from ..profiles import Params, notebook_parameters

VERDICTS_FOLDER = "verdicts"  # under a run's output_dir: one CSV of closing verdicts per notebook


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
    """One execution of a notebook: its parameters (`params.profile`, ...) and a clock started with it."""

    notebook: str
    params: Params
    started: float = field(default_factory=time.perf_counter)

    @property
    def profile(self):
        """The profile the notebook runs under."""
        return self.params.profile

    def save_results(self, rows):
        """Write this notebook's headline numbers (rows of dicts: table, row, column, model, value) as CSV."""
        frame = pd.DataFrame(rows).assign(profile=self.profile, notebook=self.notebook)
        out = Path(self.params.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / f"{self.notebook}.csv", index=False)
        return frame

    def save_verdicts(self, table):
        """Write this notebook's verdict table (`chapters.verdicts.verdict_table`) for the status page's gathering."""
        frame = pd.DataFrame(table).assign(profile=self.profile, notebook=self.notebook)
        out = Path(self.params.output_dir) / VERDICTS_FOLDER
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / f"{self.notebook}.csv", index=False)
        return frame

    def provenance(self):
        """The provenance record as a dict."""
        return {
            "notebook": self.notebook, "profile": self.profile,
            "parameters": json.dumps(self.params.as_dict(), default=str),
            "git commit": git_commit(), "lib": f"semantic_bottleneck {__version__}, hash {lib_hash()}",
            "torch": torch.__version__, "device": device_name(),
            "wall time": f"{time.perf_counter() - self.started:.1f} s",
        }

    def footer(self):
        """The provenance footer as a table shown in full (the last output of every notebook)."""
        return pd.DataFrame(self.provenance().items(), columns=["provenance", "value"]).set_index("provenance").style


def declared_parameters(notebook, folder=REPO_ROOT / "notebooks"):
    """The names the parameters cell of `notebooks/<notebook>.ipynb` assigns, or None without a checkout."""
    path = Path(folder) / f"{notebook}.ipynb"
    if not path.is_file():
        return None
    cells = json.loads(path.read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    return [m.group(1) for m in re.finditer(r"^(\w+)\s*=", "".join(cell["source"]), re.M)]


def start_run(notebook, namespace):
    """Capture a notebook's parameters from its globals (`namespace`) and start the clock of its execution.

    In a checkout the captured names must be exactly those of the notebook's parameters cell. Also makes
    pandas show table cells in full: protocol and sampler descriptions are sentences, and a truncated one
    ("ddim 20 steps (trailing spacing,...") hides what produced the numbers.
    """
    params = notebook_parameters(namespace)
    declared = declared_parameters(notebook)
    if declared is not None and sorted(declared) != sorted(params.as_dict()):
        raise ValueError(f"start_run must follow {notebook}'s parameters cell directly: captured "
                         f"{sorted(params.as_dict())}, declared {sorted(declared)}")
    pd.set_option("display.max_colwidth", None)
    return Run(notebook, params)
