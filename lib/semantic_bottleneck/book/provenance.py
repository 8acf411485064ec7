"""Where a notebook's numbers came from: profile, parameters, commit, lib hash, versions, wall time.

`start_run(name, globals())` is called right after a notebook's parameters cell: it builds the chapter's typed
settings by the one rule of `settings.resolve` (defaults, the named profile's section, explicit overrides), writes
the resolved values back into the notebook's globals, and records where each came from (`run.settings`, handed to
the library). `Run.footer()` ends the notebook, and `Run.save_results` writes the numbers the "Reproduction status"
page reads. With the `home` setting (a Drive folder in Colab), every result file, figure and trained model of the run
goes under that one folder (`apply_home`), and a rerun there continues from what it holds.
"""
from base64 import b64decode
from dataclasses import dataclass, field, replace
import importlib.metadata
import io
import itertools
import json
import os
import re
from pathlib import Path
import platform
import subprocess
import time

import pandas as pd
import torch

from .. import __version__
from ..cache import CACHE_ENV, REPO_ROOT, lib_hash
from ..profiles import notebook_parameters
from ..settings import Settings, resolve, settings_class
from ..study.settings_checks import check_settings

VERDICTS_FOLDER = "verdicts"  # under a run's output_dir: one CSV of closing verdicts per notebook
HOME_FOLDERS = {"output_dir": "results", "resume_dir": "rows"}  # settings that move under `home` unless set here
MODELS_FOLDER, FIGURES_FOLDER = "models", "figures"  # under `home`: the model cache, the displayed figures


def git_commit():
    """Commit of the checkout the lib runs from (with '+dirty' for local changes), or None outside a checkout."""
    if not (REPO_ROOT / ".git").exists():
        return None
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def install_record(distribution="semantic-bottleneck"):
    """What pip recorded of this package's install: 'git URL@commit', 'wheel/archive URL', or None (PEP 610)."""
    try:
        text = importlib.metadata.distribution(distribution).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        record = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or "url" not in record or record.get("dir_info", {}).get("editable"):
        return None
    vcs = record.get("vcs_info")
    return f"{record['url']}@{vcs['commit_id']}" if vcs and vcs.get("commit_id") else record["url"]


def code_version():
    """The exact code this run used: the git commit of a checkout, else pip's install record, else the version."""
    commit = git_commit()
    if commit:
        return f"git commit {commit}"
    record = install_record()
    if record:
        return f"installed from {record} (version {__version__})"
    return f"version {__version__} (no git checkout, no install record)"


def device_name():
    """The torch device notebooks compute on, in words."""
    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


@dataclass
class Run:
    """One execution of a notebook: its settings, where each came from, and a clock started with it."""

    notebook: str
    settings: Settings
    sources: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def profile(self):
        """The profile the notebook runs under."""
        return self.settings.profile

    def save_results(self, rows):
        """Write this notebook's headline numbers (rows of dicts: table, row, column, model, value) as CSV."""
        frame = pd.DataFrame(rows).assign(profile=self.profile, notebook=self.notebook)
        out = Path(self.settings.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / f"{self.notebook}.csv", index=False)
        return frame

    def save_verdicts(self, table):
        """Write this notebook's verdict table (`chapters.verdicts.verdict_table`) for the status page's gathering."""
        frame = pd.DataFrame(table).assign(profile=self.profile, notebook=self.notebook)
        out = Path(self.settings.output_dir) / VERDICTS_FOLDER
        out.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out / f"{self.notebook}.csv", index=False)
        return frame

    def settings_sources(self):
        """Where the settings came from, in words: the profile file, and every override by name."""
        overrides = [k for k, v in self.sources.items() if v == "override"]
        from_profile = sum(v == "profile" for v in self.sources.values())
        homed = [k for k, v in self.sources.items() if v == "home"]
        return (f"{from_profile} from params/{self.profile}.yaml (in the package), the others the chapter's defaults"
                + (f"; overridden here: {', '.join(overrides)}" if overrides else "; no override")
                + (f"; under home {self.settings.home}: {', '.join(homed)}, the model cache and the figures"
                   if self.settings.home else ""))

    def provenance(self):
        """The provenance record as a dict."""
        return {
            "notebook": self.notebook, "profile": self.profile,
            "settings": json.dumps(self.settings.as_dict(), default=str),
            "settings from": self.settings_sources(),
            "code": code_version(), "lib": f"semantic_bottleneck {__version__}, hash {lib_hash()}",
            "torch": torch.__version__, "device": device_name(),
            "wall time": f"{time.perf_counter() - self.started:.1f} s",
        }

    def footer(self):
        """The provenance footer as a table shown in full (the last output of every notebook)."""
        return pd.DataFrame(self.provenance().items(), columns=["provenance", "value"]).set_index("provenance").style


def keep_figures(folder, notebook):
    """Also write every matplotlib figure the notebook displays to `folder` as `<notebook>-<n>.png` (in IPython; a
    rerun writes the same names again)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        shown = formatter.lookup_by_type(Figure)
    except KeyError:
        shown = None
    shown = getattr(shown, "shown", shown)  # a second start_run in one kernel wraps the original once
    count = itertools.count(1)

    def show_and_keep(fig):
        """The figure's PNG for the notebook, also written to `folder`."""
        if shown:
            png = shown(fig)
        else:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", bbox_inches="tight")
            png = buffer.getvalue()
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{notebook}-{next(count):02d}.png").write_bytes(png if isinstance(png, bytes) else b64decode(png))
        return png

    show_and_keep.shown = shown
    formatter.for_type(Figure, show_and_keep)


def apply_home(notebook, settings, sources):
    """(settings, sources) with the run's outputs under `settings.home`, if set: `HOME_FOLDERS` (the results, the row
    store) unless set explicitly, the model cache (its environment variable, for this process) and the figures."""
    if not settings.home:
        return settings, sources
    home = Path(settings.home).expanduser()
    moved = {name: str(home / sub) for name, sub in HOME_FOLDERS.items()
             if hasattr(settings, name) and sources.get(name) != "override"}
    os.environ[CACHE_ENV] = str(home / MODELS_FOLDER)
    keep_figures(home / FIGURES_FOLDER, notebook)
    return replace(settings, **moved), {**sources, **{name: "home" for name in moved}}


def start_run(notebook, namespace):
    """Build a notebook's settings from its globals (`namespace`), write them back there, start the clock.

    One rule wherever the notebook runs (the book driver, plain papermill, Jupyter, Colab): the chapter's defaults,
    then `params/<profile>.yaml`'s section for the profile named, then every value that differs from both (an
    explicit override). Every setting is checked before any compute (`settings.resolve`: names with the nearest,
    types, ranges, devices, folders; `study.settings_checks.check_settings`: models that fit the chapter, sampler
    steps). A `home` folder then takes every output not set explicitly (`apply_home`). Also makes pandas show table
    cells in full: protocol and sampler descriptions are sentences, and a truncated one hides what produced them.
    """
    settings, sources = resolve(settings_class(notebook), notebook_parameters(namespace))
    check_settings(settings)
    settings, sources = apply_home(notebook, settings, sources)
    namespace.update(settings.as_dict())
    pd.set_option("display.max_colwidth", None)
    return Run(notebook, settings, sources)
