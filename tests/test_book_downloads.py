"""Each chapter page ends with links to its executed notebook (a copy without the links) and its result CSV."""
import nbformat

from semantic_bottleneck.book.downloads import FOLDER, add_downloads


def test_links_cell_is_added_and_the_download_is_the_notebook_as_it_ran(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "01_x.csv").write_text("table,value\nT1,1\n")
    add_downloads(tmp_path / "01_x.ipynb", tmp_path / "results")
    last = nbformat.read(tmp_path / "01_x.ipynb", as_version=4).cells[-1]
    assert f"(path:{FOLDER}/01_x.ipynb)" in last.source and "(path:results/01_x.csv)" in last.source
    assert len(nbformat.read(tmp_path / FOLDER / "01_x.ipynb", as_version=4).cells) == 1


def test_no_csv_link_without_a_csv(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "02_y.ipynb")
    add_downloads(tmp_path / "02_y.ipynb", tmp_path / "results")
    assert ".csv" not in nbformat.read(tmp_path / "02_y.ipynb", as_version=4).cells[-1].source
