"""Checks on the repository itself: clean notebooks, Colab links, parameter files, code habits."""
import ast
from pathlib import Path
import re

import nbformat
import papermill
import pytest
import yaml

from semantic_bottleneck import book

ROOT = Path(__file__).resolve().parents[1]
LIB = ROOT / "lib" / "semantic_bottleneck"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_there_is_at_least_one_notebook():
    assert NOTEBOOKS


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
    profile_cell = nb.cells[3]  # in Colab, the profile's settings replace the parameters cell's defaults
    assert "remove-cell" in profile_cell.metadata.get("tags", [])
    assert f'apply_profile(profile, "{path.stem}", globals())' in profile_cell.source
    assert "run.footer()" in nb.cells[-1].source


def test_the_parameter_files_ship_inside_the_package():
    """Colab installs the package, not the repository: the notebooks read their profiles from package data."""
    import tomllib

    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "params/*.yaml" in package_data["semantic_bottleneck"]
    assert sorted(p.name for p in (LIB / "params").glob("*.yaml")) == ["ci.yaml", "paper.yaml", "tiny.yaml"]


@pytest.mark.parametrize("profile", ["tiny", "ci", "paper"])
def test_parameter_files_name_only_declared_parameters(profile):
    sections = yaml.safe_load((ROOT / "lib" / "semantic_bottleneck" / "params" / f"{profile}.yaml").read_text())
    for name, values in sections.items():
        path = ROOT / "notebooks" / f"{name}.ipynb"
        assert path.exists(), f"lib/semantic_bottleneck/params/{profile}.yaml names a missing notebook {name}"
        book.validate_params(path, book.load_params(profile, name))
        assert set(values) <= set(papermill.inspect_notebook(str(path)))


def _lib_modules():
    return sorted(LIB.glob("*.py"))


@pytest.mark.parametrize("path", _lib_modules(), ids=lambda p: p.name)
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


@pytest.mark.parametrize("path", _lib_modules(), ids=lambda p: p.name)
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
