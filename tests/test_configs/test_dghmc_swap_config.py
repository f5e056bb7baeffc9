"""The drop-in swap: a stock mmdet config of each family switched to DGHM-C in one line."""
import copy
import math
import re
from pathlib import Path

import mmdet
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

SWAP_DIR = 'configs/dghmc_swap'
# family: (swap file, stock config it inherits, the model key it swaps, the registered head)
FAMILIES = {
    'retinanet': ('retinanet_r50_fpn_dghmc_1x_coco.py', 'retinanet/retinanet_r50_fpn_1x_coco.py',
                  'bbox_head', 'DecoupledRetinaHead'),
    'fcos': ('fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py',
             'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', 'bbox_head', 'DecoupledFCOSHead'),
    'atss': ('atss_r50_fpn_dghmc_1x_coco.py', 'atss/atss_r50_fpn_1x_coco.py', 'bbox_head',
             'DecoupledATSSHead'),
    'faster-rcnn': ('faster-rcnn_r50_fpn_dghmc_1x_coco.py',
                    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'rpn_head', 'DecoupledRPNHead'),
    'dino': ('dino-4scale_r50_dghmc_8xb2-12e_coco.py', 'dino/dino-4scale_r50_8xb2-12e_coco.py',
             'bbox_head', 'DecoupledDINOHead'),
}
STOCK_ROOT = Path(mmdet.__file__).parent / '.mim/configs'
IMPORTS = "custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)"
SWAP_LINE = re.compile(r"model = dict\((\w+)=dict\(type='(\w+)', loss_cls=dict\(_delete_=True, "
                       r"type='DGHMCLoss', use_sigmoid=True, normalize='mass'\)\)\)  # noqa: E501")


def without_swap(cfg: Config, head_key: str) -> dict:
    """The whole config minus what the swap changes, without mmengine's ``_scope_`` tags."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != '_scope_'}
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return node

    d = strip(copy.deepcopy(cfg.to_dict()))
    del d['model'][head_key]['type'], d['model'][head_key]['loss_cls']
    d.pop('custom_imports', None)
    return d


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_swap_file_is_stock_config_plus_imports_plus_one_model_line(repo_root, family):
    name, stock, head_key, head = FAMILIES[family]
    assert family in name
    code = [line for line in (repo_root / SWAP_DIR / name).read_text().splitlines()
            if line.strip() and not line.startswith('#')]
    assert code[:2] == [f"_base_ = 'mmdet::{stock}'", IMPORTS]
    assert len(code) == 3
    assert SWAP_LINE.fullmatch(code[2]).groups() == (head_key, head)


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_swap_replaces_the_loss_without_leaking_its_arguments(repo_root, family):
    name, stock, head_key, head = FAMILIES[family]
    cfg = Config.fromfile(str(repo_root / SWAP_DIR / name))
    # No gamma / alpha / loss_weight inherited: exactly the one line's dict.
    assert cfg.model[head_key].loss_cls.to_dict() == dict(type='DGHMCLoss', use_sigmoid=True,
                                                              normalize='mass')
    assert cfg.model[head_key].type == head
    assert cfg.custom_imports.to_dict() == dict(imports=['mmdet_dghm'], allow_failed_imports=False)
    stock_cfg = Config.fromfile(str(STOCK_ROOT / stock))
    assert stock_cfg.model[head_key].loss_cls.type == \
        ('CrossEntropyLoss' if family == 'faster-rcnn' else 'FocalLoss')
    assert without_swap(cfg, head_key) == without_swap(stock_cfg, head_key)


def test_swap_builds_and_trains_a_step(repo_root, train_step, make_batch):
    cfg = Config.fromfile(str(repo_root / SWAP_DIR / FAMILIES['retinanet'][0]))
    # COCO pipelines carry no `partially_annotated`: the head falls back to "has boxes".
    log_vars = train_step(cfg, make_batch([None, None], boxes_on=[0]))
    for key in ('loss', 'loss_cls', 'loss_bbox'):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars['loss_cls']) > 0


def two_iteration_config(cfg: Config, data_root: Path, size: int, work_dir: Path,
                         name: str) -> Config:
    """``cfg`` trained for two iterations of batch 2 on the tiny COCO set, CPU."""
    cfg.model.backbone.init_cfg = None
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(data_root), ann_file='annotations.json',
                   data_prefix=dict(img='images/'), metainfo=dict(classes=('person', 'car')))
    dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(size, size), keep_ratio=True),
        dict(type='PackDetInputs'),
    ]
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False,
                                sampler=dict(type='DefaultSampler', shuffle=False))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator', 'param_scheduler'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = name
    return cfg


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_swap_config_trains_two_iterations_on_coco_json(repo_root, tiny_coco, tmp_path, family):
    name, _, head_key, head = FAMILIES[family]
    # DINO keeps its 900 queries: its four feature levels need more than 900 positions.
    size = 256 if family == 'dino' else 128
    ann_file = tiny_coco(num_images=4, size=size)
    cfg = two_iteration_config(Config.fromfile(str(repo_root / SWAP_DIR / name)),
                               ann_file.parent, size, tmp_path / 'work', f'swap_{family}')
    runner = Runner.from_cfg(cfg)
    runner.train()
    model_head = getattr(runner.model, head_key)
    assert type(model_head).__name__ == head
    assert type(model_head.loss_cls).__name__ == 'DGHMCLoss'
    cls_key = 'loss_rpn_cls' if family == 'faster-rcnn' else 'loss_cls'
    for key in ('loss', cls_key):
        history = runner.message_hub.get_scalar(f'train/{key}').data[0]
        assert len(history) == 2 and np.isfinite(history).all(), (key, history)
    assert runner.message_hub.get_scalar(f'train/{cls_key}').data[0][-1] > 0
