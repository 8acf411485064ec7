"""Each chapter's results to download: its executed notebook and its result table (CSV), linked at the foot of its page.

The notebook is copied to `downloads/` beside the executed one before the links cell is added, so the download is the
notebook as it ran; MyST `path:` links make Sphinx copy both files into the HTML build.
"""
from pathlib import Path
import shutil

import nbformat

FOLDER = "downloads"


def links_cell(name, csv_exists):
    """The Markdown cell that ends a chapter's page: a link to its executed notebook and one to its CSV."""
    lines = ["## Download this chapter's results", "",
             f"- [the executed notebook](path:{FOLDER}/{name}.ipynb) (`{name}.ipynb`, every output above)"]
    if csv_exists:
        lines.append(f"- [its result table](path:results/{name}.csv) (`{name}.csv`, the numbers behind the "
                     "[reproduction status](status.md) page)")
    return nbformat.v4.new_markdown_cell("\n".join(lines), metadata={"tags": ["downloads"]})


def add_downloads(executed, results):
    """Copy the executed notebook `executed` to downloads/, then end it with the links cell (its CSV in `results`)."""
    executed = Path(executed)
    folder = executed.parent / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(executed, folder / executed.name)
    nb = nbformat.read(executed, as_version=4)
    nb.cells.append(links_cell(executed.stem, (Path(results) / f"{executed.stem}.csv").exists()))
    nbformat.write(nb, executed)
