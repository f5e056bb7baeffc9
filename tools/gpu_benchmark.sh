#!/usr/bin/env bash
# The GPU benchmark as ONE command for one GPU server (e.g. one H100, 16 cores, a 10-minute
# command): the six loss configs of one profile run concurrently on the one GPU as separate
# processes (tools/benchmark.py --parallel), data loading on the CPU cores, results and logs
# packed under $OUT (at most 8 files come back: one tarball, RESULTS.md and two logs); the
# runs themselves (checkpoints included) stay in $WORK on the machine.
#
# Rehearse on the CPU with the smoke profile:
#   OUT=/tmp/gpu_rehearsal PROFILE=smoke DEVICE=cpu PARALLEL=2 THREADS=1 \
#       DATASETS=synthetic bash tools/gpu_benchmark.sh
# On an air-gapped GPU server, through tools/device/run_gpu_benchmark.sh (installs the carried
# wheels first; the real half-scale subset carried in as DATA_ROOT):
#   PROFILE=gpu-real DATA_ROOT=.gpu_data/half-scale DEADLINE_S=460 \
#       bash tools/device/run_gpu_benchmark.sh
#
# Variables: OUT (default work_dirs/gpu_benchmark), WORK (default /tmp/gpu_benchmark_work),
# PROFILE (paper), PROTOCOL (table3), DATASETS (real), DEVICE (cuda), PARALLEL (6), THREADS
# per run (2), WORKERS loader workers per run (2: 6 x (2 + 2) threads on 16 cores), ITERS
# (profile's), SEEDS (0), DEADLINE_S (seconds the matrix may run before timeout stops it and
# its runs and what finished is packed; 0: no limit), DATA_ROOT (default
# $DIGESTPATH_ROOT/half-scale), PYTHON (python3). Extra arguments go to tools/benchmark.py.
# Commit the tarball's run records under benchmarks/gpu_runs/ and pass that folder as
# `--extra-results` to `tools/benchmark.py --report-only`: their rows show the GPU device.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
OUT="${OUT:-work_dirs/gpu_benchmark}"
WORK="${WORK:-/tmp/gpu_benchmark_work}"
PROFILE="${PROFILE:-paper}"
PROTOCOL="${PROTOCOL:-table3}"
DATASETS="${DATASETS:-real}"
DEVICE="${DEVICE:-cuda}"
PARALLEL="${PARALLEL:-6}"
THREADS="${THREADS:-2}"
WORKERS="${WORKERS:-2}"
SEEDS="${SEEDS:-0}"
DEADLINE_S="${DEADLINE_S:-0}"
PYTHON="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg
say() { printf '[gpu_benchmark] %s\n' "$*"; }

mkdir -p "$OUT" "$WORK/bench/runs" "$WORK/report"
OUT="$(cd "$OUT" && pwd)"
if ! "$PYTHON" -c "import mmcv.ops, mmdet, mmengine, mmdet_dghm" 2>"$OUT/env_error.txt"; then
    say "ERROR: $PYTHON cannot import mmcv.ops/mmdet/mmengine/mmdet_dghm (see $OUT/env_error.txt);"
    say "install them first (tools/setup_env.sh with TORCH_SPEC for the machine's torch)"
    exit 2
fi
rm -f "$OUT/env_error.txt"
if [[ "$DEVICE" == cuda ]]; then
    "$PYTHON" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name(0))"
fi
DATA_ARGS=()
if [[ " $DATASETS " == *" real "* ]]; then
    DATA_ROOT="${DATA_ROOT:-${DIGESTPATH_ROOT:-}/half-scale}"
    [[ -d "$DATA_ROOT" ]] || { say "ERROR: DATA_ROOT=$DATA_ROOT is not a folder"; exit 2; }
    DATA_ARGS=(--data-root "$DATA_ROOT")
fi
ITER_ARGS=()
[[ -n "${ITERS:-}" ]] && ITER_ARGS=(--iters "$ITERS")

say "profile $PROFILE, protocol $PROTOCOL, datasets $DATASETS, $PARALLEL concurrent runs on $DEVICE"
start=$(date +%s)
set +e
TIMEOUT=()
# On the deadline timeout signals its whole process group: the matrix and its runs.
[[ "$DEADLINE_S" != 0 ]] && TIMEOUT=(timeout --kill-after=10 "$DEADLINE_S")
"${TIMEOUT[@]}" "$PYTHON" tools/benchmark.py --profile "$PROFILE" --protocol "$PROTOCOL" \
    --datasets $DATASETS --device "$DEVICE" --parallel "$PARALLEL" --threads "$THREADS" --num-workers "$WORKERS" \
    --seeds $SEEDS --work-dir "$WORK/bench" --no-report "${DATA_ARGS[@]}" "${ITER_ARGS[@]}" \
    "$@" 2>&1 | tee "$OUT/benchmark.log"
status=${PIPESTATUS[0]}
set -e
say "matrix finished with status $status in $(( $(date +%s) - start )) s"

"$PYTHON" tools/benchmark.py --report-only --work-dir "$WORK/bench" --report-dir "$WORK/report" \
    > "$OUT/report.log" 2>&1 || say "report failed (see $OUT/report.log)"
[[ -f "$WORK/report/RESULTS.md" ]] && cp "$WORK/report/RESULTS.md" "$OUT/RESULTS.md"
# Everything but checkpoints and data in one file (few files come back): unpack it into a
# work dir and pass that to --extra-results.
(cd "$WORK" && find bench/runs report -type f \( -name result.json -o -name spec.json \
    -o -name config.py -o -name run.log -o -name scalars.json -o -name '*.log' \
    -o -name '*.png' -o -name '*.md' \) -print0 | tar czf "$OUT/gpu_runs.tgz" --null -T -)
ls -la "$OUT"
exit "$status"
