# The two commands: `make run` (serve on the embedded SQLite default) and `make test`.
# Also: `make lint`, `make format`, `make check` (what CI runs), `make bench`,
# `make test-deploy` (the AWS CDK stack: synthesised and asserted; needs Node.js).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEPLOY_STAMP := $(VENV)/.installed-deploy

.PHONY: run test test-deploy lint format check install clean bench fuzz tour lambda-bundle

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "eventcrm needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

run: $(STAMP)
	$(BIN)/eventcrm serve

# The README's tour (docs/tour.sh) against the server `make run` started; the key it
# printed in EVENTCRM_KEY, or a new administrator key is created. `make test` runs it too.
tour: $(STAMP)
	bash docs/tour.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench deploy
	$(BIN)/ruff format --check src tests bench deploy
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format src tests bench deploy
	$(BIN)/ruff check --fix src tests bench deploy

# Two processes (pytest-xdist); the modules that start servers share one of them
# (tests/conftest.py HEAVY_MODULES), so PostgreSQL's 100 connections are enough.
TEST_WORKERS ?= 2

test: lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

$(DEPLOY_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,deploy]'
	@touch $@

# The CDK app (deploy/cdk): type-checked, synthesised, and its template asserted. Apart from
# `make test` because starting the CDK's Node.js runtime makes it slow (about a minute).
test-deploy: $(DEPLOY_STAMP)
	MYPYPATH=deploy/cdk $(BIN)/mypy --strict --explicit-package-bases deploy/cdk
	$(BIN)/pytest deploy/cdk/tests

# The Lambda functions' code for `cdk deploy`: eventcrm and its dependencies for Linux ARM64.
lambda-bundle: $(STAMP)
	PYTHON=$(BIN)/python sh deploy/cdk/bundle.sh

# The OpenAPI contract test with many more generated requests per operation (a few minutes).
fuzz: $(STAMP)
	EVENTCRM_FUZZ_EXAMPLES=$${EVENTCRM_FUZZ_EXAMPLES:-100} $(BIN)/pytest tests/api/test_openapi_contract.py -p no:randomly

# The full gate, exactly as CI runs it (.ci/run): CI=true, then `make test` (lint and the
# whole suite; with CI=true an unreachable PostgreSQL fails the run instead of skipping)
# and `make test-deploy`.
check:
	./.ci/run

# Every benchmark in bench/ at a small, quick scale on a throwaway SQLite file; each prints
# the baseline it measured in the same run. docs/benchmarks.md has the full-size runs.
bench: $(STAMP)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(BIN)/python -m bench.users_listing --url "sqlite+aiosqlite:///$$tmp/users.db" \
		--users 5000 --depth 100 && \
	$(BIN)/python -m bench.email_throughput --recipients 1000 --concurrency 1 4 && \
	$(BIN)/python -m bench.rush --backend sqlite --rounds 1 && \
	$(BIN)/python -m bench.read --backend sqlite --rounds 1 --seconds 3 && \
	$(BIN)/python -m bench.request_cpu --backend sqlite --smoke

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
