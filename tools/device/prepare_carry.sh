#!/usr/bin/env bash
# Make what tools/device/run_gpu_benchmark.sh needs on an air-gapped GPU server (Python 3.12,
# CUDA torch, no package index): .whl/ (pure-Python mmengine, mmdet, mmcv-lite built here
# without ops, and the cp312 wheels of their dependencies the machine lacks) and
# .gpu_data/half-scale (tools/device/subset_digestpath.py: a few tens of MiB).
# Both folders are git-ignored through .git/info/exclude.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PYTHON="${PYTHON:-.venv/bin/python}"
: "${DIGESTPATH_ROOT:?set DIGESTPATH_ROOT to the folder holding half-scale/}"
for path in /.whl/ /.gpu_data/; do
    grep -qxF "$path" .git/info/exclude 2>/dev/null || echo "$path" >> .git/info/exclude
done
rm -rf .whl && mkdir -p .whl
platforms=()
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
    platforms+=(--platform "${tag}_x86_64")
done
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp "${platforms[@]}" -d .whl mmengine==0.10.7 mmdet==3.3.0 \
    addict==2.4.0 yapf==0.43.0 platformdirs==4.14.8 termcolor==3.3.0 terminaltables==3.1.10 \
    shapely==2.2.0 pycocotools==2.0.11
src="$(mktemp -d)"
"$PYTHON" -m pip download -q --no-deps --no-binary=:all: mmcv==2.1.0 -d "$src"
MMCV_WITH_OPS=0 "$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w .whl "$src"/mmcv-2.1.0.tar.gz
rm -rf "$src"
"$PYTHON" tools/device/subset_digestpath.py "$DIGESTPATH_ROOT/half-scale" .gpu_data/half-scale
du -sh .whl .gpu_data
