# make run   — the whole service locally (Redis, API, a worker) on the local simulators
# make test  — the test suite against a private throwaway Redis
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test lint openapi bench key docker-lint clean browser
BROWSER_TESTS := tests/browser

$(VENV)/.run: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.run requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.run
	$(PY) -m scripts.run_local

test: $(VENV)/.dev browser
	$(PY) -m pytest $(PYTEST_ARGS)

# the console's browser test: Debian's chromium and the pinned playwright-core (skipped when there)
browser: $(BROWSER_TESTS)/node_modules/.installed
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

$(BROWSER_TESTS)/node_modules/.installed: $(BROWSER_TESTS)/package-lock.json
	cd $(BROWSER_TESTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile

openapi: $(VENV)/.run
	$(PY) -m scripts.write_openapi openapi.yaml

bench: $(VENV)/.dev
	$(PY) -m bench

# a key for TENANT on the Redis of a running `make run` (or REDIS_URL)
key: $(VENV)/.run
	REDIS_URL=$${REDIS_URL:-$$(cat var/redis.url 2>/dev/null)} \
	  $(PY) -m flask --app app keys create $(or $(TENANT),dev)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artefacts $(BROWSER_TESTS)/node_modules
