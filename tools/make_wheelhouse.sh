#!/usr/bin/env bash
# Make a folder of wheels from which tools/setup_env.sh installs mmdet-dghm with no package index
# (WHEELHOUSE=DIR OFFLINE=1). Run it on a machine that reaches PyPI; copy DIR to the other one.
#   bash tools/make_wheelhouse.sh DIR [--python X.Y] [--platform TAG]... [--mmcv-wheel FILE]
#
# DIR receives this project's wheel (pip wheel --no-deps .), mmcv-lite 2.1.0, mmengine, mmdet and
# every dependency of them and of the project (EXTRAS included), plus setuptools, wheel and
# packaging, all as binary wheels for CPython X.Y (default: the Python running pip). torch is left
# out: the target machine keeps its own (a CUDA build, say).
#   --python X.Y       target Python version (pip download --python-version). pip evaluates the
#                      dependencies' markers (python_version < ...) against the Python running it,
#                      so for another version prefer PYTHON=pythonX.Y.
#   --platform TAG     target platform tag, repeatable (default: this machine's, e.g. pass
#                      manylinux_2_28_x86_64 and manylinux_2_17_x86_64 for an older glibc).
#   --mmcv-wheel FILE  a compiled mmcv 2.1.0 wheel: goes into DIR instead of mmcv-lite, and
#                      setup_env.sh then installs MMCV_OPS=compiled.
# Variables:
#   PYTHON       interpreter whose pip downloads and builds (default: python3)
#   TORCH_SPEC   also put this torch (and its dependencies) into DIR, e.g. 'torch==2.13.0' with
#                PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cu128 (default: no torch)
#   EXTRAS       project extras whose requirements to include (default: tests, as setup_env.sh)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
EXTRAS="${EXTRAS:-tests}"
MMCV_VERSION="2.1.0"
say() { printf '[make_wheelhouse] %s\n' "$*"; }
die() { say "ERROR: $*"; exit 1; }
usage() { sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^#   //'; exit "${1:-1}"; }

DIR=""
PY_VERSION=""
PLATFORMS=()
MMCV_WHEEL=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --python) [[ $# -ge 2 ]] || usage; PY_VERSION="$2"; shift 2 ;;
        --platform) [[ $# -ge 2 ]] || usage; PLATFORMS+=(--platform "$2"); shift 2 ;;
        --mmcv-wheel) [[ $# -ge 2 ]] || usage; MMCV_WHEEL="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        -*) die "unknown option $1" ;;
        *) [[ -z "$DIR" ]] || die "one folder only (got $DIR and $1)"; DIR="$1"; shift ;;
    esac
done
[[ -n "$DIR" ]] || usage
RUNNING="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
    || die "PYTHON=$PYTHON does not run"
PY_VERSION="${PY_VERSION:-$RUNNING}"
[[ "$PY_VERSION" =~ ^3\.[0-9]+$ ]] || die "--python $PY_VERSION: give a version like 3.11"
if [[ "$PY_VERSION" != "$RUNNING" ]]; then
    say "note: wheels for Python $PY_VERSION, markers evaluated against $PYTHON ($RUNNING)"
fi
if [[ -n "$MMCV_WHEEL" ]]; then
    [[ -f "$MMCV_WHEEL" ]] || die "--mmcv-wheel $MMCV_WHEEL is not a file"
    [[ "$(basename "$MMCV_WHEEL")" == mmcv-"$MMCV_VERSION"-*.whl ]] \
        || die "--mmcv-wheel $MMCV_WHEEL is not an mmcv $MMCV_VERSION wheel (mmcv-$MMCV_VERSION-*.whl)"
    MMCV_REQ="$(cd "$(dirname "$MMCV_WHEEL")" && pwd)/$(basename "$MMCV_WHEEL")"
else
    MMCV_REQ="mmcv-lite==$MMCV_VERSION"
fi
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"

say "building this project's wheel into $DIR"
rm -f "$DIR"/mmdet_dghm-*.whl
"$PYTHON" -m pip wheel --disable-pip-version-check -q --no-deps -w "$DIR" "$REPO"
PROJECT_WHEEL="$(ls "$DIR"/mmdet_dghm-*.whl)"

# The project's requirements (EXTRAS included) from the wheel's metadata, torch left out.
mapfile -t REQS < <("$PYTHON" - "$PROJECT_WHEEL" "$EXTRAS" <<'PYEOF'
import re
import sys
import zipfile
from email.parser import Parser

try:
    from packaging.requirements import Requirement
except ImportError:  # pip always carries its own copy
    from pip._vendor.packaging.requirements import Requirement

wheel, extras = sys.argv[1], [e for e in sys.argv[2].split(',') if e]
with zipfile.ZipFile(wheel) as archive:
    name = next(n for n in archive.namelist() if n.endswith('.dist-info/METADATA'))
    metadata = Parser().parsestr(archive.read(name).decode())
for line in metadata.get_all('Requires-Dist') or []:
    req = Requirement(line)
    if re.sub(r'[-_.]+', '-', req.name).lower() == 'torch':
        continue
    if req.marker is None or any(req.marker.evaluate({'extra': e}) for e in extras or ['']):
        req.marker = None
        print(req)
PYEOF
)
[[ ${#REQS[@]} -gt 0 ]] || die "no requirements read from $PROJECT_WHEEL"
TORCH=()
if [[ -n "${TORCH_SPEC:-}" ]]; then
    TORCH=("$TORCH_SPEC")
    say "including $TORCH_SPEC (TORCH_SPEC)"
else
    say "torch left out (the target keeps its own; TORCH_SPEC=... to include one)"
fi
say "downloading binary wheels for CPython $PY_VERSION: $(basename "$MMCV_REQ"), ${REQS[*]}"
"$PYTHON" -m pip download --disable-pip-version-check -q --only-binary=:all: \
    --python-version "$PY_VERSION" --implementation cp "${PLATFORMS[@]}" -d "$DIR" \
    "$MMCV_REQ" "setuptools>=77.0.3,<81" wheel packaging "${REQS[@]}" "${TORCH[@]}"
say "$DIR: $(ls "$DIR"/*.whl | wc -l) wheels, $(du -sh "$DIR" | cut -f1)"
say "on the target: WHEELHOUSE=$DIR OFFLINE=1 bash tools/setup_env.sh"
