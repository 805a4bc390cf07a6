# Quickstart: `make run` and `make test`. Every target installs what it needs, idempotently.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := prometheus prometheus-alertmanager chromium
LINT_DIR := logpipe/lint

.PHONY: setup venv system-deps node-deps run test bench generate check-generated lint

setup: venv system-deps node-deps

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	@touch $@

# Debian packages the tests run for real: promtool, amtool, Alertmanager, Chromium.
system-deps:
	@if ! command -v promtool >/dev/null || ! command -v amtool >/dev/null \
	     || ! command -v prometheus-alertmanager >/dev/null || ! command -v chromium >/dev/null; then \
	  echo "installing Debian packages: $(APT_PACKAGES)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
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

lint: setup
	@$(PY) -m logpipe lint

bench: setup
	@command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
	@$(PY) -m benchmarks.run

# Regenerate every generated file (schema, rules, dashboards); CI fails when they are stale.
generate: venv
	@$(PY) -m app.events.schema
	@$(PY) -m logpipe.monitoring.generate
