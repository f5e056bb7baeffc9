#!/usr/bin/env bash
# Every CPU run behind benchmarks/RESULTS.md, in two queues of one thread each (two cores):
# the real half-scale folds, and the synthetic matrix with the DGHM-C ablations. Resumable:
# finished runs are skipped and an interrupted one resumes from its checkpoint, so rerun the
# same command after a stop. Then rebuild the report (and the batch-size measurement):
#
#   WORK_DIR=work_dirs/full-ranking DIGESTPATH_ROOT=/data/digestpath \
#       nohup bash tools/benchmark_matrix.sh &
#   python tools/benchmark.py --report-only --grad-hist --work-dir work_dirs/full-ranking \
#       --extra-results benchmarks/gpu_runs
#   RUN=work_dirs/full-ranking/runs/cpu_table4_synthetic_drop0.70_fold0_dghmc_seed0
#   python tools/density_scaling.py $RUN/config.py $RUN/iter_300.pth \
#       --out benchmarks/density_scaling.md
set -euo pipefail
cd "$(dirname "$0")/.."
WORK_DIR=${WORK_DIR:-work_dirs/full-ranking}
PYTHON=${PYTHON:-.venv/bin/python}
export OMP_NUM_THREADS=1
bench() { "$PYTHON" tools/benchmark.py --parallel 1 --threads 1 --work-dir "$WORK_DIR" --no-report "$@"; }

real_queue() {
    # Real data, CE / GHM-C / DGHM-C: Table 4 at 70% missing, then natural annotation (Table 3).
    for protocol in table4 table3; do
        for fold in 0 1 2; do
            bench --profile cpu-real --protocol "$protocol" --datasets real --drop-rates 0.7 \
                --losses dghmc ghmc ce --folds "$fold" --seeds 0
        done
    done
}

synthetic_queue() {
    local syn=(--profile cpu --protocol table4 --datasets synthetic --drop-rates 0.7
               --synthetic-root "$WORK_DIR/synthetic_cpu")
    bench "${syn[@]}" --losses dghmc ghmc ce sce dghmc-star focal --seeds 0 1
    bench "${syn[@]}" --losses dghmc ghmc ce --seeds 2 3
    # Ablations of DGHM-C: histogram per level; the paper's density at batch 8 and the two
    # scale-free ones (normalized, rescaled to the recipe's batch) at batch 4 and 8; mu_n and
    # mu_c. Two seeds of each first, then seeds 2 and 3.
    local ablations=('--cls-loss-mode per_level' '--batch-size 8' '--density rescaled'
                     '--batch-size 8 --density rescaled' '--density normalized'
                     '--batch-size 8 --density normalized' '--mu-noisy 1.5' '--mu-noisy 3'
                     '--mu-clean 1')
    for seeds in '0 1' '2 3'; do
        for ablation in "${ablations[@]}"; do
            # shellcheck disable=SC2086  # the ablation's flags and the seeds split on spaces
            bench "${syn[@]}" --losses dghmc $ablation --seeds $seeds
        done
    done
}

mkdir -p "$WORK_DIR"
real_queue > "$WORK_DIR/real_queue.log" 2>&1 &
synthetic_queue > "$WORK_DIR/synthetic_queue.log" 2>&1 &
wait
echo "done: $WORK_DIR"
