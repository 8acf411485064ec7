"""Whether the hosts of a download answer: every one probed at once within one deadline, so that an unreachable
download ends within seconds however many hosts it could come from; and a short reason for a failed request.
"""
import re
import threading
import time

import requests

REACH_S = 4.0  # seconds for every host of a download to answer a probe, all probed at once
CONNECT_TIMEOUT = 5.0  # seconds; an unreachable host fails fast instead of hanging
READ_TIMEOUT = 60.0


def request_failure(err):
    """A short reason for a failed HTTP request."""
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code}"
    if isinstance(err, requests.Timeout):
        return f"no answer within {CONNECT_TIMEOUT:g} s (connect) / {READ_TIMEOUT:g} s (read)"
    match = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(err))
    if match:
        return match.group(1).strip()
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:120]}" if text else type(err).__name__


def unreachable(urls, timeout=None):
    """{url: why its host cannot be reached, or None} for every url: one HEAD request each (redirects not followed),
    all at once, given up after `timeout` seconds (default REACH_S) in all, whatever hangs (DNS included).

    Any HTTP answer, an error status included, counts as reached: the download reports its own errors.
    """
    timeout = REACH_S if timeout is None else timeout
    answers = {}

    def probe(url):
        """One HEAD request; its outcome in `answers`."""
        try:
            requests.head(url, timeout=timeout, allow_redirects=False)
            answers[url] = None
        except requests.Timeout:
            answers[url] = f"no answer within {timeout:g} s"
        except requests.RequestException as err:
            answers[url] = request_failure(err)

    threads = [threading.Thread(target=probe, args=(url,), daemon=True) for url in dict.fromkeys(urls)]
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {url: answers.get(url, f"no answer within {timeout:g} s") for url in urls}
