# Quickstart: `make run` and `make test`. Every target installs what it needs, idempotently.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := prometheus prometheus-alertmanager chromium postgresql wrk
LINT_DIR := logpipe/lint

.PHONY: setup venv system-deps node-deps run test bench e2e demo reliability generate lint audit-deps

setup: venv system-deps node-deps

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

# Debian packages the tests run for real: promtool, amtool, Alertmanager, Chromium, PostgreSQL, wrk.
system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Grafana's own LogQL grammar (@grafana/lezer-logql) for `python -m logpipe lint`.
node-deps: $(LINT_DIR)/node_modules/.installed

$(LINT_DIR)/node_modules/.installed: $(LINT_DIR)/package.json $(LINT_DIR)/package-lock.json
	@cd $(LINT_DIR) && npm ci --silent --no-audit --no-fund >/dev/null
	@touch $@

run: venv
	@$(PY) -m app.devserver

test: setup
	@$(PY) -m pytest -q

# Traffic with known faults through app, simulator, our Vector program, our rules and the real
# Alertmanager; log-derived metrics checked against ground truth (table in benchmarks/e2e.md).
e2e: setup
	@$(PY) -m logpipe.e2e

# The full-size refresh pacing run (10,000 connections at 50 per 10 s, about 35 minutes);
# `make test` runs the same code path scaled to 1,000 connections at 50 per 1 s.
reliability: setup
	@RELIABILITY_FULL=1 $(PY) -m pytest -q tests/reliability/test_load_refresh.py

# A few minutes of traffic, then `logpipe report` and PNG charts of both dashboards in var/report/.
demo: venv
	@$(PY) -m logpipe.demo

lint: setup
	@$(PY) -m logpipe lint

bench: setup
	@$(PY) -m benchmarks.run

# Known vulnerabilities in the pinned dependencies (needs PyPI's per-release JSON API or OSV, which
# our development machines cannot reach: run it where they can).
audit-deps: venv
	@$(PY) -m pip_audit -r requirements.txt --strict --progress-spinner off

# Regenerate every generated file (schema, rules, dashboards); CI fails when they are stale.
generate: venv
	@$(PY) -m app.events.schema
	@$(PY) -m logpipe.monitoring.generate
