# polylog: `make run` serves the demo, `make serve` the production topology (docs/deploy.md), `make test` runs
# the suite; all set up .venv when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
# make serve: Daphne processes and queue workers behind nginx
DAPHNES ?= 2
WORKERS ?= 1

.PHONY: install run serve test bench lint format chromium nginx

install: $(STAMP)

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]' -e ./clients/python
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-true} $(PY) manage.py runserver $(HOST):$(PORT) --noreload

# N Daphne processes (DAPHNES), the queue workers (WORKERS) and nginx on HOST:PORT, in the foreground;
# the settings come from the environment as for `make run` (DATABASE_URL, REDIS_URL, a bucket...).
serve: $(STAMP) nginx
	$(PY) deploy/serve.py --daphnes $(DAPHNES) --workers $(WORKERS) --host $(HOST) --port $(PORT)

test: $(STAMP) chromium nginx
	$(PY) -m pytest $(PYTEST_ARGS)

# Debian's packages the tests need, installed when we can (root with apt-get), never failing here: without
# them the tests that need them skip, or fail under CI=true. $(call debian_package,<command>,<its tests>)
define debian_package
command -v $(1) >/dev/null 2>&1 || test -x /usr/sbin/$(1) || { \
  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
    echo "installing Debian's $(1) for $(2)"; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) >/dev/null 2>&1 || \
    { DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1 && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(1) >/dev/null 2>&1; } || \
    echo "note: could not install $(1); $(2) will be skipped (failed under CI=true)"; \
  else \
    echo "note: $(1) is not installed (apt-get install $(1)); $(2) will be skipped"; \
  fi; }
endef

# Chromium drives the browser tests.
chromium:
	@$(call debian_package,chromium,the browser tests)

# nginx fronts `make serve` and the topology test (tests/e2e/test_topology.py).
nginx:
	@$(call debian_package,nginx,the topology test)

# The figures, and the performance guard: ratios to floors measured in the same run (docs/performance.md).
# SCALE=1 adds a job of 1,000,000 items against one of 10,000 on PostgreSQL (tests/bench/scale.py, ~15 min).
bench: $(STAMP)
	$(PY) -m tests.bench.run $(if $(QUICK),--quick) $(if $(SCALE),--scale)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .
