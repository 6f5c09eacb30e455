# Two commands on a fresh machine:  `make demo`  and  `make test`.
# Both bootstrap .venv with the standard library's venv and pip on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test chaos lint typecheck venv clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/headwater demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP)
	bash scripts/install-browser.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/run_tests.py

# The whole chaos matrix (every fault, several seeds) on the real services; the CI subset runs in `make test`.
chaos: $(STAMP)
	HEADWATER_CHAOS=full HEADWATER_REQUIRE_SERVICES=1 $(BIN)/python scripts/run_tests.py tests/chaos -m chaos

clean:
	rm -rf $(VENV) .headwater .mypy_cache .ruff_cache .pytest_cache test-artifacts
