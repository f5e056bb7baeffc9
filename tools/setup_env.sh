#!/usr/bin/env bash
# One-script environment for mmdet-dghm: torch (CPU by default), mmcv 2.1.0 WITH compiled ops,
# then the project (editable, with its test extra). Idempotent: a second run checks and skips.
#
# Variables:
#   VENV         virtual environment to create/reuse (default: $REPO/.venv; an active one is used as is)
#   TORCH_SPEC   pip requirement for torch (default: torch==2.13.0, the CPU build)
#   WHEELHOUSE   folder of prebuilt wheels (e.g. ../shared/wheels), given to pip as --find-links
#                (added to the machine's pip configuration; PIP_FIND_LINKS is never set here)
#   MAX_JOBS     parallel compile jobs for the mmcv source build (default: nproc)
#   EXTRAS       project extras to install (default: tests)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MMCV_VERSION="2.1.0"
SETUPTOOLS_SPEC="setuptools>=77.0.3,<81"
EXTRAS="${EXTRAS:-tests}"
MAX_JOBS="${MAX_JOBS:-$(nproc)}"
say() { printf '[setup_env] %s\n' "$*"; }

if [[ -n "${VIRTUAL_ENV:-}" && "${VENV:-}" == "" ]]; then
    VENV="$VIRTUAL_ENV"
    say "using the active virtual environment $VENV"
else
    VENV="${VENV:-$REPO/.venv}"
    if [[ -x "$VENV/bin/python" ]]; then
        say "reusing virtual environment $VENV"
    else
        say "creating virtual environment $VENV"
        python3 -m venv "$VENV"
    fi
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install --disable-pip-version-check)
if [[ -n "${WHEELHOUSE:-}" ]]; then
    [[ -d "$WHEELHOUSE" ]] || { say "ERROR: WHEELHOUSE=$WHEELHOUSE is not a folder"; exit 1; }
    WHEELHOUSE="$(cd "$WHEELHOUSE" && pwd)"
    PIP+=(--find-links "$WHEELHOUSE")
    say "wheel cache: $WHEELHOUSE (pip --find-links)"
fi

# mmengine 0.10.7 resolves mmdet:: config paths through pkg_resources (gone in setuptools 82);
# torch 2.13 needs setuptools>=77.0.3; mmcv's setup.py imports pkg_resources too.
if "$PY" - "$SETUPTOOLS_SPEC" 2>/dev/null <<'PYEOF'
import sys
from importlib.metadata import version
from packaging.specifiers import SpecifierSet
sys.exit(0 if version("setuptools") in SpecifierSet(sys.argv[1].split("setuptools", 1)[1]) else 1)
PYEOF
then
    say "setuptools ok ($("$PY" -c 'import setuptools; print(setuptools.__version__)'))"
else
    say "installing $SETUPTOOLS_SPEC, wheel, packaging"
    "${PIP[@]}" "$SETUPTOOLS_SPEC" wheel packaging
fi

torch_ok() {
    "$PY" - "$TORCH_SPEC" <<'PYEOF' 2>/dev/null
import sys
from packaging.requirements import Requirement
import torch
req = Requirement(sys.argv[1])
sys.exit(0 if req.specifier.contains(torch.__version__.split("+")[0], prereleases=True) else 1)
PYEOF
}
if torch_ok; then
    say "torch ok ($("$PY" -c 'import torch; print(torch.__version__)'))"
else
    say "installing $TORCH_SPEC"
    "${PIP[@]}" "$TORCH_SPEC"
fi

mmcv_ok() {
    "$PY" - "$MMCV_VERSION" <<'PYEOF'
import sys
try:
    import mmcv
except ImportError:
    sys.exit(1)
if mmcv.__version__ != sys.argv[1]:
    sys.exit(1)
try:
    from mmcv.ops import nms  # noqa: F401  needs the compiled mmcv._ext
except (ImportError, ModuleNotFoundError) as exc:
    print(f"[setup_env] installed mmcv {mmcv.__version__} has no compiled ops ({exc})")
    sys.exit(2)
PYEOF
}
set +e; mmcv_ok; rc=$?; set -e
if [[ $rc -eq 0 ]]; then
    say "mmcv $MMCV_VERSION with compiled ops ok"
else
    if [[ $rc -eq 2 ]]; then
        say "removing the mmcv without ops"
        "$PY" -m pip uninstall -y mmcv
    fi
    # mmcv ships no PyPI wheel. --no-build-isolation lets its setup.py import *this* torch
    # (with isolation it cannot, and silently builds a pure-Python mmcv without mmcv._ext).
    # A matching wheel in WHEELHOUSE is taken directly; otherwise pip builds from the sdist
    # (about 30 min on 2 cores).
    say "installing mmcv==$MMCV_VERSION (MAX_JOBS=$MAX_JOBS; a source build takes ~30 min on 2 cores)"
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="$MAX_JOBS" \
        "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
    set +e; mmcv_ok; rc=$?; set -e
    if [[ $rc -ne 0 ]]; then
        say "ERROR: mmcv $MMCV_VERSION was installed but 'from mmcv.ops import nms' fails:"
        say "       mmcv was built without its compiled ops (mmcv._ext). Rebuild it with"
        say "       --no-build-isolation against the installed torch, or give WHEELHOUSE a wheel."
        exit 1
    fi
    say "mmcv $MMCV_VERSION with compiled ops ok"
fi

# The project itself, editable. A stamp of setup.py skips the pip call when nothing changed.
STAMP="$VENV/.mmdet_dghm_setup_stamp"
WANT="$(sha256sum "$REPO/setup.py" | cut -d' ' -f1) $EXTRAS $REPO"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] && "$PY" -c "import mmdet_dghm" 2>/dev/null; then
    say "mmdet_dghm ok (editable, extras: $EXTRAS)"
else
    say "installing mmdet_dghm in editable mode with extras [$EXTRAS]"
    "${PIP[@]}" -e "$REPO[$EXTRAS]"
    echo "$WANT" > "$STAMP"
fi
say "done: $("$PY" -c 'import torch, mmcv, mmdet, mmengine, mmdet_dghm as m; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, mmengine {mmengine.__version__}, mmdet_dghm {m.__version__}")')"
say "activate with: source $VENV/bin/activate"
