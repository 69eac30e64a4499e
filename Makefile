# Faultline — `make run` to try it, `make test` to check everything. `make help` lists the rest.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# uv installs exactly what uv.lock pins (every transitive dependency, with its hashes);
# it is bootstrapped with pip, itself pinned by hash, into var/uv.
UV := var/uv/bin/uv
UV_ENV := UV_PYTHON=$(PYTHON) UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV)
LOCK_HASH := $(shell cat uv.lock scripts/uv-requirements.txt | sha1sum | cut -c1-12)
RUN_STAMP := $(VENV)/.installed-run-$(LOCK_HASH)
DEV_STAMP := $(VENV)/.installed-dev-$(LOCK_HASH)

.PHONY: help run test lint typecheck check pytest pytest-embedded pytest-production \
	check-exercises check-exercises-bwrap check-exercises-docker check-frontend venv venv-run lock \
	as-root system-packages doctor runtime image image-if-engine worker bench migrate demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-22s %s\n", $$1, $$2}'

$(UV): scripts/uv-requirements.txt
	$(PYTHON) -m pip install -q --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
		--require-hashes --no-deps --upgrade --target var/uv -r scripts/uv-requirements.txt
	@touch $@

# --inexact: never removes what is there, so `make run` after `make test` keeps the dev tools.
$(RUN_STAMP): uv.lock $(UV)
	$(UV_ENV) $(UV) sync --frozen --inexact --no-dev --quiet
	@rm -f $(VENV)/.installed-run-*; touch $@

$(DEV_STAMP): uv.lock $(UV)
	$(UV_ENV) $(UV) sync --frozen --inexact --quiet
	@rm -f $(VENV)/.installed-*; touch $@ $(RUN_STAMP)

venv-run: $(if $(wildcard $(DEV_STAMP)),$(DEV_STAMP),$(RUN_STAMP))

venv: $(DEV_STAMP) ## create .venv with the locked dependencies, dev tools included

lock: $(UV) ## re-resolve uv.lock after editing the dependencies in pyproject.toml
	$(UV_ENV) $(UV) lock

system-packages: ## install the missing system packages (bubblewrap, gcc) with apt-get
	@PYTHON=$(PYTHON) scripts/system_packages.sh

# Before anything else: the bubblewrap sandbox creates cgroups and switches uids.
as-root:
	@if [ "$$(id -u)" != 0 ] && [ "$${SANDBOX_BACKEND:-bwrap}" = bwrap ]; then \
		echo "make run needs root for the bubblewrap sandbox (cgroups, candidate uids): run \`sudo make run\`" >&2; \
		exit 1; fi

# The backend the platform will use must work before anything is seeded or served.
doctor: venv-run runtime
	@$(PY) -m sandbox doctor --require $${SANDBOX_BACKEND:-bwrap}

runtime: venv-run ## prepare the bubblewrap sandbox runtime (var/sandbox-runtime)
	scripts/prepare_bwrap_runtime.sh

image: venv-run ## build the Docker sandbox image locally (no registry needed)
	scripts/build_sandbox_image.sh

# For make test and make run: the image too when a Docker engine answers (a no-op
# when it is current), so `python -m sandbox exec --backend docker` works after
# either; without one, or when it cannot be built, the docker tests skip here and
# fail in CI, whose .ci/run builds it with `make image`.
image-if-engine: venv-run
	@if docker info >/dev/null 2>&1; then \
		scripts/build_sandbox_image.sh || echo "warning: sandbox image not built: docker sandbox tests will skip"; \
	else echo "note: no Docker engine: docker sandbox tests skip (start dockerd, then make image)"; fi

migrate: venv-run
	$(PY) manage.py migrate --noinput

demo: migrate ## load exercises and demo accounts, interviews, graded results
	$(PY) manage.py sync_exercises --keep-going
	$(PY) manage.py seed_demo

run: as-root system-packages image-if-engine doctor ## run Faultline on this machine (embedded mode, PORT=8000)
	DEBUG=$${DEBUG:-1} $(PY) manage.py serve --demo --port $(PORT)

worker: venv-run ## start a Celery worker (production mode; needs CELERY_BROKER_URL)
	$(VENV)/bin/celery -A faultline --workdir platform worker -l info -Q faultline --concurrency $${SANDBOX_SLOTS:-2}

lint: venv ## ruff lint and format check, the apps' import layers, and uv.lock up to date
	@$(UV_ENV) $(UV) lock --check --quiet || { echo "uv.lock is out of date: run make lock"; exit 1; }
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	PYTHONPATH=platform:. $(VENV)/bin/lint-imports --no-cache

typecheck: venv ## mypy
	$(VENV)/bin/mypy platform sandbox rubrics exercises manage.py

# Both cores: pytest-xdist runs the embedded pass in JOBS worker processes (each has
# its own SQLite test database; sandboxes, ports and temporary folders are per run).
# The production pass is five tests around one Celery worker each: one process.
JOBS ?= 2
PYTEST := $(VENV)/bin/pytest
# Two passes: embedded settings (SQLite, in-process), then production settings
# against the machine's PostgreSQL and Redis with real Celery worker processes.
PROD_ENV := DATABASE_URL=$${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/faultline} \
	REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/14} SECRET_KEY=test-only-secret \
	SANDBOX_BACKEND=$${TEST_PROD_SANDBOX:-docker}

pytest-embedded: venv runtime image-if-engine
	$(PYTEST) -n $(JOBS) --dist worksteal $(PYTEST_ARGS)

pytest-production: venv runtime image-if-engine
	$(PROD_ENV) $(PYTEST) -p no:xdist -m production $(PYTEST_ARGS)

pytest: pytest-embedded pytest-production ## both pytest passes (PYTEST_ARGS=... adds options)

# Every exercise fair on each backend: the reference passes every hidden test on each
# of 10 seeded runs. Sharp once, on bwrap: the starter and each mutant run once there;
# their verdicts are deterministic, so the docker step does not grade them again.
CHECK_JOBS ?= 2
CHECK_EXERCISES := $(PY) manage.py check_exercise --all --repeat 10 --jobs $(CHECK_JOBS)

check-exercises-bwrap: venv runtime
	$(CHECK_EXERCISES) --backend bwrap

check-exercises-docker: venv image-if-engine
	@if docker info >/dev/null 2>&1 || [ -n "$$FAULTLINE_REQUIRE_SERVICES" ]; then \
		echo "$(CHECK_EXERCISES) --backend docker --reference-only"; \
		$(CHECK_EXERCISES) --backend docker --reference-only; \
	else echo "note: no Docker engine: exercises not checked on the docker backend"; fi

check-exercises: check-exercises-bwrap check-exercises-docker ## prove every exercise fair and sharp, both backends

check-frontend: ## rebuild the frontend bundle (npm ci, npm run build) and compare it with the committed one
	@scripts/check_frontend_bundle.sh

test: venv runtime image-if-engine ## everything the project checks: ruff, mypy, pytest, exercises (timed steps)
	@scripts/test_steps.sh

# The everyday subset: no Docker, no browser, nothing slow (under 2 minutes).
CHECK_TESTS := -m "not slow and not browser and not integration" -k "not docker"

check: lint typecheck venv runtime ## ruff, mypy and the fast suites (no Docker, no browser)
	$(PYTEST) -n $(JOBS) --dist worksteal -q $(CHECK_TESTS) $(PYTEST_ARGS)

bench: runtime ## print the benchmark numbers
	$(PY) benchmarks/sandbox_bench.py
	$(PY) benchmarks/grading_bench.py
	$(PY) benchmarks/ws_latency_bench.py --interviews 50 --seconds 20

clean: ## remove the venv, the database and the sandbox runtime
	rm -rf $(VENV) var
