#!/usr/bin/env bash
# One-script environment for mmdet-dghm: torch (CPU by default), mmcv 2.1.0's Python code with
# its ops (torch implementations or compiled ones, see MMCV_OPS), then the project (editable, with
# its test extra). Idempotent: a second run checks and skips.
#
# Variables:
#   MMCV_OPS     torch: mmcv-lite 2.1.0 (pure Python) and this project's torch ops, served as
#                mmcv._ext by a .pth file written into the environment (no compiler, minutes);
#                compiled: mmcv 2.1.0 with its compiled ops (a wheel from WHEELHOUSE, else a source
#                build of about 30 min on 2 cores). Default: the mode the environment already has;
#                for a new one, compiled if WHEELHOUSE holds an mmcv 2.1.0 wheel for this Python,
#                else torch.
#   VENV         virtual environment to create/reuse (default: $REPO/.venv; an active one is used as is)
#   TORCH_SPEC   pip requirement for torch (default: torch==2.13.0, the CPU build)
#   WHEELHOUSE   folder of prebuilt wheels (e.g. holding an mmcv wheel), given to pip as --find-links
#                (added to the machine's pip configuration; PIP_FIND_LINKS is never set here)
#   OFFLINE      1: install from WHEELHOUSE alone (pip --no-index), a folder made by
#                tools/make_wheelhouse.sh; the environment's torch (a CUDA build, say) is kept as it
#                is, and mmcv is never built from source. Default: 0
#   MAX_JOBS     parallel compile jobs for the mmcv source build (default: nproc; compiled mode)
#   EXTRAS       project extras to install (default: tests)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
MMCV_VERSION="2.1.0"
SETUPTOOLS_SPEC="setuptools>=77.0.3,<81"
EXTRAS="${EXTRAS:-tests}"
MAX_JOBS="${MAX_JOBS:-$(nproc)}"
OFFLINE="${OFFLINE:-0}"
say() { printf '[setup_env] %s\n' "$*"; }
[[ "$OFFLINE" == 0 || "$OFFLINE" == 1 ]] || { say "ERROR: OFFLINE=$OFFLINE: use 0 or 1"; exit 1; }
if [[ "$OFFLINE" == 1 && -z "${WHEELHOUSE:-}" ]]; then
    say "ERROR: OFFLINE=1 needs WHEELHOUSE=DIR, a folder made by tools/make_wheelhouse.sh"
    exit 1
fi

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
if [[ "$OFFLINE" == 1 ]]; then
    PIP+=(--no-index)
    say "offline: every package comes from $WHEELHOUSE (pip --no-index)"
fi
PYTAG="$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')"

# pip install. Offline, a requirement the folder cannot meet is named together with the folder.
pip_install() {
    if [[ "$OFFLINE" != 1 ]]; then
        "${PIP[@]}" "$@"
        return
    fi
    local log rc=0 missing
    log="$(mktemp)"
    "${PIP[@]}" "$@" 2>&1 | tee "$log" || rc=$?
    missing="$(sed -n 's/^ERROR: No matching distribution found for //p' "$log" | head -n1)"
    rm -f "$log"
    [[ "$rc" == 0 ]] && return
    if [[ -n "$missing" ]]; then
        say "ERROR: $WHEELHOUSE holds no wheel of $missing for this Python ($PYTAG, $VENV)."
        say "       Add it to the folder, or make the folder again with tools/make_wheelhouse.sh"
        say "       on a machine with a package index."
    else
        say "ERROR: pip could not install $* from $WHEELHOUSE alone (its message is above)"
    fi
    exit 1
}

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
    import importlib.machinery
    import mmcv
except ImportError:
    print("mmcv missing")
    sys.exit(0)
try:
    dist = "mmcv-lite" if version("mmcv-lite") else "mmcv"
except PackageNotFoundError:
    dist = "mmcv"
if mmcv.__version__ != sys.argv[3]:
    print("mmcv bad", dist, mmcv.__version__)
    sys.exit(0)
if dist == "mmcv-lite":
    print("mmcv lite", mmcv.__version__)
elif importlib.machinery.PathFinder.find_spec("mmcv._ext", mmcv.__path__) is None:
    print("mmcv noops", mmcv.__version__)  # mmcv built without mmcv._ext
    sys.exit(0)
else:
    print("mmcv compiled", mmcv.__version__)
try:
    import mmdet_dghm
    from mmdet_dghm_ops.__main__ import status
    print("mmdet_dghm ok", mmdet_dghm.__version__)
    print("ops", status())
except ImportError:
    print("mmdet_dghm missing")
PYEOF
}
state_of() { grep "^$1 " <<<"$STATE" | cut -d' ' -f2- || true; }
STATE="$(probe)"
CHANGED=0

# mmengine 0.10.7 resolves mmdet:: config paths through pkg_resources (gone in setuptools 82);
# torch 2.13 needs setuptools>=77.0.3; mmcv's setup.py imports pkg_resources too.
if [[ "$(state_of setuptools)" == ok ]]; then
    say "setuptools ok"
else
    say "installing $SETUPTOOLS_SPEC, wheel, packaging"
    pip_install "$SETUPTOOLS_SPEC" wheel packaging
    STATE="$(probe)"  # the probe needs packaging: the other components are known from here on
fi

torch_state="$(state_of torch)"
if [[ "$torch_state" == ok* ]]; then
    say "torch ok (${torch_state#ok })"
elif [[ "$OFFLINE" == 1 && "$torch_state" == bad* ]]; then
    say "torch ${torch_state#bad } kept (OFFLINE=1 uses the environment's torch; TORCH_SPEC is not applied)"
else
    if [[ "$OFFLINE" == 1 ]] && ! compgen -G "$WHEELHOUSE/torch-*.whl" >/dev/null; then
        say "ERROR: OFFLINE=1: $VENV has no torch and $WHEELHOUSE holds no torch wheel."
        say "       Install your torch (e.g. a CUDA build) into $VENV first, or put one into"
        say "       the folder (TORCH_SPEC=... tools/make_wheelhouse.sh)."
        exit 1
    fi
    say "installing $TORCH_SPEC"
    pip_install "$TORCH_SPEC"
    STATE="$(probe)"
fi

mmcv_state="$(state_of mmcv)"
wheel="$(ls "${WHEELHOUSE:-/nonexistent}"/mmcv-"$MMCV_VERSION"-"$PYTAG"-*.whl 2>/dev/null \
    | head -n1 || true)"
if [[ -z "${MMCV_OPS:-}" ]]; then
    case "$mmcv_state" in
        compiled*|noops*) MMCV_OPS=compiled; why="the environment has mmcv, not mmcv-lite" ;;
        lite*) MMCV_OPS=torch; why="the environment has mmcv-lite" ;;
        *) if [[ -n "$wheel" ]]; then
               MMCV_OPS=compiled; why="WHEELHOUSE holds $(basename "$wheel")"
           else
               MMCV_OPS=torch; why="no mmcv $MMCV_VERSION wheel in WHEELHOUSE: nothing to compile"
           fi ;;
    esac
else
    why="set by MMCV_OPS"
fi
[[ "$MMCV_OPS" == torch || "$MMCV_OPS" == compiled ]] \
    || { say "ERROR: MMCV_OPS=$MMCV_OPS: use torch or compiled"; exit 1; }
say "MMCV_OPS=$MMCV_OPS ($why)"
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
PTH="$SITE/mmdet_dghm_ops.pth"

if [[ "$MMCV_OPS" == torch ]]; then
    if [[ "$mmcv_state" == lite* ]]; then
        say "mmcv-lite $MMCV_VERSION ok"
    else
        if [[ "$mmcv_state" != missing* && -n "$mmcv_state" ]]; then
            say "removing mmcv ($mmcv_state)"
            "$PY" -m pip uninstall -y mmcv mmcv-lite
        fi
        say "installing mmcv-lite==$MMCV_VERSION (mmcv's Python code; ops from mmdet_dghm_ops)"
        pip_install "mmcv-lite==$MMCV_VERSION"
        STATE="$(probe)"
        CHANGED=1
    fi
elif [[ "$mmcv_state" == compiled* ]]; then
    say "mmcv $MMCV_VERSION with compiled ops ok"
else
    if [[ "$mmcv_state" == noops* || "$mmcv_state" == bad* || "$mmcv_state" == lite* ]]; then
        say "removing mmcv ($mmcv_state) and the torch ops hook"
        "$PY" -m pip uninstall -y mmcv mmcv-lite
        rm -f "$PTH"
    fi
    # mmcv ships no PyPI wheel. --no-build-isolation lets its setup.py import *this* torch
    # (with isolation it cannot, and silently builds a pure-Python mmcv without mmcv._ext).
    # A matching wheel in WHEELHOUSE is taken directly; otherwise pip builds from the sdist
    # (about 30 min on 2 cores). Offline, only the wheel will do.
    MMCV_PIP=(--no-build-isolation)
    if [[ "$OFFLINE" == 1 ]]; then
        if [[ -z "$wheel" ]]; then
            say "ERROR: OFFLINE=1, MMCV_OPS=compiled: $WHEELHOUSE holds no mmcv $MMCV_VERSION wheel"
            say "       for $PYTAG (mmcv-$MMCV_VERSION-$PYTAG-*.whl), and mmcv is not built from"
            say "       source offline. Add the wheel (tools/make_wheelhouse.sh DIR --mmcv-wheel"
            say "       FILE), or use MMCV_OPS=torch (mmcv-lite from the folder)."
            exit 1
        fi
        MMCV_PIP+=(--only-binary=mmcv)
        say "installing mmcv==$MMCV_VERSION from $(basename "$wheel")"
    else
        say "installing mmcv==$MMCV_VERSION (MAX_JOBS=$MAX_JOBS; a source build takes ~30 min on 2 cores)"
    fi
    MMCV_WITH_OPS=1 FORCE_CUDA="${FORCE_CUDA:-0}" MAX_JOBS="$MAX_JOBS" \
        pip_install "${MMCV_PIP[@]}" "mmcv==$MMCV_VERSION"
    STATE="$(probe)"
    CHANGED=1
    mmcv_state="$(state_of mmcv)"
    if [[ "$mmcv_state" != compiled* ]]; then
        say "ERROR: mmcv $MMCV_VERSION was installed without its compiled ops ($mmcv_state):"
        say "       mmcv was built without mmcv._ext. Rebuild it with --no-build-isolation"
        say "       against the installed torch, give WHEELHOUSE a wheel, or use MMCV_OPS=torch."
        exit 1
    fi
    say "mmcv $MMCV_VERSION with compiled ops ok"
fi

# The project itself, editable. A stamp of setup.py skips the pip call when nothing changed and
# mmdet_dghm/.mim still links to the checkout's configs (a wheel built since leaves copies there).
STAMP="$VENV/.mmdet_dghm_setup_stamp"
WANT="$(sha256sum "$REPO/setup.py" | cut -d' ' -f1) $EXTRAS $REPO"
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" && "$(state_of mmdet_dghm)" == ok* \
      && -L "$REPO/mmdet_dghm/.mim/configs" ]]; then
    say "mmdet_dghm ok (editable, extras: $EXTRAS)"
else
    say "installing mmdet_dghm in editable mode with extras [$EXTRAS]"
    PROJECT_PIP=()
    if [[ "$OFFLINE" == 1 ]]; then
        # Built by the setuptools installed above: no build environment to fill from an index
        # (the legacy `setup.py develop` path would run a pip of its own without the folder).
        PROJECT_PIP=(--use-pep517 --no-build-isolation)
    fi
    pip_install "${PROJECT_PIP[@]}" -e "$REPO[$EXTRAS]"
    echo "$WANT" > "$STAMP"
    CHANGED=1
fi
if [[ "$MMCV_OPS" == torch ]]; then
    # Written after the project (it imports mmdet_dghm_ops); mmcv's own files are left as they are.
    "$PY" -m mmdet_dghm_ops enable >/dev/null
    say "torch ops hook: $PTH makes every Python of this environment load"
    say "  mmdet_dghm_ops' torch ops as mmcv._ext while mmcv has no compiled extension"
    say "  (no mmcv file is changed; remove the hook: python -m mmdet_dghm_ops disable)"
fi
if [[ "$CHANGED" == 1 || "$(state_of ops)" != "$MMCV_OPS" ]]; then
    "$PY" - "$MMCV_OPS" <<'PYEOF'
import sys
import mmcv, mmdet, mmengine, torch
from mmcv.ops import RoIAlign, batched_nms  # noqa: F401  mmcv._ext loads
import mmdet_dghm as m
from mmdet_dghm_ops.__main__ import status
assert status() == sys.argv[1], f"mmcv._ext is {status()}, expected {sys.argv[1]}"
print(f"[setup_env] installed: torch {torch.__version__}, mmcv {mmcv.__version__} "
      f"(ops: {status()}), mmdet {mmdet.__version__}, mmengine {mmengine.__version__}, "
      f"mmdet_dghm {m.__version__}")
PYEOF
else
    say "mmcv._ext: $MMCV_OPS ops ok"
fi
say "ready; activate with: source $VENV/bin/activate"
