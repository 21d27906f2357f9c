# eapr_plugin developer entry points. `make test` needs nothing but python3.11 on PATH.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
FIXTURES ?= tests/fixtures/build
PYTEST_ARGS ?=
# Tests run in 2 processes (pytest-xdist; one per core), each test file in one process so that its
# module fixtures (a trained tiny archive) are built once; the files are handed out longest first
# (tests/durations.json, see tests/support/durations.py), not xdist's default by number of tests.
PARALLEL ?= -n 2 --dist loadfile --no-loadscope-reorder
TEST_ENV := EAPR_TEST_FIXTURES=$(FIXTURES) OMP_NUM_THREADS=1
STAMP := $(VENV)/.eapr-stamp
SETUP_INPUTS := requirements.txt requirements-nodeps.txt constraints.txt setup.py scripts/quiet_startup.py

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: venv fixtures test test-fast test-slow test-demo test-all test-durations demo demo-quick clean

venv: $(STAMP)

# The venv is rebuilt when any pin file changes (stale) or when it is missing.
$(STAMP): $(SETUP_INPUTS)
	@if [ -d $(VENV) ] && [ -f $(STAMP) ]; then echo "pins changed: recreating $(VENV)"; rm -rf $(VENV); fi
	@if [ ! -x $(BIN)/python ]; then $(PYTHON) -m venv $(VENV); fi
	$(BIN)/python -m pip install --quiet --upgrade "pip<27"
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python scripts/quiet_startup.py
	@touch $(STAMP)

fixtures: venv
	$(BIN)/python -m tests.support.tiny_encoders $(FIXTURES)

# The whole suite, end-to-end CLI runs included (README's and CI's test command; < 10 min on 2 cores).
test: fixtures
	$(TEST_ENV) $(BIN)/python -m pytest -m "not demo" $(PARALLEL) $(PYTEST_ARGS)

# The inner loop: everything but the subprocess runs (< 2 min).
test-fast: fixtures
	$(TEST_ENV) $(BIN)/python -m pytest -m "not slow and not demo" $(PARALLEL) $(PYTEST_ARGS)

test-slow: fixtures
	$(TEST_ENV) $(BIN)/python -m pytest -m slow $(PARALLEL) $(PYTEST_ARGS)

# scripts/demo.py end to end on a cut-down budget.
test-demo: fixtures
	$(TEST_ENV) $(BIN)/python -m pytest -m demo $(PYTEST_ARGS)

test-all: fixtures
	$(TEST_ENV) $(BIN)/python -m pytest $(PARALLEL) $(PYTEST_ARGS)

# `make test`, recording each test file's seconds in tests/durations.json (the order files start in).
test-durations:
	$(MAKE) test PYTEST_ARGS="--store-durations $(PYTEST_ARGS)"

demo: venv
	HF_HUB_OFFLINE=1 $(BIN)/python scripts/demo.py

# ~3 minutes on 2 idle cores: 4 layers, 2 epochs (a smoke run; numbers not comparable with `make demo`)
demo-quick: venv
	HF_HUB_OFFLINE=1 DEMO_QUICK=1 $(BIN)/python scripts/demo.py

clean:
	rm -rf $(VENV) $(FIXTURES) .pytest_cache
