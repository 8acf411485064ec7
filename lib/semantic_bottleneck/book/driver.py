"""The book driver: execute notebooks with papermill (skipping unchanged ones), then render Jupyter Book 1.

A notebook is re-executed when its source, its parameters, the lib's source or the profile changed
since its last successful run (a content-hash stamp, written atomically; an unreadable stamp means "run
again"). Every selected notebook's parameters are checked before any runs. A failure names the notebook,
the cell and the error, removes the stale executed copy, and stops the HTML build; whenever the driver stops,
it prints what ran.
"""
from dataclasses import dataclass
import ast
import hashlib
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
import traceback

import nbformat

from ..cache import REPO_ROOT, lib_hash
from ..profiles import profile_parameters, read_utf8
from ..settings import SETTINGS, resolve, settings_class
from ..study.settings_checks import check_settings
from ..timing import CHAPTER, span
from .downloads import add_downloads
from .status_page import write_status_page

NOTEBOOKS = REPO_ROOT / "notebooks"
BOOK = REPO_ROOT / "book"
EXECUTED = BOOK / "executed"
RESULTS = EXECUTED / "results"
STAMPS = EXECUTED / "stamps"
FAILED = BOOK / "_build" / "failed"
CELL_TIMEOUT_S = {"tiny": 1800, "ci": 600, "paper": None}
TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,), "dict": (dict,)}


class BookError(Exception):
    """A one-line, user-facing reason why the book cannot be built."""


@dataclass
class Outcome:
    """What happened to one notebook."""

    name: str
    status: str
    seconds: float = 0.0
    error: str = ""


def notebook_names():
    """Source notebooks, in book order (file names sort by chapter)."""
    return sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))


def load_params(profile, name):
    """Parameters of notebook `name` under `profile`, from params/<profile>.yaml (section `name`)."""
    try:
        params = profile_parameters(profile, name)
    except (FileNotFoundError, ValueError) as err:
        raise BookError(str(err)) from None
    return {**params, "output_dir": str(RESULTS)}


def inspected_parameters(path):
    """The parameters a notebook's `parameters` cell declares, as papermill inspects them.

    BookError naming a file that is not a notebook: not UTF-8 or not JSON (with the line), or not in the format.
    """
    import papermill

    try:
        json.loads(read_utf8(path))
    except json.JSONDecodeError as err:
        raise BookError(f"{_shown(path)} line {err.lineno}: not valid JSON ({err.msg}); a notebook is a JSON "
                        "file") from None
    except ValueError as err:
        raise BookError(str(err)) from None
    try:
        return papermill.inspect_notebook(str(path))
    except Exception as err:  # nbformat's validation raises several classes for JSON that is no notebook
        raise BookError(f"{_shown(path)} is not a notebook ({type(err).__name__}: {str(err).splitlines()[0][:200]})"
                        ) from None


def resolved_parameters(profile, name):
    """Every setting of chapter `name` under `profile` (`settings.resolve`), with the driver's output folder."""
    return {**resolve(settings_class(name), {"profile": profile})[0].as_dict(), "output_dir": str(RESULTS)}


def validate_params(path, params):
    """Reject parameters the notebook does not declare, or whose type differs from the declared default."""
    declared = inspected_parameters(path)
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise BookError(f"{path.name}: unknown parameter(s) {', '.join(unknown)}; declared: {', '.join(declared)}")
    for name, value in params.items():
        expected = _declared_type(declared[name])
        wrong_bool = isinstance(value, bool) and expected != "bool"
        if expected in TYPES and (wrong_bool or not isinstance(value, TYPES[expected])):
            raise BookError(f"{path.name}: parameter {name} must be {expected}, got {value!r}")
    if path.stem in SETTINGS:  # a chapter: its typed settings (names, types, ranges, models, samplers) before compute
        try:
            check_settings(resolve(SETTINGS[path.stem], params)[0])
        except ValueError as err:
            raise BookError(f"{path.name}: {err}") from None


def _declared_type(spec):
    """Type name of a declared parameter: its annotation, else the type of its literal default."""
    if spec.get("inferred_type_name") in TYPES:
        return spec["inferred_type_name"]
    try:
        return type(ast.literal_eval(spec.get("default", ""))).__name__
    except (ValueError, SyntaxError):
        return ""


def _shown(path):
    """A path relative to the repository when it lies inside it."""
    return path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path


def stamp(path, params):
    """Content hash of what an execution depends on: notebook, parameters, lib source."""
    digest = hashlib.sha256(path.read_bytes())
    digest.update(json.dumps(params, sort_keys=True).encode())
    digest.update(lib_hash().encode())
    return digest.hexdigest()


def _stamp_file(name):
    return STAMPS / f"{name}.json"


def is_current(name, params):
    """True when the executed copy exists and was made from exactly this source, parameters and lib.

    A stamp that cannot be read (truncated, not JSON, no `stamp` key) is not current: the notebook runs again.
    """
    stamp_path, executed = _stamp_file(name), EXECUTED / f"{name}.ipynb"
    if not (stamp_path.exists() and executed.exists()):
        return False
    try:
        recorded = json.loads(stamp_path.read_text())["stamp"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return recorded == stamp(NOTEBOOKS / f"{name}.ipynb", params)


def _write_stamp(name, record):
    """Write a notebook's stamp atomically (a temporary file renamed over it): never a half-written stamp."""
    path = _stamp_file(name)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(record))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable(folders):
    """Create `folders` and write a file in each; BookError naming the first that cannot be written."""
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as err:
            raise BookError(f"cannot write {_shown(folder)} ({err.strerror or err}); the driver keeps executed "
                            "notebooks, stamps and results there") from None


def _hide_injected_parameters(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(nb, path)


def _parameters_cell_index(path):
    """Index of the cell tagged `parameters` (papermill inserts its injected cell right after it)."""
    cells = nbformat.read(path, as_version=4).cells
    return next((i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), -1)


def _forget(name):
    for path in (EXECUTED / f"{name}.ipynb", _stamp_file(name), RESULTS / f"{name}.csv"):
        path.unlink(missing_ok=True)


def execute(name, profile, force=False):
    """Execute one notebook unless its stamp is current; never leaves a failed run looking successful."""
    import papermill
    from traitlets.config import Config

    source = NOTEBOOKS / f"{name}.ipynb"
    params = load_params(profile, name)
    validate_params(source, params)
    if not force and is_current(name, params):
        return Outcome(name, "unchanged")
    check_writable((EXECUTED, RESULTS, STAMPS, FAILED))
    _forget(name)
    partial = FAILED / f"{name}.ipynb"
    start = time.perf_counter()
    print(f"executing {name} (profile {profile}) ...", flush=True)
    os.environ[CHAPTER] = name  # the kernel's timing spans name their chapter (unset again below)
    try:
        with span("notebook", name):
            papermill.execute_notebook(
                str(source), str(partial), parameters=params, kernel_name="python3", cwd=str(REPO_ROOT),
                progress_bar=False, stderr_file=sys.stderr,  # progress bars reach the console once
                execution_timeout=CELL_TIMEOUT_S[profile],
                config=Config(KernelManager={"transport_encryption": "auto"}))
    except papermill.PapermillExecutionError as err:
        cell = err.cell_index - int(err.cell_index > _parameters_cell_index(source))  # index in the source notebook
        evalue = err.evalue.splitlines()[0] if err.evalue else ""
        return Outcome(name, "FAILED", time.perf_counter() - start,
                       f"cell {cell} of notebooks/{name}.ipynb raised {err.ename}: {evalue}; "
                       f"partial output in {_shown(partial)}")
    except Exception as err:  # a dead kernel, a timeout, a broken notebook file
        return Outcome(name, "FAILED", time.perf_counter() - start, f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
    finally:
        os.environ.pop(CHAPTER, None)
    _hide_injected_parameters(partial)
    os.replace(partial, EXECUTED / f"{name}.ipynb")
    add_downloads(EXECUTED / f"{name}.ipynb", RESULTS)
    _write_stamp(name, {"stamp": stamp(source, params), "profile": profile})
    return Outcome(name, "executed", time.perf_counter() - start)


def render():
    """Build the HTML with Jupyter Book 1 (warnings are errors); returns the path of index.html."""
    write_status_page(RESULTS, EXECUTED / "status.md")
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(BOOK), "--config", str(REPO_ROOT / "_config.yml"),
               "--toc", str(REPO_ROOT / "_toc.yml"), "--path-output", str(BOOK), "-W", "-n", "--keep-going"]
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise BookError(f"jupyter-book build failed (exit {done.returncode}); its log is above")
    return BOOK / "_build" / "html" / "index.html"


def _print_outcomes(outcomes):
    """The table of what ran: notebook, status, wall time, and the error of a failed one."""
    if not outcomes:
        return
    print("\nnotebook            status      wall time")
    for o in outcomes:
        print(f"{o.name:<20}{o.status:<12}{o.seconds:8.1f} s" + (f"\n    {o.error}" if o.error else ""))


def _stopped(outcomes, message, status, debug):
    """Print what ran, then one `error:` line (the traceback first under --debug); returns `status`."""
    _print_outcomes(outcomes)
    if debug:
        traceback.print_exc()
    print(f"error: {message}", file=sys.stderr)
    return status


def build(profile, only=None, force=False, render_html=True, debug=False):
    """Execute the notebooks of a profile and render the book; returns the process exit status.

    Every selected notebook's parameters are checked before any runs; whenever the driver stops, it prints what ran.
    """
    names = notebook_names()
    unknown = sorted(set(only or []) - set(names))
    outcomes = []
    try:
        if not names:
            raise BookError(f"no notebooks in {NOTEBOOKS}")
        if unknown:
            raise BookError(f"--only must name notebooks among {', '.join(names)}; got {', '.join(unknown)}")
        selected = list(dict.fromkeys(only or names))
        for name in selected:
            validate_params(NOTEBOOKS / f"{name}.ipynb", load_params(profile, name))
        check_writable((EXECUTED, RESULTS, STAMPS, FAILED))
        for name in selected:
            outcomes.append(execute(name, profile, force))
    except BookError as err:
        return _stopped(outcomes, err, 2, debug)
    except OSError as err:
        return _stopped(outcomes, f"{err.filename or 'the book'}: {err.strerror or err}", 1, debug)
    except KeyboardInterrupt:
        return _stopped(outcomes, "interrupted", 130, debug)
    _print_outcomes(outcomes)
    failed = [o for o in outcomes if o.status == "FAILED"]
    if failed:
        print(f"error: {len(failed)} notebook(s) failed: {', '.join(o.name for o in failed)}; the book was not rendered",
              file=sys.stderr)
        return 1
    if not render_html:
        return 0
    try:
        stale = [n for n in names if not is_current(n, load_params(profile, n))]
    except BookError as err:
        return _stopped([], f"not rendering: {err}", 2, debug)
    if stale:
        print(f"error: not rendering: {', '.join(stale)} not executed for this source under profile {profile}; "
              "run without --only", file=sys.stderr)
        return 1
    try:
        with span("rendering", "jupyter-book"):
            index = render()
    except (BookError, OSError) as err:
        return _stopped([], err, 1, debug)
    print(f"\nbook: {index}")
    return 0
