"""The Docker images install through the tested script, with the torch it pins, and run the
plugin's entry point; the entry point prints the plugin's registry."""
import json
import re
import shlex
import subprocess
import sys
from typing import Dict, List, Tuple

import pytest


def instructions(text: str) -> List[Tuple[str, str]]:
    """A Dockerfile's ``(INSTRUCTION, arguments)``, continuation lines joined, comments out."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith('#')]
    joined = re.sub(r'\\\n', ' ', '\n'.join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in joined.splitlines() if line.strip()]


def assignments(instrs: List[Tuple[str, str]], kind: str) -> Dict[str, str]:
    """``NAME=value`` pairs of every ARG or ENV instruction (quotes removed)."""
    return {name: value for instr, args in instrs if instr == kind
            for name, _, value in (word.partition('=') for word in shlex.split(args))}


def commands(instrs: List[Tuple[str, str]]) -> List[List[str]]:
    """The shell commands of the RUN instructions, split at ``&&``, as words."""
    return [shlex.split(part) for instr, args in instrs if instr == 'RUN'
            for part in args.split('&&')]


def setup_env_default(repo_root, name: str) -> str:
    """The default ``tools/setup_env.sh`` gives ``name`` (``NAME="${NAME:-default}"``)."""
    text = (repo_root / 'tools' / 'setup_env.sh').read_text()
    return re.search(rf'^{name}="\$\{{{name}:-([^}}]*)\}}"', text, flags=re.M).group(1)


@pytest.mark.parametrize('dockerfile', ['Dockerfile', 'Dockerfile.cuda'])
def test_dockerfiles_install_through_setup_env(repo_root, dockerfile):
    instrs = instructions((repo_root / 'docker' / dockerfile).read_text())
    args, env = assignments(instrs, 'ARG'), assignments(instrs, 'ENV')
    # The torch the image installs is the one setup_env.sh pins (mmcv is built against it).
    assert args['TORCH_SPEC'] == setup_env_default(repo_root, 'TORCH_SPEC')
    runs = commands(instrs)
    pip = next(c for c in runs if c[1:3] == ['install', '--index-url'])
    assert pip[0] == '$VENV/bin/pip' and pip[3:] == ['$TORCH_INDEX_URL', '$TORCH_SPEC']
    setup = next(c for c in runs if c[-2:] == ['bash', 'tools/setup_env.sh'])
    assert 'TORCH_SPEC=$TORCH_SPEC' in setup  # setup_env.sh checks the same spec, keeps it
    # The command runs the venv's python: its bin first on PATH.
    assert env['PATH'].split(':')[0] == env['VENV'] + '/bin'
    cmd = [args for instr, args in instrs if instr == 'CMD']
    assert [json.loads(c) for c in cmd] == [['python', '-m', 'mmdet_dghm']]


def test_cuda_dockerfile_builds_mmcv_cuda_ops_for_its_cuda(repo_root):
    instrs = instructions((repo_root / 'docker' / 'Dockerfile.cuda').read_text())
    args, env = assignments(instrs, 'ARG'), assignments(instrs, 'ENV')
    assert env['FORCE_CUDA'] == '1'
    # The architectures to compile for (no GPU is visible during the build): the ARG's.
    assert env['TORCH_CUDA_ARCH_LIST'] == '${TORCH_CUDA_ARCH_LIST}'
    assert all(re.fullmatch(r'\d+\.\d+', arch) for arch in args['TORCH_CUDA_ARCH_LIST'].split(';'))
    # torch's CUDA build matches the base image's CUDA (12.8.x: cu128).
    major, minor = re.search(r':(\d+)\.(\d+)\.', args['CUDA_BASE']).groups()
    assert args['TORCH_INDEX_URL'].endswith(f'/cu{major}{minor}')


def test_module_entry_point_lists_registered_classes():
    out = subprocess.run([sys.executable, '-m', 'mmdet_dghm'], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.startswith('mmdet_dghm 0.')
    lines = dict(line.strip().split(': ', 1) for line in out.splitlines()[1:])
    for name in ('DGHMCLoss', 'SymmetricCELoss', 'DecoupledRetinaHead'):
        assert name in lines['models'].split(', ')
    assert 'DigestPathDataset' in lines['datasets'].split(', ')
    assert 'DigestPathMetric' in lines['metrics'].split(', ')
