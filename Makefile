# The whole set-up is two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit bench fuzz clean

# (Re)install when the project's dependencies change.
$(STAMP): pyproject.toml tests/interop/js/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Coverage-guided fuzzing of eventstream.Decoder.feed (see fuzz/README.md).
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	mkdir -p fuzz/corpus-work
	mkdir -p fuzz/crashes
	$(BIN)/python fuzz/fuzz_decoder.py fuzz/corpus-work fuzz/corpus -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/crashes/

demo: $(STAMP)
	@echo "make demo: the demo arrives with the CLI (issue 6)." >&2; exit 1

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
