"""The paper's numbers file and the reproduction-status verdicts."""
import pandas as pd
import pytest

from semantic_bottleneck import paper
from semantic_bottleneck.book import status_page as status


def test_paper_numbers_cover_tables_1_to_7_and_store_percent_as_fractions():
    numbers = paper.paper_numbers()
    assert sorted(set(numbers["table"])) == ["T1", "T2", "T3", "T4", "T5", "T6", "T7", "TEXT"]
    assert paper.paper_value("T1", "cosine", "REPA") == 0.9946
    assert paper.paper_value("T1", "npr", "REPA") == pytest.approx(0.0153)
    assert paper.paper_value("T4", "npr_y_plus_t", "REPA") == pytest.approx(0.0143)
    assert paper.paper_value("T2", "tail_tau0.02_every_step", "removed_dims") == 762
    assert paper.paper_table("T1").shape == (4, 8)
    assert not numbers.duplicated(["table", "row", "column"]).any()


def test_table1_nPR_is_PR_over_d_in_the_paper_itself():
    t1 = paper.paper_table("T1")
    assert (t1.loc["pr"] / t1.loc["d"] - t1.loc["npr"]).abs().max() < 1e-4  # printed to 0.01%; LightningDiT 23.70/1152 = 2.057% is printed 2.05%


def test_unknown_table_and_number_are_clear_errors():
    with pytest.raises(ValueError, match="table must be one of"):
        paper.paper_table("T9")
    with pytest.raises(KeyError, match="no number at T1/cosine/UViT"):
        paper.paper_value("T1", "cosine", "UViT")


def test_verdicts_for_a_real_model_and_for_a_tiny_analog():
    numbers = paper.paper_numbers()
    assert status.verdict("T1", "cosine", "REPA", "repa-xl", 0.9950, numbers)[1].startswith("reproduced")
    assert status.verdict("T1", "cosine", "REPA", "repa-xl", 0.9800, numbers)[1].startswith("differs")
    assert status.verdict("T1", "cosine", "REPA", "sit-xl", 0.9946, numbers)[2] is False  # another model's cell
    paper_range, text, reproduces = status.verdict("T1", "cosine", "tiny-class", "tiny-class", 0.95, numbers)
    assert paper_range == (0.9001, 0.9946) and text == "analog: inside the paper's ImageNet range" and not reproduces
    assert "outside" in status.verdict("T1", "cosine", "tiny-class", "tiny-class", 0.5, numbers)[1]


def test_pruning_cells_compare_only_with_the_same_model():
    numbers = paper.paper_numbers()
    paper_fid, text, reproduces = status.verdict("T2", "baseline", "fid", "repa-xl", 7.20, numbers)
    assert paper_fid == 7.1694 and text.startswith("reproduced") and reproduces
    assert status.verdict("T3", "MG/baseline", "fid", "mg-xl", 7.9, numbers)[1].startswith("differs")
    shown, text, reproduces = status.verdict("T2", "baseline", "fid", "tiny-class", 510.0, numbers)
    assert (shown, reproduces) == ("7.169 (REPA)", False) and text.startswith("analog: not comparable")
    assert status.verdict("T2", "baseline", "fid", "mg-xl", 7.2, numbers)[2] is False  # T2 is REPA's table


def test_status_page_lists_computed_and_pending_rows(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    pd.DataFrame([{"table": "T1", "row": "cosine", "column": "tiny-class", "model": "tiny-class",
                   "reading": "mean over pairs", "value": 0.99, "profile": "ci", "notebook": "x"},
                  {"table": "T2", "row": "baseline", "column": "fid", "model": "tiny-class",
                   "reading": "FID-100", "value": 500.0, "profile": "ci", "notebook": "x"}]).to_csv(
        results / "x.csv", index=False)
    table = status.status_table(results)
    tables = paper.paper_numbers()["table"]
    assert len(table) == (tables != "TEXT").sum() + 2  # analogs reproduce no paper cell; TEXT numbers stay out
    page = tmp_path / "status.md"
    status.write_status_page(results, page)
    text = page.read_text()
    assert "tiny-class" in text and "0.9001 to 0.9946 (6 models)" in text and "7.169 (REPA)" in text
    summary = status.pending_summary(table).set_index("table")
    assert summary.loc["T2", "pending"] == 36 and summary.loc["T2", "why"].startswith("needs REPA and a GPU")
    assert summary.loc["T1", "pending"] == 32  # a tiny analog covers no paper cell
    assert "baseline / fid = 7.1694" in text
