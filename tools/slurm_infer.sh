#!/usr/bin/env bash
# Cohort inference on a Slurm cluster with the slurm launcher (one task per GPU).
#   bash tools/slurm_infer.sh PARTITION JOB_NAME CONFIG CHECKPOINT INPUT [INPUT ...] --out-dir OUT [infer.py options...]
# GPUS (tasks in all, default 8), GPUS_PER_NODE (default 8; 0 for CPU nodes, then
# TASKS_PER_NODE tasks per node), CPUS_PER_TASK (default 5), SRUN_ARGS.
# Pass --device cuda so each task runs on its local GPU. Rank 0 writes OUT/summary.csv.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
TASKS_PER_NODE=${TASKS_PER_NODE:-$GPUS_PER_NODE}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-}
HERE="$(cd "$(dirname "$0")" && pwd)"
PYTHON=${PYTHON:-python}
GRES=()
if [ "$GPUS_PER_NODE" -gt 0 ]; then
    GRES=(--gres=gpu:"$GPUS_PER_NODE")
fi

PYTHONPATH="$HERE/..:${PYTHONPATH:-}" \
srun -p "$PARTITION" --job-name="$JOB_NAME" ${GRES[@]+"${GRES[@]}"} \
    --ntasks="$GPUS" --ntasks-per-node="$TASKS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$HERE/infer.py" "$CONFIG" "$CHECKPOINT" "${@:5}" --launcher slurm
