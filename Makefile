# `make synth` and `make test` each set up everything they need (virtualenv, Python packages,
# the pinned CDK CLI, the local PostgreSQL): a fresh clone needs python3, node, npm and openssl,
# and no AWS account.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := synth

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
# uv installs the pinned packages (constraints.txt) several times faster than pip, which only
# installs uv itself.
UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv
CDK := node_modules/.bin/cdk
LAMBDA_DEPS := build/lambda-deps
# The local integration tests' PostgreSQL (integration_tests/local/postgres.py): PG_BIN=... to
# choose, else found by scripts/find-postgres.sh.
PG_BIN ?= $(shell scripts/find-postgres.sh)
export PG_BIN

# jsii prints a large end-of-life banner for Node 20 (developer machines may still run it; the
# pipeline runs Node 24); the CLI would otherwise phone home for version checks and telemetry.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
# Python run from here writes its byte-code caches even where the shell asks it not to: every
# process that imports the CDK would otherwise compile the same 240 MB package from source
# again (3-5 s of CPU each; a `make test` starts a dozen). They land in .venv and in __pycache__
# directories that git ignores and the Lambda bundles leave out (stages/components/bundling.py).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: synth test checks-main checks-side lint typecheck unit integration adoption postgres deps lock bench \
	clean cdk schema aws-data bootstrap-policy audit

RDS_CA_BUNDLE := build/rds-ca-bundle.pem

deps: $(VENV)/.installed node_modules/.installed $(LAMBDA_DEPS)/.installed $(RDS_CA_BUNDLE)

# constraints.txt pins every transitive dependency too, so a release's gate cannot change
# without a commit.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	# The host's pip (22.3 or newer) installs uv into a venv made without pip: ensurepip
	# alone takes longer than every other install here. Else the venv gets its own pip.
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(VPY) install --quiet --disable-pip-version-check \
		uv==$(UV_VERSION) 2>/dev/null || { $(VPY) -m ensurepip --default-pip >/dev/null && \
		$(VPY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	$(UV) pip install --quiet --python $(VPY) -r requirements-dev.txt -c constraints.txt
	# The `dr` command (pyproject.toml's console script), editable: it runs this checkout.
	$(UV) pip install --quiet --python $(VPY) --no-deps -e .
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

# The Amazon RDS CAs, for the functions that verify a database's certificate themselves.
$(RDS_CA_BUNDLE): node_modules/.installed scripts/rds_ca_bundle.js
	mkdir -p $(@D)
	node scripts/rds_ca_bundle.js > $@.tmp
	mv $@.tmp $@

# The health-check function's dependencies, fetched here (not during synth) for the
# function's runtime and architecture (python3.14 on arm64, see
# stages/components/health_check.py); synth bundles them with the handler without Docker.
# --no-deps: requirements.txt pins every dependency itself, so nothing unpinned slips in.
$(LAMBDA_DEPS)/.installed: lambda/health_check/requirements.txt $(VENV)/.installed
	rm -rf $(LAMBDA_DEPS)
	$(UV) pip install --quiet --target $(LAMBDA_DEPS) --python-version 3.14 \
		--python-platform aarch64-manylinux2014 --only-binary :all: --no-deps \
		-r lambda/health_check/requirements.txt
	touch $@

# What a synth reads: it runs again only when one of these changed (or a failed synth removed
# the manifest), so `make test` and the unit tests' live gates reuse `make synth`'s assembly.
SYNTH_INPUTS := app.py cdk.json package.json requirements.txt \
	$(shell find config pipeline stages lambda -type f -not -path '*/__pycache__/*' 2>/dev/null)

cdk.out/manifest.json: $(SYNTH_INPUTS) $(VENV)/.installed node_modules/.installed \
		$(LAMBDA_DEPS)/.installed $(RDS_CA_BUNDLE)
	$(CDK) synth --quiet || { rm -f $@; exit 1; }
	touch $@

synth: cdk.out/manifest.json
	@echo "Templates written to $(CURDIR)/cdk.out:"
	@find cdk.out -name '*.template.json' | sort | sed 's/^/  /'

# Any CDK CLI command with the pinned CLI and the variables above (no jsii banner), e.g.
# `make cdk ARGS="diff 'Dev/*'"` or `make cdk ARGS="deploy Pipeline"`.
cdk: deps
	$(CDK) $(ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy's cache lives with the user's other caches (pip's, uv's), not in the checkout: the
# analysis of aws-cdk-lib's stubs (about 100 s cold) is kept across clones; mypy checks every
# cached module against its source, so a stale entry is never used.
MYPY_CACHE_DIR ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/aws-dr-pipeline/mypy
export MYPY_CACHE_DIR

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

# The pipeline's gate runs this too: everything but tests/adoption (see `adoption`).
unit: deps
	$(VPY) -m pytest tests --ignore=tests/adoption

# PostgreSQL server binaries for the integration tests: found where the OS put them, installed
# from the OS packages where possible (Debian/Ubuntu, as root), else one line on what to do.
postgres:
	@if [ -z "$(PG_BIN)" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing PostgreSQL (the integration tests' local database)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends postgresql >/dev/null; fi
	@found="$$(scripts/find-postgres.sh)"; if [ -z "$$found" ]; then \
		echo "PostgreSQL 15 or newer server binaries (initdb, postgres) not found: install" \
			"them (e.g. apt-get install postgresql) or set PG_BIN=/path/to/their/bin" >&2; \
		exit 1; fi

# Local mode: the handler from the synthesized asset against PostgreSQL, moto and the
# AWS stand-in, all on 127.0.0.1 (README: "Integration tests"). Three workers on two cores (a
# test file runs whole on one, against its own local stage): much of the suite waits on its
# servers' timeouts, and a third worker overlaps those waits (77 s -> 66 s, 4% more CPU).
# PG_BIN is found again after `postgres` may have installed it.
integration: synth postgres
	PG_BIN="$$(scripts/find-postgres.sh)" $(VPY) -m pytest integration_tests -n 3 --dist loadfile

# An adopting team's cdk.json (other accounts, eu-west-1, three stages, ...) and a one-stage
# trial, each through the same gates in a copy of this checkout (tests/adoption).
adoption: deps
	$(VPY) -m pytest tests/adoption

# Two chains side by side on the two cores: the tests the pipeline runs, then the adopters'
# gates (both mostly computing); mypy, then the local integration tests (which mostly wait on
# their servers' timeouts). Each prints as it goes.
test: synth
	$(MAKE) --no-print-directory -j2 checks-main checks-side

checks-main: lint
	$(MAKE) --no-print-directory -j1 unit adoption

checks-side: typecheck
	$(MAKE) --no-print-directory -j1 integration

bench: deps
	$(VPY) scripts/bench.py

# config/dr.schema.json, the JSON Schema of cdk.json's `dr` object (a test keeps it current).
schema: $(VENV)/.installed
	$(VPY) -m config.schema

# config/data/ (AZ names per Region, Aurora instance classes) from the installed cfn-lint.
aws-data: $(VENV)/.installed
	$(VPY) scripts/refresh_aws_data.py

# The CloudFormation execution policy of each stage account, from cdk.json: run it again
# whenever a stage is added, renamed or moved to another account (README, step 1).
bootstrap-policy: $(VENV)/.installed
	$(VPY) scripts/bootstrap_policy.py

# Known vulnerabilities in the pinned packages. Needs the advisory services (PyPI's and npm's);
# --strict makes pip-audit fail rather than pass when it cannot check a package. Not part of
# `make test`, which must work with no network but the package registries.
audit: deps
	$(UV) venv --quiet --allow-existing build/audit-venv
	$(UV) pip install --quiet --python build/audit-venv/bin/python pip-audit==2.10.1
	build/audit-venv/bin/pip-audit --strict --disable-pip --no-deps -r constraints.txt
	npm audit --include=dev

clean:
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
