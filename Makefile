# vqlab: `make test` and `make train` work on a fresh machine with Python 3.11; each creates .venv
# and installs the package with its dev extras on first use (pip resolves torch with torchvision).
PYTHON3 ?= python3
VENV ?= .venv
PYTHON := $(VENV)/bin/python
ARGS ?=

.PHONY: install train test test-fast lint format bench wheel clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PYTHON) || $(PYTHON3) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $@

train: install  ## train the default model on the embedded digits: make train ARGS="model=vqvae_ste"
	$(PYTHON) -m vqlab.train $(ARGS)

test: install  ## the whole test suite (CI runs it)
	$(PYTHON) -m pytest -q

test-fast: install  ## the day-to-day loop: no subprocess, no DDP, no training past a few steps
	$(PYTHON) -m pytest -q -m "not slow"

lint: install
	$(VENV)/bin/ruff check vqlab tests experiments
	$(VENV)/bin/ruff format --check vqlab tests experiments

format: install
	$(VENV)/bin/ruff format vqlab tests experiments
	$(VENV)/bin/ruff check --fix vqlab tests experiments

bench: install  ## the quick (--quick: tiny sizes) run of every experiments/bench_*.py
	@set -e; for script in experiments/bench_*.py; do \
		name=$$(basename $$script .py); echo "== python -m experiments.$$name --quick"; \
		$(PYTHON) -m experiments.$$name --quick; \
	done

wheel: install  ## dist/vqlab-*.whl, configs included (conf/ ships as vqlab/conf)
	$(PYTHON) -m pip wheel --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) logs .pytest_cache .ruff_cache build dist
