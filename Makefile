# Every target creates its own virtual environment and installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# mermaid's own parser (node + jsdom, no browser) checks the diagrams in tests; skipped where npm is missing
NPM     := $(shell command -v npm 2>/dev/null)
MERMAID := $(if $(NPM),tests/mermaid/node_modules/.installed)

.PHONY: demo test check lint typecheck unit bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

tests/mermaid/node_modules/.installed: tests/mermaid/package-lock.json
	npm ci --prefix tests/mermaid --no-audit --no-fund --loglevel=error
	touch $@

## The main job: plan -> apply -> plan against the embedded emulator, on manifests/
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## Lint, types and the whole test suite (what CI runs)
test: $(STAMP) $(MERMAID)
	$(BIN)/python scripts/check.py

check: test

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.run

schemas: $(STAMP)
	$(BIN)/reconciler schema --out schemas

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
