# The two commands a fresh clone needs: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_FLAGS := -q --disable-pip-version-check

.PHONY: setup demo preview test test-fast lint typecheck bench clean

setup: $(VENV)/.installed

# The project installs as one package (editable), with every extra: program, pack, tooling, dev.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) -e ".[dev]"
	touch $@

demo: setup
	$(VENV)/bin/failctl demo

# This project's own offline preview and gate: the program is the folder it runs in.
preview: setup
	$(VENV)/bin/failctl preview -s dev --account 123456789012 --policy-pack policy

lint: setup
	$(PY) -m ruff check .

# mypy --strict over lambda_failures/ and failctl/ (configured in pyproject.toml).
typecheck: setup
	$(PY) -m mypy

test: lint typecheck
	$(PY) -m pytest -q

# While changing code: everything but the tests marked slow (tests/conftest.py SLOW_MODULES).
test-fast: lint
	$(PY) -m pytest -q -m "not slow"

bench: setup
	PYTHONPATH=tests $(PY) bench/run_all.py

clean:
	rm -rf $(VENV) .ruff_cache .mypy_cache *.egg-info
