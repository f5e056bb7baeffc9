"""mmcv._ext from mmdet_dghm_ops: the finder, the .pth hook, and the naming error."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmdet_dghm_ops import mmcv_ext, site_hook
from mmdet_dghm_ops.__main__ import status
from mmdet_dghm_ops.finder import TorchExtFinder

pytestmark = pytest.mark.torch_ops

REPO = Path(__file__).resolve().parents[2]


def _python(code: str, **env) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ, **env), cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def test_an_op_outside_the_set_raises_naming_it_and_the_fix():
    op = mmcv_ext.deform_conv_forward
    assert op.__name__ == 'deform_conv_forward'
    with pytest.raises(mmcv_ext.MissingOpError) as info:
        op(1, 2)
    assert info.value.op == 'deform_conv_forward'
    message = str(info.value)
    assert message.startswith("mmcv op 'deform_conv_forward' is not available")
    assert 'MMCV_OPS=compiled bash tools/setup_env.sh' in message
    with pytest.raises(AttributeError):
        mmcv_ext.__wrapped__  # noqa: B018  dunder names are not ops


def test_finder_serves_only_mmcv_ext_as_a_fresh_module():
    finder = TorchExtFinder()
    assert finder.find_spec('mmcv.ops') is None
    spec = finder.find_spec('mmcv._ext')
    assert spec.name == 'mmcv._ext' and spec.loader is finder
    module = type(sys)('mmcv._ext')
    finder.exec_module(module)
    assert module.__file__ == mmcv_ext.__file__
    assert module.nms is not mmcv_ext.nms  # its own copy: the plugin's module is untouched
    assert module.MissingOpError.__name__ == 'MissingOpError'
    with pytest.raises(NotImplementedError, match="'bbox_overlaps'"):
        module.bbox_overlaps()


def test_enable_and_disable_write_and_remove_the_pth(tmp_path):
    assert site_hook.disable(str(tmp_path)) is None
    pth = site_hook.enable(str(tmp_path))
    assert pth == tmp_path / 'mmdet_dghm_ops.pth'
    assert pth.read_text() == site_hook.PTH_LINE
    assert site_hook.disable(str(tmp_path)) == pth and not pth.exists()


def test_the_pth_line_installs_the_finder_at_start_up(tmp_path):
    site_hook.enable(str(tmp_path))
    proc = _python(f'import site; site.addsitedir({str(tmp_path)!r}); import sys; '
                   'from mmdet_dghm_ops.finder import TorchExtFinder; '
                   'print(sum(isinstance(f, TorchExtFinder) for f in sys.meta_path), '
                   'type(sys.meta_path[-1]).__name__)',
                   PYTHONPATH=str(REPO))
    # Appended last: asked only after the standard finders (a compiled mmcv._ext wins).
    assert proc.stdout.split() == ['1', 'TorchExtFinder']


def test_the_pth_line_does_nothing_without_the_package(tmp_path):
    pth = site_hook.enable(str(tmp_path))
    # -I -S: no site-packages, no PYTHONPATH: the package cannot be found.
    proc = subprocess.run([sys.executable, '-I', '-S', '-c',
                           f'exec(open({str(pth)!r}).read()); import sys; '
                           'print("mmdet_dghm_ops" in sys.modules)'],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'False'


def test_status_names_the_loaded_extension():
    assert status() in ('compiled', 'torch')


@pytest.mark.parametrize('first', [
    'import mmdet.models',                      # a notebook importing mmdet first
    'import mmcv.ops',
    'import mmdet_dghm',
])
def test_mmcv_ops_load_whichever_is_imported_first(first):
    proc = _python(f'{first}\nimport mmcv._ext, mmdet_dghm\n'
                   'from mmdet_dghm_ops.__main__ import status\n'
                   'print(status(), mmcv._ext.__file__)')
    mode, path = proc.stdout.split()
    assert mode == status()
    assert path.endswith('mmcv_ext.py') == (mode == 'torch')


def test_python_m_mmdet_dghm_lists_the_plugin():
    proc = subprocess.run([sys.executable, '-m', 'mmdet_dghm'], capture_output=True, text=True,
                          timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'DGHMCLoss' in proc.stdout
