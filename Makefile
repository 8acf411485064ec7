# `make book` and `make test` do all the set-up on a fresh machine (Python 3.11, CPU, offline but for PyPI).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CHECK_STAMP := $(VENV)/.installed-check
PROFILE ?= tiny

.PHONY: install install-check book check-book test clean

install: $(STAMP)

# Re-installs only when requirements.txt or pyproject.toml changed since the last install.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The browser check's own dependency (selenium); Chromium itself comes from apt-get (see .ci/run).
install-check: $(CHECK_STAMP)

$(CHECK_STAMP): $(STAMP) requirements-check.txt
	$(PY) -m pip install -q -r requirements-check.txt
	touch $(CHECK_STAMP)

book: $(STAMP)
	$(PY) -m semantic_bottleneck book --profile $(PROFILE)

# Opens every page of the built book in headless Chromium at 1400 and 400 px; screenshots in book/_build/screenshots.
check-book: $(CHECK_STAMP)
	$(PY) -m semantic_bottleneck.book.browser_check book/_build/html

# Two worker processes (pytest-xdist), one thread each: the suite is mostly single-threaded Python. Each worker
# is handed one test at a time, longest first (tests/conftest.py orders them), so neither waits on the other at the end.
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --maxschedchunk 1 --durations=15

clean:
	rm -rf book/_build book/executed .cache
