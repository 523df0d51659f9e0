# Two entry points for a fresh machine (see README.md): `make run` and `make test`.
# `make setup` is what both call first; it is cheap when nothing changed.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-test run test bench chaos contracts clean

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

run: setup
	@$(VENV)/bin/notary demo || [ $$? -eq 130 ]  # Ctrl-C is a normal way to stop

test: setup-test
	@$(PY) -m ruff check .  # lint: configuration in pyproject.toml
	@$(PY) -m mypy          # types: which packages, how strictly, in pyproject.toml
	@$(PY) -m pytest

# The benchmarks of bench/RESULTS.md, one after the other (about ten minutes).
bench:
	@bash scripts/setup.sh --bench
	@for b in anchor_gas merkle issue verify_pdf verify_lookup anchor_throughput console; do \
	  echo "== bench.$$b"; $(PY) -m bench.$$b || exit 1; done

# The chaos suite at length (issue #15): ten minutes, 60 faults; `make test` runs two minutes of it.
chaos: setup-test
	@$(PY) -m tests.chaos --seconds 600 --faults 60

contracts: setup
	@$(PY) -m contracts.build

clean:
	rm -rf $(VENV) node_modules .setup-stamp*
