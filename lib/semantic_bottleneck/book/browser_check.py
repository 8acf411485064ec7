"""The rendered book, checked as a reader sees it: every page opened in headless Chromium at two widths.

`python -m semantic_bottleneck.book.browser_check [HTML_FOLDER]` (`make check-book`) serves the built book on
localhost, opens each page at a desktop and a phone width, writes a full-page screenshot of each, and fails naming
page and element on: a page that does not load in time, a local image or audio file that does not load, a console
error, an error output, visible stderr or progress-bar output (a cell that trains or samples is tagged remove-stderr),
a table, figure or image cut off at the edge of its column, an empty figure. The page analysis is `page_audit.js`; it
waits for the page to load before measuring it. A redirect page (Jupyter Book's index.html) is not opened: its
target must be a page of the book. Remote hosts are blocked, so a remote badge or script that cannot load offline is
no defect. Drives Debian's `chromium` and `chromium-driver` through selenium (`requirements-check.txt`); it downloads
no browser.
"""
from contextlib import contextmanager
from dataclasses import dataclass
import argparse
import base64
import functools
import http.server
import os
from pathlib import Path
import posixpath
import re
import shutil
import sys
import threading
from urllib.parse import quote

from ..cache import REPO_ROOT

HTML = REPO_ROOT / "book" / "_build" / "html"
WIDTHS = (1400, 400)
HEIGHT = 900
PAGE_LOAD_S = 60
# Jupyter Book's index.html is only `<meta http-equiv="Refresh" content="0; url=intro.html" />`: audited in the
# browser it is left for its target while the audit runs, so it is checked by reading it instead.
REDIRECT = re.compile(r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']?\d+\s*;\s*url=([^"'\s>]+)""", re.I)
SKIPPED_FOLDERS = {"_static", "_sources", "_images", "_downloads"}
AUDIT = (Path(__file__).with_name("page_audit.js")).read_text()
# sphinx-thebe 0.3.1 under Jupyter Book 1 writes its (unused: thebe is off) config script twice; harmless.
KNOWN_THEME_ERRORS = ("Identifier 'THEBE_JS_URL' has already been declared",)


@dataclass(frozen=True)
class Defect:
    """One thing wrong on one page at one width."""

    page: str
    width: int
    element: str
    problem: str

    def __str__(self):
        return f"{self.page} at {self.width} px: {self.element}: {self.problem}"


def find_browser():
    """(chromium, chromedriver) paths ($CHROMIUM and $CHROMEDRIVER first), or None when either is missing."""
    browser = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def pages(folder):
    """The HTML pages of a built book, relative to its folder, in sorted order (theme and source folders left out)."""
    return sorted(p.relative_to(folder).as_posix() for p in Path(folder).rglob("*.html")
                  if not SKIPPED_FOLDERS & set(p.relative_to(folder).parts))


def redirect_target(folder, page):
    """The page that `page` redirects to (a meta refresh), relative to the book's folder; None for an ordinary page."""
    found = REDIRECT.search((Path(folder) / page).read_text(errors="replace")[:4000])
    if found is None:
        return None
    target = re.split(r"[#?]", found.group(1))[0]
    return target if "://" in target else posixpath.normpath(posixpath.join(posixpath.dirname(page), target))


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        """Serve quietly: one line per request would bury the check's findings."""


@contextmanager
def serve(folder):
    """Serve `folder` over HTTP on a free localhost port for the duration; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def browser(page_load_strategy="normal"):
    """A headless Chromium under selenium, remote hosts unreachable, its console log kept ("none" returns from
    `get` before the page has loaded, as a test of the audit's own wait needs)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    found = find_browser()
    if found is None:
        raise RuntimeError("chromium and chromedriver not found: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                 "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1", f"--window-size={WIDTHS[0]},{HEIGHT}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.page_load_strategy = page_load_strategy
    driver = webdriver.Chrome(options=options, service=Service(executable_path=found[1]))
    driver.set_script_timeout(120)
    driver.set_page_load_timeout(PAGE_LOAD_S)
    try:
        yield driver
    finally:
        driver.quit()


def console_errors(driver, base):
    """The page's console errors since the last call, less remote (blocked) URLs, the favicon and known theme bugs."""
    out = []
    for entry in driver.get_log("browser"):
        message = entry.get("message", "")
        remote = message.startswith(("http://", "https://")) and not message.startswith(base)
        known = "favicon.ico" in message or any(k in message for k in KNOWN_THEME_ERRORS)
        if entry.get("level") == "SEVERE" and not remote and not known:
            out.append(message.replace(base, "")[:300])
    return out


def screenshot(driver, path):
    """A PNG of the whole page (not only the window) at `path`."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True, "clip": clip})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def audit(driver, base, page, width):
    """The defects of one page at one width (the page must be open; the audit waits for it to finish loading)."""
    found = [Defect(page, width, d["element"], d["problem"]) for d in driver.execute_async_script(AUDIT)]
    return found + [Defect(page, width, "console", f"console error: {m}") for m in console_errors(driver, base)]


def visit(driver, base, page, width, shots=None):
    """Open one page, audit it and take its screenshot; a page that fails to load or to be audited is one defect."""
    from selenium.common.exceptions import WebDriverException

    try:
        driver.get(base + quote(page))
        found = audit(driver, base, page, width)
        if shots is not None:
            screenshot(driver, Path(shots) / str(width) / page.replace(".html", ".png"))
    except WebDriverException as err:
        reason = (err.msg or type(err).__name__).strip().splitlines()[0]
        return [Defect(page, width, "page", f"did not load or could not be audited: {reason}")]
    return found


def check_redirect(page, target, width, book_pages):
    """A redirect page's defect: a target that is not a page of the book."""
    if target in book_pages:
        return []
    return [Defect(page, width, "redirect", f"leads to {target}, which is not a page of the book")]


def check_book(folder=HTML, shots=None, widths=WIDTHS, report=print):
    """Open every page of the built book at each width; returns the defects (and reports each page's as it goes)."""
    folder = Path(folder)
    if not (folder / "index.html").exists() and not pages(folder):
        raise FileNotFoundError(f"no built book in {folder}: run `make book` first")
    defects, book_pages = [], pages(folder)
    redirects = {page: redirect_target(folder, page) for page in book_pages}
    with serve(folder) as base, browser() as driver:
        for width in widths:
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": width, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False})
            for page in book_pages:
                target = redirects[page]
                if target is None:
                    found, note = visit(driver, base, page, width, shots), ""
                else:
                    found, note = check_redirect(page, target, width, book_pages), f" (redirects to {target})"
                report(f"{'FAIL' if found else 'ok  '} {page} at {width} px{note}" +
                       "".join(f"\n    {d}" for d in found))
                defects += found
    return defects


def main(argv=None):
    """Command line: check a built book; exit status 1 when any page has a defect."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default=str(HTML), help="the built book (default: book/_build/html)")
    parser.add_argument("--screenshots", default=None, help="where to write them (default: beside html, screenshots/)")
    args = parser.parse_args(argv)
    html = Path(args.html)
    shots = Path(args.screenshots) if args.screenshots else html.parent / "screenshots"
    try:
        defects = check_book(html, shots)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"\n{len(pages(html))} pages at {' and '.join(map(str, WIDTHS))} px: {len(defects)} defect(s); "
          f"screenshots in {shots}")
    return 1 if defects else 0


if __name__ == "__main__":
    sys.exit(main())
