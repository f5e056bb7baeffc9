#!/usr/bin/env bash
# A GPU server without a package index (air-gapped, as many hospital servers are): install the
# carried wheels, then tools/gpu_benchmark.sh.
#
# The server has a CUDA torch; building mmcv's CUDA ops there would take long, so the run carries
# pure-Python wheels (mmengine, mmdet, mmcv-lite and their missing dependencies, made by
# tools/device/prepare_carry.sh into .whl/) and gives mmcv-lite this project's torch ops
# (mmdet_dghm_ops/mmcv_ext.py as mmcv/_ext.py of the throw-away SITE folder: NMS, focal loss,
# RoIAlign, deformable attention; any other op raises naming itself).
#
#   with .whl and .gpu_data copied beside the repository:
#     PROFILE=gpu-real DATA_ROOT=.gpu_data/half-scale DEADLINE_S=420 \
#         bash tools/device/run_gpu_benchmark.sh
#
# Variables: WHEELS (.whl), SITE (/tmp/site), PYTHON (python3); the rest as in
# tools/gpu_benchmark.sh. Arguments go to tools/benchmark.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WHEELS="${WHEELS:-.whl}"
SITE="${SITE:-/tmp/site}"
PYTHON="${PYTHON:-python3}"
ls "$WHEELS"/*.whl >/dev/null || { echo "run_gpu_benchmark: no wheels in $WHEELS" >&2; exit 2; }
"$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$SITE" "$WHEELS"/*.whl
cp mmdet_dghm_ops/mmcv_ext.py "$SITE/mmcv/_ext.py"  # it imports mmdet_dghm_ops: the repository
export PYTHONPATH="$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHON
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec bash tools/gpu_benchmark.sh "$@"
