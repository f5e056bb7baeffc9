"""The drop-in swap: a stock mmdet config of each family switched to DGHM-C in one line."""
import copy
from pathlib import Path

import mmdet
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

SWAP_DIR = 'configs/dghmc_swap'
DGHMC = dict(type='DGHMCLoss', use_sigmoid=True, normalize='mass')
RPN = ('rpn_head', 'DecoupledRPNHead')
# family: (swap file, the stock config it inherits, the heads it swaps (model key, registered
# head), the classification losses it makes status-aware (model path, log key)).
FAMILIES = {
    'retinanet': ('retinanet_r50_fpn_dghmc_1x_coco.py', 'retinanet/retinanet_r50_fpn_1x_coco.py',
                  [('bbox_head', 'DecoupledRetinaHead')], [('bbox_head.loss_cls', 'loss_cls')]),
    'fcos': ('fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py',
             'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', [('bbox_head', 'DecoupledFCOSHead')],
             [('bbox_head.loss_cls', 'loss_cls')]),
    'atss': ('atss_r50_fpn_dghmc_1x_coco.py', 'atss/atss_r50_fpn_1x_coco.py',
             [('bbox_head', 'DecoupledATSSHead')], [('bbox_head.loss_cls', 'loss_cls')]),
    'faster-rcnn-rpn': ('faster-rcnn_r50_fpn_dghmc-rpn_1x_coco.py',
                        'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', [RPN],
                        [('rpn_head.loss_cls', 'loss_rpn_cls')]),
    'faster-rcnn': ('faster-rcnn_r50_fpn_dghmc_1x_coco.py',
                    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                    [RPN, ('roi_head', 'DecoupledStandardRoIHead')],
                    [('rpn_head.loss_cls', 'loss_rpn_cls'),
                     ('roi_head.bbox_head.loss_cls', 'loss_cls')]),
    'mask-rcnn': ('mask-rcnn_r50_fpn_dghmc_1x_coco.py', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                  [RPN, ('roi_head', 'DecoupledStandardRoIHead')],
                  [('rpn_head.loss_cls', 'loss_rpn_cls'),
                   ('roi_head.bbox_head.loss_cls', 'loss_cls')]),
    'cascade-rcnn': ('cascade-rcnn_r50_fpn_dghmc_1x_coco.py',
                     'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
                     [RPN, ('roi_head', 'DecoupledCascadeRoIHead')],
                     [('rpn_head.loss_cls', 'loss_rpn_cls')] +
                     [(f'roi_head.bbox_head.{s}.loss_cls', f's{s}.loss_cls') for s in range(3)]),
    'dino': ('dino-4scale_r50_dghmc_8xb2-12e_coco.py', 'dino/dino-4scale_r50_8xb2-12e_coco.py',
             [('bbox_head', 'DecoupledDINOHead')], [('bbox_head.loss_cls', 'loss_cls')]),
    'rtmdet': ('rtmdet_tiny_dghmc_8xb32-300e_coco.py', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
               [('bbox_head', 'DecoupledRTMDetSepBNHead')], [('bbox_head.loss_cls', 'loss_cls')]),
    'yolox': ('yolox_s_dghmc_8xb8-300e_coco.py', 'yolox/yolox_s_8xb8-300e_coco.py',
              [('bbox_head', 'DecoupledYOLOXHead')], [('bbox_head.loss_obj', 'loss_obj')]),
}
STOCK_ROOT = Path(mmdet.__file__).parent / '.mim/configs'
IMPORTS = "custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)"


def strip_scope(node):
    """A config dict without mmengine's ``_scope_`` tags."""
    if isinstance(node, dict):
        return {k: strip_scope(v) for k, v in node.items() if k != '_scope_'}
    if isinstance(node, (list, tuple)):
        return type(node)(strip_scope(v) for v in node)
    return node


def swapped_loss_cfgs(cfg: Config, family: str) -> dict:
    """The loss config at each status loss path of the family (the cascade's are built from
    its head's one ``loss_cls``)."""
    model = cfg.model
    found = {}
    for path, _ in FAMILIES[family][3]:
        parts = path.split('.')
        if family == 'cascade-rcnn' and parts[0] == 'roi_head':
            found[path] = model.roi_head.loss_cls.to_dict()
            continue
        node = model
        for part in parts:
            node = node[int(part)] if part.isdigit() else node[part]
        found[path] = node.to_dict()
    return found


def without_swap(cfg: Config, family: str) -> dict:
    """The whole config minus what the swap changes."""
    d = strip_scope(copy.deepcopy(cfg.to_dict()))
    for key, _ in FAMILIES[family][2]:
        del d['model'][key]['type']
    for path, _ in FAMILIES[family][3]:
        parts = path.split('.')
        node = d['model']
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        node.pop(parts[-1], None)
    d['model'].get('roi_head', {}).pop('loss_cls', None)
    d.pop('custom_imports', None)
    return d


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_swap_file_is_stock_config_plus_imports_plus_one_model_line(repo_root, family):
    name, stock, heads, _ = FAMILIES[family]
    code = [line for line in (repo_root / SWAP_DIR / name).read_text().splitlines()
            if line.strip() and not line.startswith('#')]
    assert code[:2] == [f"_base_ = 'mmdet::{stock}'", IMPORTS]
    assert len(code) == 3 and code[2].startswith('model = dict(')
    assert code[2].endswith('  # noqa: E501')
    for key, head in heads:
        assert f"{key}=dict(type='{head}'" in code[2]


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_swap_replaces_the_losses_without_leaking_their_arguments(repo_root, family):
    name, stock, heads, losses = FAMILIES[family]
    cfg = Config.fromfile(str(repo_root / SWAP_DIR / name))
    # No gamma / alpha / loss_weight / reduction inherited: exactly the line's dicts.
    roi_form = dict(DGHMC, roi_classifier=True)
    assert swapped_loss_cfgs(cfg, family) == {
        path: roi_form if path.startswith('roi_head') else DGHMC for path, _ in losses}
    for key, head in heads:
        assert cfg.model[key].type == head
    assert cfg.custom_imports.to_dict() == dict(imports=['mmdet_dghm'], allow_failed_imports=False)
    stock_cfg = Config.fromfile(str(STOCK_ROOT / stock))
    assert without_swap(cfg, family) == without_swap(stock_cfg, family)


def two_iteration_config(cfg: Config, data_root: Path, size: int, work_dir: Path,
                         name: str) -> Config:
    """``cfg`` trained for two iterations of batch 2 on the tiny COCO set, CPU."""
    cfg.model.backbone.init_cfg = None
    if cfg.train_dataloader.dataset.type == 'MultiImageMixDataset':  # YOLOX's mosaic wrapper
        cfg.train_dataloader.dataset = cfg.train_dataloader.dataset.dataset
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(data_root), ann_file='annotations.json',
                   data_prefix=dict(img='images/'), metainfo=dict(classes=('person', 'car')))
    dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask='mask_head' in cfg.model.get(
            'roi_head', {})),
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
# The RPN-only Faster R-CNN is the full swap's RPN half: its file is checked above.
@pytest.mark.parametrize('family', sorted(set(FAMILIES) - {'faster-rcnn-rpn'}))
def test_swap_config_trains_two_iterations_on_coco_json(repo_root, tiny_coco, tmp_path, family):
    name, _, heads, losses = FAMILIES[family]
    # DINO keeps its 900 queries: its four feature levels need more than 900 positions.
    size = 256 if family == 'dino' else 128
    ann_file = tiny_coco(num_images=4, size=size)
    cfg = Config.fromfile(str(repo_root / SWAP_DIR / name))
    # YOLOX: no multi-scale batch resizing or 300-epoch hooks in two iterations.
    cfg.model.data_preprocessor.pop('batch_augments', None)
    cfg.custom_hooks = []
    cfg = two_iteration_config(cfg, ann_file.parent, size, tmp_path / 'work', f'swap_{family}')
    runner = Runner.from_cfg(cfg)
    runner.train()
    for key, head in heads:
        assert type(getattr(runner.model, key)).__name__ == head
    for path, log_key in losses:
        assert type(runner.model.get_submodule(path)).__name__ == 'DGHMCLoss'
        history = runner.message_hub.get_scalar(f'train/{log_key}').data[0]
        assert len(history) == 2 and np.isfinite(history).all(), (log_key, history)
        assert history[-1] > 0
    loss = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(loss) == 2 and np.isfinite(loss).all()
