"""Checks on the repository itself: clean notebooks, Colab links, parameter files, code habits, the wheel."""
import ast
from pathlib import Path
import re
import shutil
import subprocess
import sys
import zipfile

import nbformat
import papermill
import pytest
import yaml

from semantic_bottleneck.book import driver as book

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "semantic_bottleneck"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_every_notebook_is_a_chapter_of_the_book_and_every_chapter_a_notebook():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = {c["file"].removeprefix("executed/") for part in toc["parts"] for c in part["chapters"]}
    assert {p.stem for p in NOTEBOOKS} == chapters - {"status", "references"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_with_kernelspec(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_title_badge_colab_cell_parameters_and_footer(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0].source
    assert first.startswith("# ")
    slug = REPO_URL.removeprefix("https://github.com/")
    assert f"https://colab.research.google.com/github/{slug}/blob/main/notebooks/{path.name}" in first
    colab = nb.cells[1]
    assert "remove-cell" in colab.metadata.get("tags", []) and "google.colab" in colab.source
    assert "parameters" in nb.cells[2].metadata.get("tags", [])
    assert f'start_run("{path.stem}", globals())' in nb.cells[3].source  # the settings, resolved before any compute
    assert "run.footer()" in nb.cells[-1].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_parameters_cell_is_the_chapters_typed_settings_with_their_defaults(path):
    """Papermill and Colab read the parameters cell; the library reads `settings`: the two must not drift."""
    from semantic_bottleneck.settings import settings_class

    declared = papermill.inspect_notebook(str(path))
    defaults = {name: ast.literal_eval(spec["default"]) for name, spec in declared.items()}
    assert defaults == settings_class(path.stem).defaults()


@pytest.mark.parametrize("profile", ["tiny", "ci", "paper"])
def test_parameter_files_name_only_declared_parameters_and_never_repeat_a_default(profile):
    """A profile holds only what differs from a notebook's defaults: a repeated default could drift from it."""
    sections = yaml.safe_load((LIB / "params" / f"{profile}.yaml").read_text()) or {}
    for name, values in sections.items():
        path = ROOT / "notebooks" / f"{name}.ipynb"
        assert path.exists(), f"lib/semantic_bottleneck/params/{profile}.yaml names a missing notebook {name}"
        book.validate_params(path, book.load_params(profile, name))
        declared = papermill.inspect_notebook(str(path))
        assert set(values) <= set(declared)
        repeated = [k for k, v in values.items() if ast.literal_eval(declared[k]["default"]) == v]
        assert not repeated, f"params/{profile}.yaml repeats {name}'s defaults: {repeated}"


def _lib_modules():
    return sorted(LIB.rglob("*.py"))


@pytest.mark.parametrize("path", _lib_modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_lib_module_is_short_and_documented(path):
    source = path.read_text()
    assert len(source.splitlines()) < 400, f"{path.name} is over 400 lines"
    tree = ast.parse(source)
    assert ast.get_docstring(tree), f"{path.name} has no module docstring"
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            parent_is_class = any(isinstance(p, ast.ClassDef) and node in p.body for p in ast.walk(tree))
            if parent_is_class and node.name in {"forward"}:
                continue
            doc = ast.get_docstring(node)
            assert doc, f"{path.name}: {node.name} has no docstring"


@pytest.mark.parametrize("path", _lib_modules(), ids=lambda p: str(p.relative_to(LIB)))
def test_every_reshape_carries_a_shape_comment(path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if re.search(r"\.(view|reshape)\(", line):
            assert "#" in line, f"{path.name}:{number} reshapes without a shape comment"


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_papermill_sees_every_parameter_of_the_parameters_cell(path):
    """A comment papermill cannot parse silently drops its parameter (it then rejects the profile's value)."""
    cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
    assigned = [line.split("=")[0].strip() for line in cell.source.splitlines() if re.match(r"^\w+\s*=", line)]
    assert list(papermill.inspect_notebook(str(path))) == assigned


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(tmp_path):
    """Colab installs the package from the repository, non-editable: every subpackage and data file must be inside."""
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the repository
    shutil.copytree(LIB, source / "lib" / "semantic_bottleneck", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("semantic_bottleneck-*.whl"))
    inside = {n for n in zipfile.ZipFile(wheel).namelist() if n.startswith("semantic_bottleneck/")}
    wanted = {f"semantic_bottleneck/{p.relative_to(LIB).as_posix()}" for p in LIB.rglob("*")
              if p.is_file() and p.suffix in {".py", ".csv", ".yaml"} and "__pycache__" not in p.parts}
    assert wanted - inside == set()


def test_every_url_naming_the_repository_is_the_one_in_config():
    """Badges, install cells, README and book pages name the repository as `_config.yml` does (one place to fork)."""
    slug = REPO_URL.removeprefix("https://github.com/")
    name = slug.split("/")[1]
    files = [*NOTEBOOKS, ROOT / "README.md", *sorted((ROOT / "book").glob("*.md")), ROOT / "pyproject.toml"]
    found = 0
    for path in files:  # github.com/OWNER/NAME and Colab's github/OWNER/NAME, wherever NAME is this project's
        for url in re.findall(r"github(?:\.com)?/([\w.-]+/[\w.-]+)", path.read_text()):
            if url.split("/")[1].removesuffix(".git") == name:
                found += 1
                assert url.removesuffix(".git") == slug, f"{path.name} names {url}, not {slug}"
    for path in NOTEBOOKS:
        install = nbformat.read(path, as_version=4).cells[1].source
        assert f"git+https://github.com/{slug}@main" in install, f"{path.name}'s install cell installs another URL"
    assert found >= 2 * len(NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_failed_colab_install_stops_the_notebook_with_one_line(path, monkeypatch):
    """`%pip` does not raise: the install cell checks pip's exit status itself and stops there, saying what failed."""
    install = nbformat.read(path, as_version=4).cells[1].source
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    failed = subprocess.CompletedProcess([], 1, "", "ERROR: could not clone\nfatal: unable to access the repository\n")
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(args) or failed)
    with pytest.raises(RuntimeError, match=r"^installing semantic-bottleneck @ git\+https://github.com/.* failed "
                                           r"\(fatal: unable to access the repository\): check the network"):
        exec(compile(install, path.name, "exec"), {})  # pip's own last line says why
    assert calls and calls[0][1:4] == ["-m", "pip", "install"]
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: subprocess.CompletedProcess(args, 0))
    exec(compile(install, path.name, "exec"), {})  # a good install goes on
