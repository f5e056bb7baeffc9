# Everything goes through tools/setup_env.sh (idempotent): a fresh machine needs nothing else.
#   make test                       # set up .venv and run the test suite
#   make demo                       # set up .venv and run the end-to-end demo
# Optional: MMCV_OPS=torch|compiled (see tools/setup_env.sh), WHEELHOUSE=/path/to/wheels (prebuilt
# mmcv; with OFFLINE=1 the only package source, see tools/make_wheelhouse.sh),
# TORCH_SPEC='torch==2.13.0' (CUDA users pick theirs), DIGESTPATH_ROOT=/path/to/digestpath
# (real data for tests and the demo), PYTEST_ARGS (e.g. '-m torch_ops').
SHELL := /bin/bash
export WHEELHOUSE OFFLINE DIGESTPATH_ROOT TORCH_SPEC MMCV_OPS VENV
PY := $(or $(VENV),$(VIRTUAL_ENV),$(CURDIR)/.venv)/bin/python

.PHONY: setup test lint demo benchmark clean
setup:
	bash tools/setup_env.sh

test: setup lint
	$(PY) -m pytest tests -q $(PYTEST_ARGS)

lint: setup
	$(PY) -m ruff check .

demo: setup
	PYTHON=$(PY) bash tools/demo.sh $(DEMO_ARGS)

benchmark: setup
	PYTHON=$(PY) bash tools/benchmark.sh $(BENCH_ARGS)

clean:
	rm -rf work_dirs .pytest_cache
