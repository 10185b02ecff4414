# warden: the two commands a fresh machine needs are `make demo` and `make test`.
# Both create a virtual environment in .venv (Python 3.11+) and install warden into it.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench bench-quick clean

$(STAMP): pyproject.toml setup.py src/warden/record/_native.c src/warden/contain/_launch.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,otel,frameworks]'
	touch $(STAMP)

## the main job: a rogue agent, contained by warden, tries every escape
demo: $(STAMP)
	$(BIN)/warden demo

## the whole test suite, with the lint and type gates
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples setup.py

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q
	@# warden run's fallback stage (where the native launcher was not built): the sandbox tests again
	WARDEN_LAUNCHER=python $(BIN)/python -m pytest -q tests/contain/test_run.py \
		tests/contain/test_own_uid.py tests/contain/test_startup.py

## benchmarks (numbers in the README come from these)
bench: $(STAMP)
	$(BIN)/python bench/bench_detection.py
	$(BIN)/python bench/bench_engine.py
	$(BIN)/python bench/bench_startup.py
	$(BIN)/python bench/bench_audit.py
	$(BIN)/python bench/bench_contain.py
	$(BIN)/python bench/bench_proxy.py
	$(BIN)/python bench/bench_hook.py
	$(BIN)/python bench/bench_mcp.py

bench-quick: $(STAMP)
	$(BIN)/python bench/bench_engine.py --quick
	$(BIN)/python bench/bench_audit.py --quick
	$(BIN)/python bench/bench_contain.py --quick
	$(BIN)/python bench/bench_proxy.py --quick

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
