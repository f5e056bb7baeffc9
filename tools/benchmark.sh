#!/usr/bin/env bash
# The benchmarks (benchmarks/): runs `python -m benchmarks ARGS` from the repository root, so
# relative paths among ARGS are taken from there. PYTHON picks the interpreter (default python3).
#   bash tools/benchmark.sh --profile smoke --protocol table4 --work-dir work_dirs/bench
#   bash tools/benchmark.sh --profile paper --device cuda --parallel 6 --threads 2 ...   # a GPU
#   bash tools/benchmark.sh --help
# A measurement instead of the loss comparison: MODULE=<name> (python -m benchmarks.<name>),
# e.g. MODULE=loss_benchmark bash tools/benchmark.sh --repeats 41.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python3}" -m "benchmarks${MODULE:+.$MODULE}" "$@"
