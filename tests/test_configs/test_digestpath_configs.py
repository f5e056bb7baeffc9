"""The paper's DigestPath configs: settings, one-line loss differences, a training step each."""
import copy
import functools
import math

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

CONFIG_DIR = 'configs/digestpath'
LOSSES = ['ce', 'focal', 'ghmc', 'sce', 'dghmc', 'dghmc-star', 'cleanonly', 'pu', 'brl']
VARIANTS = ['r18', 'r18-light']
EXPECTED_LOSS = {
    'ce': dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
    'focal': dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
    'ghmc': dict(type='GHMC', bins=10, momentum=0, use_sigmoid=True, loss_weight=1.0),
    'sce': dict(type='SymmetricCELoss', use_sigmoid=True, alpha=0.01, beta=1.0, loss_weight=1.0),
    'dghmc': dict(type='DGHMCLoss', use_sigmoid=True, bins=10, mu_noisy=2.0, mu_clean=0.5,
                  outlier_thr=0.9, loss_weight=1.0),
    'dghmc-star': dict(type='DGHMCLoss', use_sigmoid=True, bins=10, mu_noisy=2.0, mu_clean=0.5,
                       outlier_thr=0.9, decouple='full', loss_weight=1.0),
    'cleanonly': dict(type='CleanOnlyLoss', use_sigmoid=True, base='ce', loss_weight=1.0),
    'pu': dict(type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.7, base='ce',
               loss_weight=1.0),
    'brl': dict(type='BackgroundRecalibrationLoss', use_sigmoid=True, mode='partial', gamma=2.0,
                alpha=0.25, thresh=0.5, beta=1.0, candidate_weight=0.1, loss_weight=1.0),
}


@functools.lru_cache(maxsize=None)
def parse(path: str) -> Config:
    return Config.fromfile(path)


def load(repo_root, variant: str, loss: str) -> Config:
    """A private copy of the parsed config (each file is parsed once per session)."""
    name = f'retinanet_{variant}_fpn_{loss}_digestpath.py'
    return copy.deepcopy(parse(str(repo_root / CONFIG_DIR / name)))


def without_loss_cls(cfg: Config) -> dict:
    d = copy.deepcopy(cfg.to_dict())
    del d['model']['bbox_head']['loss_cls']
    return d


@pytest.mark.parametrize('variant', VARIANTS)
@pytest.mark.parametrize('loss', LOSSES)
def test_config_differs_from_focal_by_loss_only(repo_root, variant, loss):
    cfg = load(repo_root, variant, loss)
    assert cfg.model.bbox_head.loss_cls.to_dict() == EXPECTED_LOSS[loss]
    assert without_loss_cls(cfg) == without_loss_cls(load(repo_root, variant, 'focal'))
    assert cfg.custom_imports.imports == ['mmdet_dghm']


def test_light_variant_differs_only_in_width_and_init(repo_root):
    full = load(repo_root, 'r18', 'focal').to_dict()
    light = load(repo_root, 'r18-light', 'focal').to_dict()
    assert full['model']['backbone']['init_cfg'] == dict(type='Pretrained',
                                                         checkpoint='torchvision://resnet18')
    backbone = full['model']['backbone']
    assert (backbone['frozen_stages'], backbone['norm_eval']) == (1, True)
    # From random weights every stage and every BatchNorm must train.
    backbone = light['model']['backbone']
    assert backbone['init_cfg'] is None
    assert (backbone['frozen_stages'], backbone['norm_eval']) == (-1, False)
    assert light['model']['neck']['out_channels'] == 64
    head = light['model']['bbox_head']
    assert (head['in_channels'], head['feat_channels'], head['stacked_convs']) == (64, 64, 2)
    for key in ('backbone', 'neck', 'bbox_head'):
        for sub in (full['model'], light['model']):
            del sub[key]
    assert full == light


def test_paper_settings(repo_root):
    cfg = load(repo_root, 'r18', 'dghmc')
    assert cfg.model.backbone.depth == 18
    assert cfg.model.neck.in_channels == [64, 128, 256, 512]
    head = MODELS.build(cfg.model.bbox_head)
    assert head.num_classes == 1 and head.cls_out_channels == 1
    assert head.cls_loss_mode == 'all_levels' and bool(head.status_taking_losses())
    # Base anchors are ratio-major: row 3 is ratio 1, first scale. Sides 16..256 on P3-P7.
    sides = [float(a[3, 2] - a[3, 0]) for a in head.prior_generator.base_anchors]
    assert sides == [16.0, 32.0, 64.0, 128.0, 256.0]
    assert cfg.model.bbox_head.loss_bbox.to_dict() == dict(type='SmoothL1Loss', beta=0.11,
                                                           loss_weight=1.0)
    assert cfg.optim_wrapper.optimizer.type == 'Adam'
    assert cfg.optim_wrapper.optimizer.lr == 1e-4
    (step, ) = cfg.param_scheduler
    assert (step.type, step.milestones, step.gamma) == ('MultiStepLR', [9, 12], 0.1)
    assert cfg.train_cfg.max_epochs == 14
    assert cfg.train_dataloader.batch_size == 8


@pytest.mark.parametrize('loss', LOSSES)
def test_full_config_builds(repo_root, loss):
    cfg = load(repo_root, 'r18', loss)
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    assert type(model.bbox_head.loss_cls).__name__ == EXPECTED_LOSS[loss]['type']
    assert bool(model.bbox_head.status_taking_losses()) == (loss.startswith('dghmc')
                                                      or loss in ('cleanonly', 'pu', 'brl'))
    assert model.bbox_head.retina_cls.out_channels == 9  # 9 anchors x 1 sigmoid class


@pytest.mark.parametrize('loss', LOSSES)
def test_light_config_trains_a_step(repo_root, train_step, make_batch, loss):
    """Two partially annotated images (one with boxes, one without) and a normal one."""
    cfg = load(repo_root, 'r18-light', loss)
    log_vars = train_step(cfg, make_batch([True, True, False], boxes_on=[0]))
    for key in ('loss', 'loss_cls', 'loss_bbox'):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars['loss_cls']) > 0 and float(log_vars['loss_bbox']) > 0


@pytest.mark.parametrize('loss', ['ce', 'pu'])
def test_self_training_config_is_its_loss_at_its_teachers_thresholds(repo_root, loss):
    """The model trained on the pseudo-labels is the plain one; the tool's settings are the
    teacher's of the same loss, with no uncertain band (VOC XML has no ignored boxes)."""
    selftrain = parse(str(repo_root / CONFIG_DIR / f'retinanet_r18-light_fpn_selftrain-{loss}'
                          '_digestpath.py')).to_dict()
    settings = selftrain.pop('pseudo_label_cfg')
    assert selftrain == load(repo_root, 'r18-light', loss).to_dict()
    teacher = parse(str(repo_root / CONFIG_DIR / f'retinanet_r18-light_fpn_teacher-{loss}'
                        '_digestpath.py')).model.semi_train_cfg
    assert settings == dict(pos_thr=teacher.pos_thr, ignore_thr=teacher.pos_thr,
                            iou_thr=teacher.iou_thr,
                            max_per_annotated=teacher.max_per_annotated)
    assert teacher.ignore_thr < teacher.pos_thr
