"""The Docker images install through the tested script and print the plugin's registry."""
import re
import subprocess
import sys

import pytest


@pytest.mark.parametrize('dockerfile', ['Dockerfile', 'Dockerfile.cuda'])
def test_dockerfiles_install_through_setup_env(repo_root, dockerfile):
    text = (repo_root / 'docker' / dockerfile).read_text()
    run_lines = ' '.join(re.findall(r'^RUN .*?(?<!\\)$', text, flags=re.M | re.S))
    assert 'bash tools/setup_env.sh' in run_lines
    assert 'torch==2.13.0' in text  # mmcv 2.1.0 builds against torch 2.13 (C++17)
    assert text.rstrip().endswith('CMD ["python", "-m", "mmdet_dghm"]')


def test_cuda_dockerfile_builds_mmcv_cuda_ops(repo_root):
    text = (repo_root / 'docker' / 'Dockerfile.cuda').read_text()
    assert 'FORCE_CUDA=1' in text and 'TORCH_CUDA_ARCH_LIST' in text


def test_module_entry_point_lists_registered_classes():
    out = subprocess.run([sys.executable, '-m', 'mmdet_dghm'], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.startswith('mmdet_dghm 0.')
    lines = dict(line.strip().split(': ', 1) for line in out.splitlines()[1:])
    for name in ('DGHMCLoss', 'SymmetricCELoss', 'DecoupledRetinaHead'):
        assert name in lines['models'].split(', ')
    assert 'DigestPathDataset' in lines['datasets'].split(', ')
    assert 'DigestPathMetric' in lines['metrics'].split(', ')
