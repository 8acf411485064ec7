"""The browser check: each planted defect of a small hand-written page is caught and named; a clean page passes; a
page still loading is waited for, one that never loads is one defect, a redirect page is checked without opening it."""
import importlib.util
import threading
import time

import matplotlib.pyplot as plt
import numpy as np
import pytest

import helpers
from semantic_bottleneck.book import browser_check

needs_browser = pytest.mark.skipif(browser_check.find_browser() is None or importlib.util.find_spec("selenium") is None,
                                   reason="needs selenium, chromium and chromium-driver")

# Stream outputs as myst-nb 1.4 renders them (the copy button's label sits beside the <pre>; the theme scrolls it).
BAR = "train: 100%|##########| 50/50 [00:01&lt;00:00, 40.0it/s]\n"
STREAM = ("<div class='output {kind} highlight-myst-ansi notranslate'><div class='highlight' style='overflow-x: auto'>"
          "<pre><span></span>{text}</pre></div><button class='copybtn'>Copy to clipboard</button></div>")
STDERR = STREAM.format(kind="stderr", text=BAR)
STDOUT = STREAM.format(kind="stream", text="done\n")
CELL = "<div class='cell{tags} docutils container'><div class='cell_output docutils container'>{outputs}</div></div>"
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
    "stderr_output": CELL.format(tags="", outputs=STDERR + STDOUT + STDERR),  # one cell, one defect
    "stdout_progress": CELL.format(tags="", outputs=STREAM.format(kind="stream", text=BAR)),
    "stderr_error": CELL.format(tags="", outputs=STREAM.format(kind="stderr", text="ValueError: planted in stderr")),
    # what myst-nb renders for a cell tagged remove-stderr, a stderr collapsed out of sight, and stdout that is no bar
    "stderr_hidden": CELL.format(tags=" tag_remove-stderr", outputs=STDOUT) +
                     CELL.format(tags=" tag_hide-output", outputs=f"<details class='hide above-output'>{STDERR}"
                                 "</details>") +
                     CELL.format(tags="", outputs=STREAM.format(kind="stream", text="accuracy 41% | copy 38% | 3/4")),
}
REDIRECTS = {"redirect": "clean.html", "redirect_nowhere": "missing.html"}


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
    for name, target in REDIRECTS.items():
        (folder / f"{name}.html").write_text(f'<meta http-equiv="Refresh" content="0; url={target}" />')
    shots = folder.parent / "shots"
    found = browser_check.check_book(folder, shots, widths=(400,), report=lambda line: None)
    assert (shots / "400" / "clean.png").stat().st_size > 0
    return {name: [d for d in found if d.page == f"{name}.html"] for name in [*PAGES, *REDIRECTS]}


@needs_browser
@pytest.mark.parametrize("page", ["clean", "stderr_hidden", "redirect"])
def test_a_clean_page_passes(defects, page):
    assert defects[page] == []


@pytest.mark.parametrize("page, element, problem", [
    ("broken_image", "img 1 of 1 (missing.png) under 'broken_image'", "image does not load"),
    ("missing_audio", "audio 1 of 1", "audio does not load"),
    ("error_output", ".cell 1 of 1", "error output: ValueError: planted"),
    ("overflowing_table", "table 1 of 1", "cut off"),
    ("empty_figure", "figure 1 of 1", "empty figure (no image)"),
    ("empty_figure", "img 1 of 1 (blank.png)", "empty figure (one colour)"),
    ("console_error", "console", "planted console error"),
    ("stderr_output", ".cell 1 of 1", '2 visible stderr output(s), last: "train: 100%|##########| 50/50'),
    ("stdout_progress", ".cell 1 of 1", "1 visible stdout output(s), last: \"train: 100%"),
    ("stderr_error", ".cell 1 of 1", "error output: ValueError: planted in stderr"),
    ("redirect_nowhere", "redirect", "leads to missing.html, which is not a page of the book"),
])
@needs_browser
def test_each_planted_defect_is_caught_and_named(defects, page, element, problem):
    assert any(element in d.element and problem in d.problem for d in defects[page]), defects[page]
    assert all(str(d).startswith(f"{page}.html at 400 px: ") for d in defects[page])


@needs_browser
@pytest.mark.parametrize("page", ["stderr_output", "stdout_progress", "stderr_error", "redirect_nowhere"])
def test_a_stream_or_redirect_defect_is_named_once(defects, page):
    assert len(defects[page]) == 1, defects[page]


def test_a_redirect_target_is_read_relative_to_its_page(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_text("<META HTTP-EQUIV='refresh' CONTENT='0;URL=../intro.html#top'>")
    (tmp_path / "page.html").write_text("<html><head><meta charset='utf-8'></head><body>refresh</body></html>")
    assert browser_check.redirect_target(tmp_path, "sub/index.html") == "intro.html"
    assert browser_check.redirect_target(tmp_path, "page.html") is None


def held_page(folder, server):
    """A page whose <head> script the local server holds back: until released, the page is loading and has no body."""
    server.hold["/slow.js"] = threading.Event()
    (folder / "loading.html").write_text(
        f"<!doctype html><html><head><script src='{server.url('/slow.js')}'></script></head><body><main "
        f"style='width: 300px'><table><tr>{'<td>wide&nbsp;cell&nbsp;number&nbsp;one</td>' * 6}</tr></table></main>"
        "</body></html>")
    return server.hold["/slow.js"]


@needs_browser
def test_the_audit_waits_for_a_page_still_loading(tmp_path):
    with helpers.local_server({"/slow.js": b"window.slow = 1;"}) as server, \
            browser_check.serve(tmp_path) as base, browser_check.browser(page_load_strategy="none") as driver:
        release = held_page(tmp_path, server)
        driver.get(base + "loading.html")
        deadline = time.monotonic() + 10
        while "/slow.js" not in server.hits and time.monotonic() < deadline:
            time.sleep(0.02)
        assert driver.execute_script("return [document.readyState, document.body]") == ["loading", None]
        threading.Timer(0.5, release.set).start()
        found = browser_check.audit(driver, base, "loading.html", 400)
    assert [(d.element, d.problem.split(":")[0]) for d in found] == [("table 1 of 1", "cut off")], found


@needs_browser
def test_a_page_that_never_loads_is_one_defect(tmp_path, monkeypatch):
    monkeypatch.setattr(browser_check, "PAGE_LOAD_S", 1)
    with helpers.local_server({"/slow.js": b"window.slow = 1;"}) as server:
        held_page(tmp_path, server)
        found = browser_check.check_book(tmp_path, widths=(400,), report=lambda line: None)
    assert [(d.page, d.element) for d in found] == [("loading.html", "page")], found
    assert "did not load" in found[0].problem
