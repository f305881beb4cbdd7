# puretls: `make test` and `make demo` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-dev

.PHONY: all venv demo test unit lint bench instructions fuzz clean browser
BENCH_STAMP := $(VENV)/.stamp-bench

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Debian packages for the interop tests: the openssl and gnutls-cli/-serv
# peers (tests that need one skip cleanly when it cannot be installed).
APT := $(shell [ "$$(id -u)" = 0 ] && echo apt-get || echo sudo -n apt-get)

$(STAMP): $(PY) pyproject.toml
	-@command -v gnutls-cli >/dev/null && command -v openssl >/dev/null || \
		($(APT) update -qq && $(APT) install -y -qq gnutls-bin openssl)
	$(PY) -m pip install --quiet -e '.[dev,interop]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/puretls demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests fuzz
	$(VENV)/bin/ruff format --check src tests fuzz
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

unit: $(STAMP)
	$(VENV)/bin/pytest

# The HTML trace test opens its page in headless Chromium (Debian's package).
# (the test skips if it cannot be installed).
browser:
	-@command -v chromium >/dev/null || ($(APT) update -qq && $(APT) install -y -qq chromium)

test: lint browser unit

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev,interop,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# Instructions per handshake pair under callgrind (stable on a busy machine).
instructions: $(BENCH_STAMP)
	-@command -v valgrind >/dev/null || ($(APT) update -qq && $(APT) install -y -qq valgrind)
	$(PY) -m bench.instructions

# Coverage-guided fuzzing (atheris): each target FUZZ_SECONDS seconds, two at a
# time; fails on any exception that is not puretls's TLSError.  See fuzz/run.py.
FUZZ_SECONDS ?= 45
FUZZ_STAMP := $(VENV)/.stamp-fuzz

$(FUZZ_STAMP): $(STAMP)
	$(PY) -c "import atheris" 2>/dev/null || $(PY) -m pip install --quiet atheris
	touch $(FUZZ_STAMP)

fuzz: $(FUZZ_STAMP)
	$(PY) fuzz/run.py --seconds $(FUZZ_SECONDS) --jobs 2 $(FUZZ_ARGS)

clean:
	rm -rf $(VENV) .fuzz .pytest_cache .mypy_cache .ruff_cache .hypothesis
