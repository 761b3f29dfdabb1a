# `make synth` and `make test` each set up everything they need (virtualenv, pip, npm):
# a fresh clone needs only python3, node and npm, and no AWS account.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := synth

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
CDK := node_modules/.bin/cdk
LAMBDA_DEPS := build/lambda-deps
# The integration tests' stand-in for Aurora (see integration_tests/local/postgres.py).
PG_BIN := /usr/lib/postgresql/15/bin

# jsii prints a large end-of-life banner for Node 20 on every start; the CLI would
# otherwise phone home for version checks and telemetry.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: synth test lint typecheck unit integration postgres deps lock bench clean

deps: $(VENV)/.installed node_modules/.installed $(LAMBDA_DEPS)/.installed

# constraints.txt pins every transitive dependency too, so a release's gate cannot change
# without a commit.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check \
		-r requirements-dev.txt -c constraints.txt
	touch $@

# Re-resolve requirements*.txt from scratch and pin the result in constraints.txt.
lock:
	rm -rf build/lock-venv
	$(PYTHON) -m venv build/lock-venv
	build/lock-venv/bin/python -m pip install --quiet --disable-pip-version-check \
		-r requirements-dev.txt
	{ head -n 2 constraints.txt; build/lock-venv/bin/python -m pip freeze \
		| grep -v -E '^(pip|setuptools|wheel)=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf build/lock-venv

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The health-check function's dependencies, fetched here (not during synth) for the
# function's runtime and architecture (python3.14 on arm64, see
# stages/components/health_check.py); synth bundles them with the handler without Docker.
# --no-deps: requirements.txt pins every dependency itself, so nothing unpinned slips in.
$(LAMBDA_DEPS)/.installed: lambda/health_check/requirements.txt $(VENV)/.installed
	rm -rf $(LAMBDA_DEPS)
	$(VPY) -m pip install --quiet --disable-pip-version-check --no-compile \
		--target $(LAMBDA_DEPS) --implementation cp --python-version 3.14 \
		--platform manylinux2014_aarch64 --only-binary=:all: --no-deps \
		-r lambda/health_check/requirements.txt
	touch $@

synth: deps
	$(CDK) synth --quiet
	@echo "Templates written to $(CURDIR)/cdk.out:"
	@find cdk.out -name '*.template.json' | sort | sed 's/^/  /'

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

unit: deps
	$(VPY) -m pytest tests

# PostgreSQL 15 server binaries, from the OS packages when missing (Debian/Ubuntu, as root).
postgres:
	@test -x $(PG_BIN)/initdb || { \
		echo "Installing PostgreSQL 15 (the integration tests' local database)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null; }

# Local mode: the handler from the synthesized asset against PostgreSQL, moto and the
# AWS stand-in, all on 127.0.0.1 (README: "Integration tests").
integration: synth postgres
	$(VPY) -m pytest integration_tests

test: lint typecheck unit integration

bench: deps
	$(VPY) scripts/bench.py

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
