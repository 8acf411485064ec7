"""The browser check: each planted defect of a small hand-written page is caught and named; a clean page passes."""
import matplotlib.pyplot as plt
import numpy as np
import pytest

from semantic_bottleneck.book import browser_check

pytest.importorskip("selenium")
pytestmark = pytest.mark.skipif(browser_check.find_browser() is None, reason="needs chromium and chromium-driver")

HEAD = "<!doctype html><html><head><meta charset='utf-8'></head><body><main style='width: 300px'><section><h2>{}</h2>"
PAGES = {
    "clean": "<figure><img src='picture.png' width='200'><figcaption>Fig. 1 analog</figcaption></figure>"
             "<div style='overflow-x: auto'><table><tr>" + "<td>wide&nbsp;cell&nbsp;number&nbsp;one</td>" * 6 +
             "</tr></table></div><audio controls src='sound.wav'></audio>",
    "broken_image": "<img src='missing.png'>",
    "missing_audio": "<audio controls><source src='missing.wav' type='audio/wav'></audio>",
    "error_output": "<div class='cell'><div class='cell_output'><div class='output traceback'><pre>Traceback (most "
                    "recent call last):\nValueError: planted</pre></div></div></div>",
    "overflowing_table": "<table><tr>" + "<td>wide&nbsp;cell&nbsp;number&nbsp;one</td>" * 6 + "</tr></table>",
    "empty_figure": "<figure><figcaption>Fig. 2 analog</figcaption></figure><img src='blank.png' width='100'>",
    "console_error": "<script>console.error('planted console error')</script>",
}


def wav(path, rate=8000):
    """A short 16-bit mono WAV file."""
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((3000 * np.sin(np.arange(rate // 4) / 5)).astype("<i2").tobytes())


@pytest.fixture(scope="module")
def defects(tmp_path_factory):
    """Every defect the check finds in the planted pages, at the phone width, by page."""
    folder = tmp_path_factory.mktemp("html")
    plt.imsave(folder / "picture.png", np.random.default_rng(0).random((20, 20, 3)))
    plt.imsave(folder / "blank.png", np.ones((20, 20, 3)))
    wav(folder / "sound.wav")
    for name, body in PAGES.items():
        (folder / f"{name}.html").write_text(HEAD.format(name) + body + "</section></main></body></html>")
    shots = folder.parent / "shots"
    found = browser_check.check_book(folder, shots, widths=(400,), report=lambda line: None)
    assert (shots / "400" / "clean.png").stat().st_size > 0
    return {name: [d for d in found if d.page == f"{name}.html"] for name in PAGES}


def test_a_clean_page_passes(defects):
    assert defects["clean"] == []


@pytest.mark.parametrize("page, element, problem", [
    ("broken_image", "img 1 of 1 (missing.png) under 'broken_image'", "image does not load"),
    ("missing_audio", "audio 1 of 1", "audio does not load"),
    ("error_output", ".cell 1 of 1", "error output: ValueError: planted"),
    ("overflowing_table", "table 1 of 1", "cut off"),
    ("empty_figure", "figure 1 of 1", "empty figure (no image)"),
    ("empty_figure", "img 1 of 1 (blank.png)", "empty figure (one colour)"),
    ("console_error", "console", "planted console error"),
])
def test_each_planted_defect_is_caught_and_named(defects, page, element, problem):
    assert any(element in d.element and problem in d.problem for d in defects[page]), defects[page]
    assert all(str(d).startswith(f"{page}.html at 400 px: ") for d in defects[page])
