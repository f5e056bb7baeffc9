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

# One probe reports every component's state (importing torch/mmcv/mmdet once keeps a no-op
# run to a few seconds).
probe() {
    "$PY" - "$SETUPTOOLS_SPEC" "$TORCH_SPEC" "$MMCV_VERSION" 2>/dev/null <<'PYEOF' || true
import sys
from importlib.metadata import PackageNotFoundError, version
try:
    from packaging.requirements import Requirement
except ImportError:
    sys.exit(0)
def satisfied(spec, ver):
    return Requirement(spec).specifier.contains(ver.split("+")[0], prereleases=True)
try:
    print("setuptools", "ok" if satisfied(sys.argv[1], version("setuptools")) else "bad")
except PackageNotFoundError:
    print("setuptools missing")
try:
    import torch
    print("torch", "ok" if satisfied(sys.argv[2], torch.__version__) else "bad", torch.__version__)
except ImportError:
    print("torch missing")
    sys.exit(0)
try:
    import mmcv
except ImportError:
    print("mmcv missing")
    sys.exit(0)
if mmcv.__version__ != sys.argv[3]:
    print("mmcv bad", mmcv.__version__)
    sys.exit(0)
try:
    from mmcv.ops import nms  # noqa: F401  needs the compiled mmcv._ext
except ImportError as exc:
    print("mmcv noops", str(exc).replace("\n", " "))
    sys.exit(0)
print("mmcv ok", mmcv.__version__)
try:
    import mmdet_dghm
    print("mmdet_dghm ok", mmdet_dghm.__version__)
except ImportError:
    print("mmdet_dghm missing")
PYEOF
}
state_of() { grep "^$1 " <<<"$STATE" | cut -d' ' -f2- || true; }
STATE="$(probe)"

# mmengine 0.10.7 resolves mmdet:: config paths through pkg_resources (gone in setuptools 82);
# torch 2.13 needs setuptools>=77.0.3; mmcv's setup.py imports pkg_resources too.
if [[ "$(state_of setuptools)" == ok ]]; then
    say "setuptools ok"
else
    say "installing $SETUPTOOLS_SPEC, wheel, packaging"
    "${PIP[@]}" "$SETUPTOOLS_SPEC" wheel packaging
fi

if [[ "$(state_of torch)" == ok* ]]; then
    say "torch ok ($(state_of torch | cut -d' ' -f2))"
else
    say "installing $TORCH_SPEC"
    "${PIP[@]}" "$TORCH_SPEC"
    STATE="$(probe)"
fi

mmcv_state="$(state_of mmcv)"
if [[ "$mmcv_state" == ok* ]]; then
    say "mmcv $MMCV_VERSION with compiled ops ok"
else
    if [[ "$mmcv_state" == noops* || "$mmcv_state" == bad* ]]; then
        say "removing mmcv ($mmcv_state)"
        "$PY" -m pip uninstall -y mmcv
    fi
    # mmcv ships no PyPI wheel. --no-build-isolation lets its setup.py import *this* torch
    # (with isolation it cannot, and silently builds a pure-Python mmcv without mmcv._ext).
    # A matching wheel in WHEELHOUSE is taken directly; otherwise pip builds from the sdist
    # (about 30 min on 2 cores).
    say "installing mmcv==$MMCV_VERSION (MAX_JOBS=$MAX_JOBS; a source build takes ~30 min on 2 cores)"
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="$MAX_JOBS" \
        "${PIP[@]}" --no-build-isolation "mmcv==$MMCV_VERSION"
    STATE="$(probe)"
    mmcv_state="$(state_of mmcv)"
    if [[ "$mmcv_state" != ok* ]]; then
        say "ERROR: mmcv $MMCV_VERSION was installed but 'from mmcv.ops import nms' fails ($mmcv_state):"
        say "       mmcv was built without its compiled ops (mmcv._ext). Rebuild it with"
        say "       --no-build-isolation against the installed torch, or give WHEELHOUSE a wheel."
        exit 1
    fi
    say "mmcv $MMCV_VERSION with compiled ops ok"
fi

# The project itself, editable. A stamp of setup.py skips the pip call when nothing changed.
STAMP="$VENV/.mmdet_dghm_setup_stamp"
WANT="$(sha256sum "$REPO/setup.py" | cut -d' ' -f1) $EXTRAS $REPO"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && "$(state_of mmdet_dghm)" == ok* ]]; then
    say "mmdet_dghm ok (editable, extras: $EXTRAS)"
else
    say "installing mmdet_dghm in editable mode with extras [$EXTRAS]"
    "${PIP[@]}" -e "$REPO[$EXTRAS]"
    echo "$WANT" > "$STAMP"
    "$PY" -c 'import torch, mmcv, mmdet, mmengine, mmdet_dghm as m; print(f"[setup_env] installed: torch {torch.__version__}, mmcv {mmcv.__version__}, mmdet {mmdet.__version__}, mmengine {mmengine.__version__}, mmdet_dghm {m.__version__}")'
fi
say "ready; activate with: source $VENV/bin/activate"
