"""tools/train.py and tools/test.py, and mmdet's own train.py running the plugin configs."""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import mmdet
import pytest
import torch
from mmengine.config import Config

from mmdet_dghm.testing import generate_synthetic_digestpath

REPO = Path(__file__).resolve().parents[2]
LIGHT_DGHMC = 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'
MMDET_TRAIN = Path(mmdet.__file__).parent / '.mim' / 'tools' / 'train.py'
TILE = 128


@pytest.fixture(scope='module')
def tiny_data(tmp_path_factory) -> Path:
    """Two positive and two negative 128 px images: one tile each, one batch of four."""
    root = tmp_path_factory.mktemp('synthetic_digestpath')
    generate_synthetic_digestpath(root, num_pos=2, num_neg=2, image_size=TILE, seed=0)
    return root


def tiny_loader_options(loader: str, root: Path) -> list:
    options = [f'{loader}.dataset.data_root={root}', f'{loader}.dataset.split=all',
               f'{loader}.dataset.tile_size={TILE}', f'{loader}.dataset.tile_stride={TILE}',
               f'{loader}.num_workers=0', f'{loader}.persistent_workers=False']
    if loader == 'train_dataloader':
        # 1 positive + 3 negative tiles per batch (the config's 1:3), crops of 3/4 as 600/800.
        options += [f'{loader}.batch_size=4', f'{loader}.dataset.pipeline.2.crop_size=96']
    return options


def run(args: list, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND='Agg')
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def logged_train_losses(work_dir: Path) -> list:
    """Per-iteration loss records of mmengine's ``vis_data/scalars.json``."""
    (scalars, ) = work_dir.glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    return [r for r in records if 'loss_cls' in r]


def test_train_cli_sets_config(tmp_path, load_tool):
    train = load_tool('train')
    config = str(REPO / LIGHT_DGHMC)

    cfg = train.train_config(train.parse_args([config]))
    assert cfg.work_dir == './work_dirs/retinanet_r18-light_fpn_dghmc_digestpath'
    assert (cfg.launcher, cfg.resume, cfg.optim_wrapper.type) == ('none', False, 'OptimWrapper')

    cfg = train.train_config(train.parse_args([
        config, '--work-dir', str(tmp_path), '--amp', '--resume', '--launcher', 'pytorch',
        '--cfg-options', 'model.backbone.init_cfg=None', 'train_cfg.max_epochs=2']))
    assert cfg.work_dir == str(tmp_path)
    assert (cfg.optim_wrapper.type, cfg.optim_wrapper.loss_scale) == ('AmpOptimWrapper', 'dynamic')
    assert (cfg.resume, cfg.load_from) == (True, None)
    assert cfg.launcher == 'pytorch'
    assert cfg.model.backbone.init_cfg is None and cfg.train_cfg.max_epochs == 2

    cfg = train.train_config(train.parse_args([config, '--resume', 'ckpt.pth', '--auto-scale-lr']))
    assert (cfg.resume, cfg.load_from) == (True, 'ckpt.pth')
    assert cfg.auto_scale_lr.enable is True and cfg.auto_scale_lr.base_batch_size == 8
    assert train.parse_args([config, '--local-rank', '3']).local_rank == 3


def test_test_cli_sets_config(tmp_path, load_tool):
    test_tool = load_tool('test')
    config = str(REPO / LIGHT_DGHMC)
    cfg = test_tool.load_test_config(test_tool.parse_args(
        [config, 'model.pth', '--work-dir', str(tmp_path), '--show-dir', 'vis']))
    assert cfg.load_from == 'model.pth' and cfg.work_dir == str(tmp_path)
    vis_hook = cfg.default_hooks.visualization
    assert (vis_hook.draw, vis_hook.test_out_dir) == (True, 'vis')
    with pytest.raises(SystemExit):
        test_tool.parse_args([config, 'model.pth', '--out', 'results.json'])


@pytest.fixture(scope='module')
def mmdet_train_run(tiny_data, tmp_path_factory) -> Path:
    """mmdet's unmodified tools/train.py on the light DGHM-C config, one iteration, seed 0."""
    work_dir = tmp_path_factory.mktemp('mmdet_train')
    run([MMDET_TRAIN, LIGHT_DGHMC, '--work-dir', work_dir, '--cfg-options',
         *tiny_loader_options('train_dataloader', tiny_data), 'train_cfg.max_epochs=1',
         'val_dataloader=None', 'val_cfg=None', 'val_evaluator=None',
         'default_hooks.logger.interval=1', 'randomness.seed=0'], cwd=REPO)
    return work_dir


@pytest.mark.slow
@pytest.mark.torch_ops
def test_mmdet_train_script_runs_plugin_config(mmdet_train_run):
    """custom_imports alone brings in the plugin: the model trained is the plugin's."""
    checkpoint = torch.load(mmdet_train_run / 'epoch_1.pth', map_location='cpu',
                            weights_only=False)
    cfg = Config.fromstring(checkpoint['meta']['cfg'], '.py')
    assert (cfg.model.bbox_head.type, cfg.model.bbox_head.loss_cls.type) == \
        ('DecoupledRetinaHead', 'DGHMCLoss')
    assert len(logged_train_losses(mmdet_train_run)) == 1  # 4 tiles / batch 4: one iteration


@pytest.mark.slow
def test_own_train_then_test_tools(tiny_data, tmp_path, mmdet_train_run):
    work_dir = tmp_path / 'work'
    run([REPO / 'tools/train.py', LIGHT_DGHMC, '--work-dir', work_dir, '--cfg-options',
         *tiny_loader_options('train_dataloader', tiny_data),
         *tiny_loader_options('val_dataloader', tiny_data), 'train_cfg.max_epochs=1',
         'default_hooks.logger.interval=1', 'randomness.seed=0'], cwd=REPO)
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()
    # The same seed, data and config: the same losses as mmdet's own script.
    (record, ) = logged_train_losses(work_dir)
    (reference, ) = logged_train_losses(mmdet_train_run)
    assert {k: record[k] for k in ('loss', 'loss_cls', 'loss_bbox')} == \
        {k: reference[k] for k in ('loss', 'loss_cls', 'loss_bbox')}

    out = tmp_path / 'results.pkl'
    proc = run([REPO / 'tools/test.py', LIGHT_DGHMC, checkpoint, '--work-dir', work_dir,
                '--out', out, '--cfg-options',
                *tiny_loader_options('test_dataloader', tiny_data)], cwd=REPO)
    assert 'Epoch(test)' in proc.stdout + proc.stderr
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 4  # one 128 px tile per image
    assert {Path(r['img_path']).parent.name for r in results} == {'sig-train-pos',
                                                                  'sig-train-neg'}
