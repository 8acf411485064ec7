# `make book` and `make test` do all the set-up on a fresh machine (Python 3.11, CPU, offline but for PyPI).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PROFILE ?= tiny

.PHONY: install book test clean

install: $(STAMP)

# Re-installs only when requirements.txt or pyproject.toml changed since the last install.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

book: $(STAMP)
	$(PY) -m semantic_bottleneck book --profile $(PROFILE)

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf book/_build book/executed .cache
