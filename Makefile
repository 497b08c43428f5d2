# docctl: `make run` serves the demo on http://127.0.0.1:5000, `make test` runs the suite.

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Stamps live inside the venv: deleting .venv also forgets that it was installed.
STAMP_RUN := $(VENV)/.stamp-run
STAMP_DEV := $(VENV)/.stamp-dev
TRANSLATIONS := docctl/translations
PYTEST_ARGS ?= -rfEs
# Tests run in parallel processes (pytest-xdist), each with its own PostgreSQL schema and tmp
# folders; `make test PYTEST_WORKERS=0` runs them in one process. loadfile keeps each test file
# in one worker: module-scoped fixtures (`docctl init --demo`) are built once, and the two
# office-load tests (each a real server under load) run one after the other. (loadgroup would
# be finer, but pytest 9.2 ignores its groups: pytest-xdist issue #1386.)
PYTEST_WORKERS ?= auto

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint bench clean translations

run: $(STAMP_RUN) translations
	$(BIN)/docctl init --demo
	exec $(BIN)/docctl serve --port $${DOCCTL_PORT:-5000}

test: $(STAMP_DEV) translations
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS) || { status=$$?; \
		[ $$status -ne 5 ] || echo "make test: pytest collected no tests (exit 5)" >&2; \
		exit $$status; }

lint: $(STAMP_DEV)
	$(BIN)/ruff check .

# Each part prints its figures beside their targets (issues #2, #4, #3, #5, #9, #11, #12).
bench: $(STAMP_RUN) translations
	$(BIN)/python bench/run.py
	$(BIN)/python bench/copies_bench.py
	$(BIN)/python bench/stamp_overlap.py
	$(BIN)/python bench/search_bench.py
	$(BIN)/python bench/audit_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/asof_bench.py
	$(BIN)/python bench/release_bench.py
	$(BIN)/python bench/records_bench.py

# Forget the install stamps (the next run reinstalls); never touches data.
clean:
	rm -f $(STAMP_RUN) $(STAMP_DEV)

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP_RUN): requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.txt -e .
	touch $@

$(STAMP_DEV): requirements-dev.txt $(STAMP_RUN)
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

translations: $(STAMP_RUN)
	@if [ -n "$$(find $(TRANSLATIONS) -name '*.po' 2>/dev/null | head -n 1)" ]; then \
		$(BIN)/pybabel compile -d $(TRANSLATIONS) -f; \
	fi
