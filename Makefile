# aispend — two commands: `make demo` and `make test`. Everything installs into .venv.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export AISPEND_HOME ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(AISPEND_HOME)/dagster
EMULATOR_PORT ?= 8765

.PHONY: install demo test faults lint dev check-defs alert focus-check bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/.installed

## make demo: generate the synthetic organisation, run the whole pipeline, print the answers
demo: install
	$(BIN)/aispend demo --home "$(AISPEND_HOME)"

## make test: the test suite (unit, connector, asset, dbt, end-to-end)
test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

# The `lint` extra's exact pins from pyproject.toml, without the project itself (the linters import none of it).
$(BIN)/.lint-installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $$($(BIN)/python -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["lint"])')
	@touch $@

## make lint: ruff on the Python tree; sqlfluff on the dbt models, macros and tests and on the report SQL
# (sqlfluff's worker pool leaves a semaphore that Python's resource tracker warns about at exit:
# harmless, sqlfluff#4080, silenced)
lint: $(BIN)/.lint-installed
	@export PYTHONWARNINGS="ignore::UserWarning:multiprocessing.resource_tracker"; rc=0; \
	  echo "ruff check ."; $(BIN)/ruff check . || rc=1; \
	  echo "sqlfluff lint dbt/models dbt/macros dbt/tests"; $(BIN)/sqlfluff lint --processes 0 dbt/models dbt/macros dbt/tests || rc=1; \
	  echo "sqlfluff lint --templater placeholder pipelines/sql"; $(BIN)/sqlfluff lint --templater placeholder pipelines/sql || rc=1; \
	  exit $$rc

## make bench: every tests/benchmarks/bench_*.py; each reports ratios against a baseline measured in the same run
bench: install
	@set -e; for b in tests/benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

## make dev: Dagster UI on the same definitions, pointed at the demo organisation (run make demo first)
dev: install
	@mkdir -p "$(DAGSTER_HOME)" && test -f "$(DAGSTER_HOME)/dagster.yaml" || printf "telemetry:\n  enabled: false\n" > "$(DAGSTER_HOME)/dagster.yaml"
	$(BIN)/python -m demo.emulator --api-dir "$(AISPEND_HOME)/demo-org/api" --port $(EMULATOR_PORT) & \
	  EMU=$$!; trap "kill $$EMU" EXIT; \
	  export AISPEND_EMULATOR_URL=http://127.0.0.1:$(EMULATOR_PORT) OPENAI_ADMIN_KEY=$$($(BIN)/python -c 'from demo.emulator import OPENAI_ADMIN_KEY as k; print(k)') \
	         ANTHROPIC_ADMIN_KEY=$$($(BIN)/python -c 'from demo.emulator import ANTHROPIC_ADMIN_KEY as k; print(k)') \
	         AISPEND_CONFIG="$(AISPEND_HOME)/demo-org/aispend.yaml"; \
	  $(BIN)/dagster dev -m pipelines.definitions

## make check-defs: validate the Dagster definitions
check-defs: install
	@mkdir -p "$(DAGSTER_HOME)"
	$(BIN)/dagster definitions validate -m pipelines.definitions

## make alert: write the weekly anomaly digest (the week ending at the newest day of data) from the published warehouse
alert: install
	$(BIN)/aispend alert --home "$(AISPEND_HOME)"

## make focus-check: export focus_costs to Parquet and run the FinOps Foundation's FOCUS 1.2 validator
## (side venv .venv-focus with Python >= 3.12; exit 1 when a mandatory rule fails)
focus-check: install
	$(BIN)/aispend focus-check --home "$(AISPEND_HOME)"

clean:
	rm -rf "$(AISPEND_HOME)" dbt/target dbt/logs

## make faults: the fault-injection suite alone (README "Guarantees"); `make test` runs it too
faults: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m faults
