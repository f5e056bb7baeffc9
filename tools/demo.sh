#!/usr/bin/env bash
# The end-to-end demo (demo/): runs `python -m demo ARGS` from the repository root, so relative
# paths among ARGS are taken from there. PYTHON picks the interpreter (default python3).
#   bash tools/demo.sh                    # generated data, DGHM-C from scratch, report
#   bash tools/demo.sh --profile smoke    # a few iterations on a tiny set
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec "${PYTHON:-python3}" -m demo "$@"
