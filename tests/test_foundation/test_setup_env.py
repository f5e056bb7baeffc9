"""tools/setup_env.sh on an environment it already built: checks only, installs nothing."""
import os
import subprocess
import sys

import pytest

from mmdet_dghm_ops.__main__ import status


@pytest.mark.torch_ops
def test_second_setup_run_changes_nothing(repo_root):
    # No MMCV_OPS: a second run keeps the mode the environment has (make exports the setting).
    env = {k: v for k, v in os.environ.items() if k != 'MMCV_OPS'}
    env['VENV'] = sys.prefix
    proc = subprocess.run(['bash', str(repo_root / 'tools' / 'setup_env.sh')], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert 'installing' not in out, out
    mode = status()
    mmcv_line = {'compiled': 'mmcv 2.1.0 with compiled ops ok', 'torch': 'mmcv-lite 2.1.0 ok'}
    for line in ('torch ok', f'MMCV_OPS={mode} (the environment has', mmcv_line[mode],
                 'mmdet_dghm ok', f'mmcv._ext: {mode} ops ok'):
        assert line in out, out
