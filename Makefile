# make run   — the whole service locally (Redis, API, a worker) on the local simulators
# make test  — the test suite against a private throwaway Redis
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

NPM_CI := npm ci --no-audit --no-fund --loglevel=error
BROWSER_TESTS := tests/browser
# what `kubectl apply -k deploy/kubernetes` applies (kustomization.yaml lists them: no schema)
K8S_MANIFESTS := $(filter-out %/kustomization.yaml,$(wildcard deploy/kubernetes/*.yaml))

.PHONY: run test lint spec-lint k8s-lint openapi bench key docker-lint clean browser

$(VENV)/.run: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.run requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.run
	$(PY) -m scripts.run_local

# npm packages, installed from the committed lock files (again only when a lock file changes)
clients/%/node_modules/.package-lock.json: clients/%/package-lock.json
	cd clients/$* && $(NPM_CI)

test: $(VENV)/.dev clients/ts/node_modules/.package-lock.json browser
	$(PY) -m pytest $(PYTEST_ARGS)

# the console's browser test: Debian's chromium and the pinned playwright-core (skipped when there)
browser: $(BROWSER_TESTS)/node_modules/.installed
	@command -v chromium >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

$(BROWSER_TESTS)/node_modules/.installed: $(BROWSER_TESTS)/package-lock.json
	cd $(BROWSER_TESTS) && $(NPM_CI)
	touch $@

lint: $(VENV)/.dev spec-lint k8s-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile

# the Kubernetes manifests against the schemas bundled with kubernetes-validate (offline; strict:
# an unknown field fails), and the Grafana dashboard is JSON
k8s-lint: $(VENV)/.dev
	$(VENV)/bin/kubernetes-validate --strict --quiet $(K8S_MANIFESTS)
	$(PY) -m json.tool deploy/grafana/gateway.json > /dev/null

# openapi.yaml: Redocly and Spectral find nothing (accepted findings are argued in
# clients/lint/), and openapi-generator makes Go and Java clients without a warning
spec-lint: $(VENV)/.dev clients/lint/node_modules/.package-lock.json
	cd clients/lint && npx redocly lint --config redocly.yaml ../../openapi.yaml
	cd clients/lint && npx spectral lint --fail-severity=warn ../../openapi.yaml
	$(PY) -m scripts.check_generators openapi.yaml go java

openapi: $(VENV)/.run
	$(PY) -m scripts.write_openapi openapi.yaml

bench: $(VENV)/.dev
	$(PY) -m bench

# a key for TENANT on the Redis of a running `make run` (or REDIS_URL)
key: $(VENV)/.run
	REDIS_URL=$${REDIS_URL:-$$(cat var/redis.url 2>/dev/null)} \
	  $(PY) -m flask --app app keys create $(or $(TENANT),dev)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-artefacts $(BROWSER_TESTS)/node_modules \
	  clients/*/node_modules clients/ts/build
