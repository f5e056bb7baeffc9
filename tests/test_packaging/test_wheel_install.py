"""The wheel a user installs: self-contained, configs and tools inside, used from elsewhere."""
import subprocess
import sys
import zipfile

import pytest
from checkout_copy import copy_checkout

USER_CONFIG = """_base_ = 'mmdet_dghm::digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'
model = dict(backbone=dict(init_cfg=None))
"""

USER_SCRIPT = """import sys
from pathlib import Path

import mmdet_dghm  # registers the plugin and its config scope
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmdet.registry import MODELS

site = Path(sys.argv[1]).resolve()
assert Path(mmdet_dghm.__file__).resolve().is_relative_to(site), mmdet_dghm.__file__
cfg = Config.fromfile('user_config.py')
init_default_scope('mmdet')
model = MODELS.build(cfg.model)
print('head', type(model.bbox_head).__name__)
print('loss', type(model.bbox_head.loss_cls).__name__)
print('train_root', cfg.train_dataloader.dataset.data_root)
"""


@pytest.fixture(scope='module')
def installed_wheel(tmp_path_factory, repo_root):
    """Build the wheel from a copy of the checkout and install it into a fresh target."""
    work = tmp_path_factory.mktemp('wheel')
    source = copy_checkout(repo_root, work / 'source')
    dist = work / 'dist'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
                    '-q', '-w', str(dist), str(source)], check=True)
    wheel = next(dist.glob('mmdet_dghm-*.whl'))
    site = work / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-deps', '-q', '--target',
                    str(site), str(wheel)], check=True)
    return wheel, site


def test_wheel_ships_library_configs_and_tools_only(installed_wheel):
    wheel, _ = installed_wheel
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split('/')[0] for name in names}
    assert {n for n in top if not n.endswith('.dist-info')} == {'mmdet_dghm', 'mmdet_dghm_ops'}
    for name in ('mmdet_dghm/.mim/configs/digestpath/retinanet_r18_fpn_dghmc_digestpath.py',
                 'mmdet_dghm/.mim/configs/_base_/datasets/digestpath.py',
                 'mmdet_dghm/.mim/configs/dghmc_swap/retinanet_r50_fpn_dghmc_1x_coco.py',
                 'mmdet_dghm/.mim/tools/train.py', 'mmdet_dghm/.mim/tools/test.py'):
        assert name in names, name
    # The research harness and the demo stay in the repository.
    assert not [n for n in names if '/benchmark' in n or '/demo' in n or '/tests/' in n]


def test_installed_wheel_loads_scoped_config_from_another_folder(installed_wheel, tmp_path):
    _, site = installed_wheel
    user = tmp_path / 'user'
    user.mkdir()
    (user / 'user_config.py').write_text(USER_CONFIG)
    (user / 'check.py').write_text(USER_SCRIPT)
    env = dict(__import__('os').environ, PYTHONPATH=str(site))
    proc = subprocess.run([sys.executable, 'check.py', str(site)], cwd=user, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'head DecoupledRetinaHead' in proc.stdout
    assert 'loss DGHMCLoss' in proc.stdout
    assert 'train_root data/digestpath/' in proc.stdout

    info = subprocess.run([sys.executable, '-m', 'mmdet_dghm'], cwd=user, env=env,
                          capture_output=True, text=True, timeout=300)
    assert info.returncode == 0, info.stderr[-3000:]
    assert info.stdout.startswith('mmdet_dghm ')
    assert 'DGHMCLoss' in info.stdout and 'DigestPathDataset' in info.stdout
