"""Offline installation from a wheel folder: ``tools/make_wheelhouse.sh`` makes the folder and
``tools/setup_env.sh`` with ``WHEELHOUSE=DIR OFFLINE=1`` installs from it alone.

Nothing is downloaded: this environment's distributions, rebuilt as wheels, are the only package
source ``make_wheelhouse.sh`` sees, and the fresh environment gets this environment's torch
through a ``.pth`` file, as a machine with its own (CUDA) torch has it. The ops mode installed is
the one this environment has (``-m torch_ops`` runs it in a torch-ops environment).
"""
import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest
from checkout_copy import copy_checkout
from installed_dists import link_into, repack, requirement_closure
from packaging.utils import canonicalize_name, parse_wheel_filename

from mmdet_dghm_ops.__main__ import status

MODE = status()
MMCV = {'torch': 'mmcv-lite', 'compiled': 'mmcv'}.get(MODE)
PY_VERSION = '%d.%d' % sys.version_info[:2]
#: Settings of the set-up scripts that `make` exports; each test names its own.
SETUP_VARIABLES = ('VIRTUAL_ENV', 'VENV', 'WHEELHOUSE', 'OFFLINE', 'MMCV_OPS', 'TORCH_SPEC',
                   'EXTRAS')
CHECK = """import mmdet, mmdet_dghm, torch
from mmdet_dghm_ops.__main__ import status
print(torch.__file__, mmdet.__file__, mmdet.__version__, mmdet_dghm.__file__, status())
"""


def _env(**settings) -> dict:
    """This environment without pip's configuration, sources or an index, plus ``settings``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith('PIP_') and k not in SETUP_VARIABLES}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX='1', PIP_DISABLE_PIP_VERSION_CHECK='1',
               OMP_NUM_THREADS='1', **settings)
    return env


@pytest.fixture(scope='module')
def wheelhouse(tmp_path_factory, repo_root):
    """(checkout copy, folder made by make_wheelhouse.sh, names of the rebuilt distributions)."""
    if MMCV is None:
        pytest.skip('mmcv._ext does not load in this environment: no ops mode to install')
    work = tmp_path_factory.mktemp('offline')
    source = copy_checkout(repo_root, work / 'source')
    index = work / 'index'
    index.mkdir()
    needed = requirement_closure(['mmdet-dghm[tests]', MMCV, 'setuptools', 'wheel', 'packaging'],
                                 exclude=['torch'])
    del needed['mmdet-dghm']  # make_wheelhouse.sh builds it from the checkout
    rebuilt = [repack(dist, index) for dist in needed.values()]
    args = ['bash', str(source / 'tools' / 'make_wheelhouse.sh'), str(work / 'wheels'),
            '--python', PY_VERSION]
    if MODE == 'compiled':
        args += ['--mmcv-wheel', str(next(w for w in rebuilt if w.name.startswith('mmcv-')))]
    proc = subprocess.run(args, env=_env(PIP_FIND_LINKS=str(index), PYTHON=sys.executable),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return source, work / 'wheels', set(needed)


@pytest.fixture(scope='module')
def torch_site(tmp_path_factory) -> Path:
    """This environment's torch and its dependencies, linked into a folder of their own."""
    return link_into(requirement_closure(['torch']).values(),
                     tmp_path_factory.mktemp('torch_site'))


def _fresh_venv(path: Path, torch_site: Optional[Path]) -> Path:
    """A new virtual environment, given ``torch_site`` through a ``.pth`` file if not None."""
    subprocess.run([sys.executable, '-m', 'venv', str(path)], check=True, timeout=120)
    if torch_site is not None:
        site = subprocess.run([str(path / 'bin' / 'python'), '-c',
                               'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                              capture_output=True, text=True, check=True).stdout.strip()
        (Path(site) / 'torch_site.pth').write_text(f'{torch_site}\n')
    return path


def _setup_offline(source: Path, venv: Path, wheels: Path, **settings):
    return subprocess.run(['bash', str(source / 'tools' / 'setup_env.sh')],
                          env=_env(VENV=str(venv), WHEELHOUSE=str(wheels), OFFLINE='1',
                                   **settings),
                          capture_output=True, text=True, timeout=600)


def _folder_without(wheels: Path, dest: Path, prefix: str) -> Path:
    """``wheels`` (linked, not copied) less the wheels whose file name starts with ``prefix``."""
    dest.mkdir()
    for wheel in wheels.glob('*.whl'):
        if not wheel.name.startswith(prefix):
            os.link(wheel, dest / wheel.name)
    return dest


def test_wheelhouse_holds_the_project_and_its_stack_but_no_torch(wheelhouse):
    _, wheels, needed = wheelhouse
    names = {canonicalize_name(parse_wheel_filename(w.name)[0]) for w in wheels.glob('*.whl')}
    assert names == needed | {'mmdet-dghm'}
    assert {'mmengine', 'mmdet', MMCV, 'setuptools', 'pytest'} <= names
    assert 'torch' not in names and 'sympy' not in names


@pytest.mark.torch_ops
def test_offline_setup_installs_from_the_folder_and_keeps_the_torch(wheelhouse, torch_site,
                                                                    tmp_path):
    source, wheels, _ = wheelhouse
    venv = _fresh_venv(tmp_path / 'venv', torch_site)
    proc = _setup_offline(source, venv, wheels)
    out = proc.stdout
    assert proc.returncode == 0, out[-4000:] + proc.stderr[-3000:]
    assert f'offline: every package comes from {wheels} (pip --no-index)' in out
    assert 'torch ok' in out and 'installing torch' not in out, out
    why = {'compiled': 'WHEELHOUSE holds mmcv-2.1.0-', 'torch': 'no mmcv 2.1.0 wheel'}[MODE]
    assert f'MMCV_OPS={MODE} ({why}' in out, out

    check = subprocess.run([str(venv / 'bin' / 'python'), '-c', CHECK], cwd=tmp_path,
                           env=_env(), capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr[-3000:]
    torch_file, mmdet_file, mmdet_version, plugin_file, ops = check.stdout.split()
    assert Path(torch_file).is_relative_to(torch_site)  # the environment's torch, not a copy
    assert not list((venv / 'lib').glob('python*/site-packages/torch'))
    assert Path(mmdet_file).is_relative_to(venv) and mmdet_version == '3.3.0'
    assert Path(plugin_file).is_relative_to(source)  # editable, from the checkout
    assert ops == MODE


def test_offline_setup_names_the_folder_and_the_missing_package(wheelhouse, torch_site,
                                                               tmp_path):
    source, wheels, _ = wheelhouse
    partial = _folder_without(wheels, tmp_path / 'partial', 'mmengine-')
    proc = _setup_offline(source, _fresh_venv(tmp_path / 'venv', torch_site), partial)
    assert proc.returncode == 1
    assert f'ERROR: {partial} holds no wheel of mmengine' in proc.stdout, proc.stdout[-3000:]


def test_offline_setup_without_torch_names_the_folder(wheelhouse, tmp_path):
    source, wheels, _ = wheelhouse
    proc = _setup_offline(source, _fresh_venv(tmp_path / 'venv', None), wheels)
    assert proc.returncode == 1
    assert f'has no torch and {wheels} holds no torch wheel' in proc.stdout, proc.stdout[-3000:]
    assert 'installing torch' not in proc.stdout


def test_offline_compiled_setup_needs_the_mmcv_wheel(wheelhouse, torch_site, tmp_path):
    source, wheels, _ = wheelhouse
    folder = _folder_without(wheels, tmp_path / 'no_mmcv', 'mmcv-')
    proc = _setup_offline(source, _fresh_venv(tmp_path / 'venv', torch_site), folder,
                          MMCV_OPS='compiled')
    assert proc.returncode == 1
    assert f'{folder} holds no mmcv 2.1.0 wheel' in proc.stdout, proc.stdout[-3000:]
    assert 'installing mmcv' not in proc.stdout
