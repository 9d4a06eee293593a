# The two commands a fresh clone needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_FLAGS := -q --disable-pip-version-check
REQUIREMENTS := requirements.txt requirements-dev.txt policy/requirements.txt handlers/requirements.txt failctl/requirements.txt

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt
	touch $@

demo: setup
	$(PY) -m failctl demo

lint: setup
	$(PY) -m ruff check .

test: lint
	$(PY) -m pytest -q

bench: setup
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .ruff_cache
