#!/usr/bin/env bash
# The lent GPU machine's one command: install the carried wheels, then tools/gpu_benchmark.sh.
#
# The machine has CUDA torch (Python 3.12) but no package index, and building mmcv's CUDA ops
# would take most of its 15 minutes, so the run carries pure-Python wheels (mmengine, mmdet,
# mmcv-lite and their missing dependencies, made by tools/device/prepare_carry.sh into .whl/)
# and installs tools/device/mmcv_ext_torch.py as mmcv/_ext.py: NMS through torchvision and
# the sigmoid focal loss in torch (the only compiled ops a RetinaNet benchmark calls).
#
#   device run, carry [".whl", ".gpu_data"]:
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
cp tools/device/mmcv_ext_torch.py "$SITE/mmcv/_ext.py"
export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" PYTHON
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
exec bash tools/gpu_benchmark.sh "$@"
