"""Rehearse the README's "Adding a chapter" with a throwaway chapter: a settings class registered in
`settings.SETTINGS`, a notebook with the standard first cells that ends with its verdict table and the footer, and
its section of params/ci.yaml; the book driver builds it under `ci` into temporary folders and its verdicts reach the
status page.

The settings class and the chapter's computation live in one throwaway module on PYTHONPATH (a real chapter edits
`settings/chapters.py` and adds `chapters/<name>/`): the test process registers the class by monkeypatch, and the
notebook's kernel, a separate process, by importing the module.
"""
import inspect
import json
import os
from pathlib import Path
import sys
import textwrap

import nbformat
import pytest

from semantic_bottleneck import chapters
from semantic_bottleneck.book import driver as book
from semantic_bottleneck.book.status_page import write_status_page
from semantic_bottleneck.commands.prune_command import CHAPTERS
from semantic_bottleneck.settings import SETTINGS
from helpers import book_sandbox

NAME = "99_throwaway"
MODULE = "throwaway_chapter"
PARTS = {"study.py", "tables.py", "figures.py", "report.py", "verdicts.py"}  # the README's layout
CHAPTER = f'''
"""A throwaway chapter: its settings (as in settings/chapters.py) and what its notebook computes (chapters/<name>/)."""
from dataclasses import dataclass
from typing import ClassVar

import torch

from semantic_bottleneck.chapters.verdicts import Verdict, model_label
from semantic_bottleneck.settings import SETTINGS, Settings
from semantic_bottleneck.settings.core import setting


@dataclass(frozen=True)
class ThrowawaySettings(Settings):
    """The throwaway chapter: how many random vectors, and the mean cosine above which they count as aligned."""

    chapter: ClassVar[str] = "{NAME}"

    vectors: int = setting(8, "random vectors drawn from the seed", low=2)
    threshold: float = setting(0.5, "mean pairwise cosine above which the vectors count as aligned", above=0, high=1)


SETTINGS[ThrowawaySettings.chapter] = ThrowawaySettings


def mean_cosine(settings: ThrowawaySettings):
    """Mean pairwise cosine of `settings.vectors` random vectors (offset from the origin) drawn from the seed."""
    draw = torch.randn(settings.vectors, 16, generator=torch.Generator().manual_seed(settings.seed)) + 1.0
    cosine = torch.nn.functional.cosine_similarity(draw[:, None], draw[None], dim=-1)
    return cosine[~torch.eye(settings.vectors, dtype=torch.bool)].mean().item()


def verdicts(settings: ThrowawaySettings, cosine):
    """One verdict, computed from this run's cosine against the threshold."""
    return [Verdict("the vectors share a direction", f"mean cosine above {{settings.threshold}}",
                    f"mean cosine {{cosine:.3f}} over {{settings.vectors}} vectors",
                    "reproduced" if cosine > settings.threshold else "not reproduced",
                    "none: one deterministic draw from the seed", model_label("tiny-class", settings.profile))]
'''


def chapter_notebook(path, install_cell):
    """The standard first cells (title and badge, install, parameters, imports and `start_run`), one computation,
    the verdict table saved for the status page, and the provenance footer."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    install = nbformat.v4.new_code_cell(install_cell)
    install.metadata["tags"] = ["remove-cell"]
    parameters = nbformat.v4.new_code_cell(textwrap.dedent("""\
        profile = "tiny"          # tiny | ci | paper
        seed = 0                  # the random vectors' seed
        vectors = 8               # random vectors drawn from the seed
        threshold = 0.5           # mean pairwise cosine above which the vectors count as aligned
        output_dir = "results"    # where this notebook's numbers are written for the status page
        home = ""                 # one folder for every result of the run; empty: the usual places"""))
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# A throwaway chapter\n\n[![Open In Colab](https://colab.research.google.com/"
                                      f"assets/colab-badge.svg)](notebooks/{NAME}.ipynb)"),
        install, parameters,
        nbformat.v4.new_code_cell(textwrap.dedent(f"""\
            from IPython.display import display
            from semantic_bottleneck.book.provenance import start_run
            from semantic_bottleneck.chapters.verdicts import verdict_table
            import {MODULE} as chapter

            run = start_run("{NAME}", globals())""")),
        nbformat.v4.new_code_cell("cosine = chapter.mean_cosine(run.settings)\ncosine"),
        nbformat.v4.new_markdown_cell("## Verdicts"),
        nbformat.v4.new_code_cell(textwrap.dedent("""\
            verdicts = chapter.verdicts(run.settings, cosine)
            display(verdict_table(verdicts))
            run.save_verdicts(verdict_table(verdicts))
            run.footer()""")),
    ]
    nbformat.write(nb, path)


@pytest.fixture
def throwaway(tmp_path, monkeypatch):
    """The chapter's module on PYTHONPATH (here and in the kernel), its class in SETTINGS, a sandboxed book whose
    params/ci.yaml gives the chapter a section of its own."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / f"{MODULE}.py").write_text(CHAPTER)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(lib), os.environ.get("PYTHONPATH")])))
    monkeypatch.syspath_prepend(str(lib))
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    monkeypatch.setitem(SETTINGS, NAME, None)  # undone at teardown: the import below registers the class too
    module = __import__(MODULE)
    monkeypatch.setitem(SETTINGS, NAME, module.ThrowawaySettings)
    (tmp_path / "book").mkdir()
    sandbox = book_sandbox(tmp_path / "book", monkeypatch, f"{NAME}:\n  threshold: 0.25\n  vectors: 6\n")
    install = json.loads((book.REPO_ROOT / "notebooks" / "01_similarity.ipynb").read_text())["cells"][1]["source"]
    chapter_notebook(sandbox / "notebooks" / f"{NAME}.ipynb", "".join(install))
    return sandbox, module


def test_a_misspelt_setting_of_the_new_chapter_fails_before_anything_runs(throwaway, capsys):
    sandbox, _ = throwaway
    (sandbox / "params" / "ci.yaml").write_text(f"{NAME}:\n  treshold: 0.25\n")
    assert book.build("ci", only=[NAME], render_html=False) == 2
    err = capsys.readouterr().err
    assert "treshold" in err and "threshold" in err
    assert not (book.EXECUTED / f"{NAME}.ipynb").exists()


@pytest.mark.slow
def test_the_book_driver_builds_a_new_chapter_and_its_verdicts_reach_the_status_page(throwaway):
    sandbox, module = throwaway
    assert book.build("ci", only=[NAME], render_html=False) == 0
    executed = nbformat.read(book.EXECUTED / f"{NAME}.ipynb", as_version=4)
    assert not [o for c in executed.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    settings = module.ThrowawaySettings(profile="ci", threshold=0.25, vectors=6)
    expected = module.verdicts(settings, module.mean_cosine(settings))[0]  # the ci section's values reached the kernel
    write_status_page(book.RESULTS, sandbox / "status.md")
    page = (sandbox / "status.md").read_text()
    assert f"### {NAME} (ci profile)" in page
    assert expected.this_build in page and expected.verdict in page and "mean cosine above 0.25" in page


def test_every_chapter_folder_has_the_same_named_parts():
    folders = [f for f in Path(chapters.__file__).parent.iterdir() if (f / "__init__.py").exists()]
    assert len(folders) == 8
    for folder in folders:
        assert PARTS <= {f.name for f in folder.glob("*.py")}, folder.name


def test_the_prune_command_runs_each_sampling_chapter_through_its_study_module():
    for notebook, study in CHAPTERS.items():
        assert study.__name__.endswith(".study"), notebook
        for part in ("models", "load", "plan", "run"):
            assert list(inspect.signature(getattr(study, part)).parameters)[0] == "settings", (notebook, part)
