# The whole set-up is two commands: `make demo` (Python only) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_STAMP := $(VENV)/.installed-demo
STAMP := $(VENV)/.installed

.PHONY: test demo venv lint typecheck unit bench fuzz fixtures system-deps clean

# A virtual environment with a working pip. Debian's python3 makes one without pip
# unless python3-venv is installed; a half-made .venv is rebuilt, not reused.
venv:
	@if [ -x $(BIN)/python ] && ! $(BIN)/python -m pip --version >/dev/null 2>&1; then \
	  echo "make: $(VENV) has no working pip (a half-made environment): rebuilding it"; rm -rf $(VENV); fi
	@if [ ! -x $(BIN)/python ]; then \
	  if ! $(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	    echo "make: streamscribe needs Python 3.11 or newer as $(PYTHON) (set PYTHON=python3.12 to pick another)" >&2; exit 1; fi; \
	  if ! { $(PYTHON) -m venv $(VENV) >/dev/null 2>&1 && $(BIN)/python -m pip --version >/dev/null 2>&1; }; then \
	    rm -rf $(VENV); \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      echo "make: installing Debian's python3-venv with apt-get (Python's venv needs it for pip)"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null \
	        && $(PYTHON) -m venv $(VENV); \
	    else \
	      echo "make: $(PYTHON) cannot make a virtual environment with pip: install Debian's python3-venv" \
	        "(sudo apt-get install python3-venv), then run make again" >&2; exit 1; \
	    fi; \
	  fi; \
	fi

# The demo needs the package and the local endpoint's extra, nothing else.
$(DEMO_STAMP): pyproject.toml | venv
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local]'
	touch $@

# The tests need the development tools and the official JavaScript client too.
$(STAMP): pyproject.toml tests/interop/js/package-lock.json | venv
	@command -v npm >/dev/null 2>&1 || { echo "make test needs Node.js and npm (the official JS client's interop test): sudo apt-get install nodejs npm" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	cd tests/interop/js && npm ci --no-audit --no-fund --loglevel=error
	touch $@ $(DEMO_STAMP)

# System tools the tests need: Chromium for the browser page's test (Debian's package;
# Playwright drives it, no browser download). Installed with apt-get when run as root.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing Debian's chromium with apt-get (for the browser page's test; about 360 MB)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      && echo "make: chromium installed"; \
	  else echo "make test needs Chromium: sudo apt-get install chromium" >&2; exit 1; fi; }
	@command -v node >/dev/null 2>&1 || { echo "make test needs Node.js (the official JS client's interop test)" >&2; exit 1; }

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Three workers on two cores: much of a test's time is spent waiting on sockets and paced
# audio. Tests that share a module's server carry an xdist_group mark and stay together.
PYTEST_WORKERS ?= 3
unit: $(STAMP) system-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup

# Live captions from the bundled recording, through the local endpoint, in real time.
demo: $(DEMO_STAMP)
	$(BIN)/streamscribe demo
	@echo "make: streamscribe is installed in $(VENV); run 'source $(VENV)/bin/activate' to use it (or call $(BIN)/streamscribe)"

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Coverage-guided fuzzing (see fuzz/README.md): every target, FUZZ_SECONDS each.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= decoder splitters verifier endpoint jobs resources web streamcore
fuzz: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[fuzz]'
	@set -e; for target in $(FUZZ_TARGETS); do \
	  seeds=fuzz/corpus; [ $$target = decoder ] || seeds=fuzz/corpus-$$target; \
	  mkdir -p fuzz/work-$$target fuzz/crashes; \
	  echo "make: fuzzing $$target for $(FUZZ_SECONDS) s"; \
	  $(BIN)/python fuzz/fuzz_$$target.py fuzz/work-$$target $$seeds -max_total_time=$(FUZZ_SECONDS) \
	    -artifact_prefix=fuzz/crashes/$$target- -print_final_stats=1; \
	done

# Regenerate the speech fixtures and the demo recording (flite, sox, flac, opus-tools).
fixtures:
	command -v flite >/dev/null || apt-get install -y -qq flite sox flac opus-tools
	tests/fixtures/make_fixtures.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
