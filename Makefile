# The whole set-up is two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint typecheck unit bench fuzz fixtures system-deps clean

# (Re)install when the project's dependencies change.
$(STAMP): pyproject.toml tests/interop/js/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# System tools the tests need: Chromium for the browser page's test (Debian's package;
# Playwright drives it, no browser download). Installed with apt-get when run as root.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "make test needs Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }
	@command -v node >/dev/null 2>&1 || { echo "make test needs Node.js (the official JS client's interop test)" >&2; exit 1; }

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/pytest

# Live captions from the bundled recording, through the local endpoint, in real time.
demo: $(STAMP)
	$(BIN)/streamscribe demo

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Coverage-guided fuzzing of eventstream.Decoder.feed (see fuzz/README.md).
FUZZ_SECONDS ?= 600
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	mkdir -p fuzz/corpus-work fuzz/crashes
	$(BIN)/python fuzz/fuzz_decoder.py fuzz/corpus-work fuzz/corpus -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/crashes/

# Regenerate the speech fixtures and the demo recording (flite, sox, flac, opus-tools).
fixtures:
	command -v flite >/dev/null || apt-get install -y -qq flite sox flac opus-tools
	tests/fixtures/make_fixtures.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
