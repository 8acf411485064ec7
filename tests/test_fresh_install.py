"""What a new user does: the wheel built from this repository, installed (not editable) into a fresh virtual
environment, one notebook copied into an empty folder and executed there with plain papermill under `ci`; and the
same notebook under a stand-in for Colab whose install fails, which must stop at the install cell.

The fresh environment reaches this environment's packages (torch & co) through a `.pth` file, so nothing is
downloaded; only `semantic_bottleneck` itself comes from the wheel.
"""
import html
import json
import os
from pathlib import Path
import re
import shutil
import socket
import subprocess
import sys
import sysconfig

import nbformat
import pandas as pd
import papermill
import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "semantic_bottleneck"
NAME = "01_similarity"  # the fastest chapter
NOTEBOOK = ROOT / "notebooks" / f"{NAME}.ipynb"
KERNEL, COLAB_KERNEL = "fresh-install", "colab-stand-in"


def run(command, **kwargs):
    """Run a command, failing the test with its output when it fails."""
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def write_kernel(folder, name, python, *extra):
    """A kernel spec `name` under `folder`/kernels that starts ipykernel with `python` (and `extra` options)."""
    spec = {"argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}", *extra],
            "display_name": name, "language": "python"}
    (folder / "kernels" / name).mkdir(parents=True)
    (folder / "kernels" / name / "kernel.json").write_text(json.dumps(spec))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A fresh virtual environment holding only the wheel: its python, the wheel, and the environment variables."""
    tmp = tmp_path_factory.mktemp("fresh_install")
    source = tmp / "source"  # a copy, so that the build leaves nothing in the repository
    shutil.copytree(LIB, source / "lib" / "semantic_bottleneck", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    sources_hash = run([sys.executable, "-c", "from semantic_bottleneck.cache import lib_hash; print(lib_hash())"],
                       env={**os.environ, "PYTHONPATH": str(source / "lib")}, cwd=tmp).stdout.strip()
    run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation", "-q", "-w", tmp])
    wheel = next(tmp.glob("semantic_bottleneck-*.whl"))

    venv = tmp / "venv"  # from the base interpreter: a venv cannot be made from a venv's own python
    run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", "--system-site-packages", "--without-pip",
         venv])
    python = venv / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    (purelib / "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")  # torch & co, and pip

    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}", JUPYTER_PATH=str(tmp / "jupyter"),
               PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    # --ignore-installed: this environment's editable install is visible through the .pth and must stay untouched
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", wheel], env=env, cwd=tmp)
    imported = run([python, "-c", "import semantic_bottleneck; print(semantic_bottleneck.__file__)"],
                   env=env, cwd=tmp).stdout.strip()
    assert Path(imported).is_relative_to(purelib), f"the fresh environment imports {imported}, not the wheel"

    write_kernel(tmp / "jupyter", KERNEL, python)
    write_kernel(tmp / "jupyter", COLAB_KERNEL, python, "--IPKernelApp.exec_lines=import google.colab")
    return {"tmp": tmp, "python": python, "wheel": wheel, "env": env, "sources_hash": sources_hash}


def footer(notebook):
    """The provenance footer of an executed notebook (its last table of 'provenance' rows) as a dict."""
    table = next(o["data"]["text/html"] for cell in reversed(notebook.cells) if cell.cell_type == "code"
                 for o in cell.outputs if ">provenance<" in o.get("data", {}).get("text/html", ""))
    rows = re.findall(r"<th[^>]*>([^<]*)</th>\s*<td[^>]*>([^<]*)</td>", table)
    return {html.unescape(key).strip(): html.unescape(value).strip() for key, value in rows}


def test_the_wheel_runs_a_notebook_under_ci_from_an_empty_folder(fresh):
    """Plain papermill, `-p profile ci`, outside the repository: the ci settings apply; provenance names the wheel."""
    folder = fresh["tmp"] / "empty"
    folder.mkdir()
    shutil.copy(NOTEBOOK, folder / NOTEBOOK.name)
    assert "SEMANTIC_BOTTLENECK_CACHE" in fresh["env"]  # the session's temporary cache (conftest), not ~/.cache
    done = subprocess.run([fresh["python"], "-m", "papermill", NOTEBOOK.name, "executed.ipynb", "-p", "profile", "ci",
                           "-k", KERNEL], cwd=folder, env=fresh["env"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]

    executed = nbformat.read(folder / "executed.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    assert not code[0].outputs, "outside Colab the install cell does nothing"
    results = pd.read_csv(folder / "results" / f"{NAME}.csv")  # the parameters' output_dir, relative to the cwd
    assert set(results["profile"]) == {"ci"} and results["value"].notna().all()

    record = footer(executed)
    ci = yaml.safe_load((LIB / "params" / "ci.yaml").read_text())[NAME]
    defaults = papermill.inspect_notebook(str(NOTEBOOK))
    settings = json.loads(record["settings"])
    assert record["profile"] == settings["profile"] == "ci"
    assert ci and all(settings[k] == v for k, v in ci.items()), f"not the ci profile's settings: {settings}"
    assert any(defaults[k]["default"] != repr(v) for k, v in ci.items()), "ci would not differ from the defaults"
    assert record["settings from"].startswith(f"{len(ci)} from params/ci.yaml")
    assert record["settings from"].endswith("no override")
    version = fresh["wheel"].name.split("-")[1]
    assert record["code"] == f"installed from {fresh['wheel'].as_uri()} (version {version})"  # pip's install record
    assert record["lib"].endswith(f"hash {fresh['sources_hash']}"), "the installed package differs from lib/"


def test_a_colab_stand_in_whose_install_fails_stops_at_the_install_cell(fresh):
    """With `google.colab` imported and GitHub unreachable, the install cell raises one line; nothing after it runs."""
    stand_in = fresh["tmp"] / "colab"
    (stand_in / "google" / "colab").mkdir(parents=True)
    (stand_in / "google" / "__init__.py").write_text("")
    (stand_in / "google" / "colab" / "__init__.py").write_text('"""A stand-in for Colab\'s module."""\n')
    with socket.socket() as probe:  # a local port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    env = {**fresh["env"], "PYTHONPATH": str(stand_in), "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": f"url.{closed}.insteadOf", "GIT_CONFIG_VALUE_0": "https://github.com/"}

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    first = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells = notebook.cells[:first + 2]  # the install cell, the parameters and the imports: nothing slow
    folder = fresh["tmp"] / "colab-run"
    folder.mkdir()
    nbformat.write(notebook, folder / NOTEBOOK.name)
    done = subprocess.run([fresh["python"], "-m", "papermill", NOTEBOOK.name, "executed.ipynb", "-k", COLAB_KERNEL],
                          cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode != 0, "the notebook went on after a failed install"

    executed = nbformat.read(folder / "executed.ipynb", as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    errors = [o for o in code[0].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "RuntimeError", code[0].outputs
    assert re.fullmatch(r"installing semantic-bottleneck @ git\+https://github\.com/\S+ failed \(.+\): check the "
                        r"network and that the repository URL is reachable, then run this cell again", errors[0].evalue)
    assert all(c.execution_count is None and not c.outputs for c in code[1:]), "a cell after the install ran"
