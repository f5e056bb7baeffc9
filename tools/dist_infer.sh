#!/usr/bin/env bash
# Cohort inference on several GPUs (or CPU processes) with torchrun and the pytorch launcher.
#   bash tools/dist_infer.sh CONFIG CHECKPOINT NPROC INPUT [INPUT ...] --out-dir OUT [infer.py options...]
# Each process takes a share of the slides balanced by their window counts; rank 0 writes
# OUT/summary.csv. Multi-node: NNODES, NODE_RANK, MASTER_ADDR, PORT as for torchrun.
# On CPUs torchrun gives each process one thread (OMP_NUM_THREADS=1) unless set.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON=${PYTHON:-python}

PYTHONPATH="$HERE/..:${PYTHONPATH:-}" \
"$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" \
    "$HERE/infer.py" "$CONFIG" "$CHECKPOINT" "${@:4}" --launcher pytorch
