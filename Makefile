# Two entry points for a fresh machine (see README.md): `make run` and `make test`.
# `make setup` is what both call first; it is cheap when nothing changed.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup setup-test run test contracts clean

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

run: setup
	@$(VENV)/bin/notary demo || [ $$? -eq 130 ]  # Ctrl-C is a normal way to stop

test: setup-test
	@$(PY) -m pytest

contracts: setup
	@$(PY) -m contracts.build

clean:
	rm -rf $(VENV) node_modules .setup-stamp*
