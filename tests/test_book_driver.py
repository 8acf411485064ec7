"""The book driver: skips unchanged notebooks, validates parameters, and fails loudly with the cell."""
import json

import nbformat
import pandas as pd
import pytest

from semantic_bottleneck.book import driver as book
from helpers import book_sandbox, write_notebook


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A throw-away notebooks/, params/ and book/ for the driver."""
    return book_sandbox(tmp_path, monkeypatch, "good:\n  value: 2\nbad:\n  value: 3\n")


def test_failing_notebook_exits_nonzero_naming_notebook_cell_and_error(sandbox, capsys):
    write_notebook(sandbox / "notebooks" / "bad.ipynb", ["x = value * 2", "raise ValueError('planted failure')"])
    status = book.build("ci", only=["bad"], render_html=False)
    out = capsys.readouterr()
    assert status == 1
    assert "bad" in out.err and "FAILED" in out.out
    assert "cell 2" in out.out and "ValueError: planted failure" in out.out
    assert not (book.EXECUTED / "bad.ipynb").exists()  # never rendered as if it succeeded
    assert (book.FAILED / "bad.ipynb").exists()


def test_unchanged_notebook_is_skipped_and_force_reruns(sandbox):
    write_notebook(sandbox / "notebooks" / "good.ipynb", ["assert value == 2 and profile == 'ci'"])
    assert book.execute("good", "ci").status == "executed"
    assert book.execute("good", "ci").status == "unchanged"
    assert book.execute("good", "ci", force=True).status == "executed"
    executed = nbformat.read(book.EXECUTED / "good.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and "remove-cell" in injected[0].metadata["tags"]
    stamp = json.loads((book.STAMPS / "good.json").read_text())
    assert stamp["profile"] == "ci"


def test_changed_parameters_invalidate_the_stamp(sandbox):
    write_notebook(sandbox / "notebooks" / "good.ipynb", ["pass"])
    assert book.execute("good", "ci").status == "executed"
    (sandbox / "params" / "ci.yaml").write_text("good:\n  value: 5\n")
    assert not book.is_current("good", book.load_params("ci", "good"))


def test_unknown_and_mistyped_parameters_are_rejected_before_execution(sandbox):
    write_notebook(sandbox / "notebooks" / "good.ipynb", ["pass"])
    (sandbox / "params" / "ci.yaml").write_text("good:\n  valeu: 2\n")
    with pytest.raises(book.BookError, match="unknown parameter.*valeu"):
        book.execute("good", "ci")
    (sandbox / "params" / "ci.yaml").write_text("good:\n  value: two\n")
    with pytest.raises(book.BookError, match="parameter value must be int"):
        book.execute("good", "ci")


def test_unknown_only_name_lists_the_notebooks(sandbox, capsys):
    write_notebook(sandbox / "notebooks" / "good.ipynb", ["pass"])
    assert book.build("ci", only=["nope"], render_html=False) == 2
    assert "--only must name notebooks among good" in capsys.readouterr().err


def test_provenance_footer_names_profile_settings_their_sources_commit_and_versions(tmp_path):
    from semantic_bottleneck.book import provenance

    namespace = {"profile": "ci", "models": ["tiny-class"], "seed": 3, "output_dir": str(tmp_path), "In": [],
                 "_i1": "x", "pd": pd, "display": print}  # a kernel's globals: IPython's names, modules, functions skipped
    run = provenance.start_run("01_similarity", namespace)
    assert run.settings.seed == 3 and run.settings.timestep_points == 6  # the ci profile's, though not injected
    assert namespace["timestep_points"] == 6  # written back: every later cell computes with the resolved value
    record = run.provenance()
    assert record["profile"] == "ci" and '"seed": 3' in record["settings"]
    assert record["settings from"] == "1 from params/ci.yaml (in the package), the others the chapter's defaults; " \
                                      "overridden here: seed, output_dir"
    assert set(record) >= {"code", "lib", "torch", "device", "wall time"}
    assert record["code"].startswith("git commit ")  # the tests run in a checkout
    assert "tiny-class" in run.footer().to_html()  # shown in full, not truncated
    long_text = pd.DataFrame({"value": {"sampler": "x" * 300}})
    assert "x" * 300 in long_text._repr_html_()  # notebook tables show protocol sentences whole
    with pytest.raises(ValueError, match="profile must be one of tiny, ci, paper"):
        provenance.start_run("01_similarity", {**namespace, "profile": "gpu"})
    with pytest.raises(ValueError, match="01_similarity has no setting studies"):
        provenance.start_run("01_similarity", {**namespace, "studies": {}})  # a result defined before start_run


@pytest.mark.parametrize("direct_url,expected", [
    ('{"url": "https://github.com/o/r", "vcs_info": {"vcs": "git", "commit_id": "abc123"}}',
     "installed from https://github.com/o/r@abc123 (version"),
    ('{"url": "file:///tmp/semantic_bottleneck-0.1.0-py3-none-any.whl", "archive_info": {}}',
     "installed from file:///tmp/semantic_bottleneck-0.1.0-py3-none-any.whl (version"),
    ('{"url": "file:///work/main", "dir_info": {"editable": true}}', "version "),
    (None, "version "),
    ("not json", "version "),
])
def test_code_version_outside_a_checkout_reads_pips_install_record(direct_url, expected, monkeypatch):
    from semantic_bottleneck.book import provenance

    class Distribution:
        def read_text(self, name):
            assert name == "direct_url.json"
            return direct_url

    monkeypatch.setattr(provenance, "git_commit", lambda: None)
    monkeypatch.setattr(provenance.importlib.metadata, "distribution", lambda name: Distribution())
    assert provenance.code_version().startswith(expected)
