"""The Faster R-CNN DigestPath configs: the light RetinaNet's backbone, neck, data, schedule and
evaluation under an RPN and an RoI head; the four arms of the two-stage comparison differ in
their loss lines only, with the RetinaNet configs' settings of DGHM-C and PU (PU's RPN with a
fixed prior in place of the missing rate: its sampler keeps a few hundred of the anchors)."""
import copy
import functools
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

CONFIG_DIR = 'configs/digestpath'
ARMS = ['ce', 'dghmc-rpn', 'dghmc', 'pu']
RPN_CE = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
ROI_CE = dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)
#: arm: (the RPN's loss, the RoI classifier's loss); a RetinaNet loss name stands for that
#: config's ``loss_cls``, in the RoI form (``roi_classifier=True``) on the RoI head.
ARM_LOSSES = {'ce': (RPN_CE, ROI_CE), 'dghmc-rpn': ('dghmc', ROI_CE),
              'dghmc': ('dghmc', 'dghmc'), 'pu': ('pu', 'pu')}
#: What an arm's RPN loss changes of the RetinaNet loss it names: PU's prior measured before
#: the RPN's sampler (tools/pu_prior.py on the synthetic Table 4 data at 70% missing).
RPN_CHANGES = {'pu': dict(remove='missing_rate', prior=7.3e-4)}


@functools.lru_cache(maxsize=None)
def parse(path: str) -> Config:
    return Config.fromfile(path)


def load(repo_root, name: str) -> Config:
    return copy.deepcopy(parse(str(repo_root / CONFIG_DIR / f'{name}_digestpath.py')))


def frcnn(repo_root, arm: str) -> Config:
    return load(repo_root, f'faster-rcnn_r18-light_fpn_{arm}')


def retina(repo_root, loss: str) -> Config:
    return load(repo_root, f'retinanet_r18-light_fpn_{loss}')


def losses(cfg: Config) -> tuple:
    return (cfg.model.rpn_head.loss_cls.to_dict(),
            cfg.model.roi_head.bbox_head.loss_cls.to_dict())


def without_losses(cfg: Config) -> dict:
    d = copy.deepcopy(cfg.to_dict())
    del d['model']['rpn_head']['loss_cls'], d['model']['roi_head']['bbox_head']['loss_cls']
    return d


@pytest.mark.parametrize('arm', ARMS)
def test_arms_differ_from_ce_by_their_losses_only(repo_root, arm):
    cfg = frcnn(repo_root, arm)
    rpn, roi = ARM_LOSSES[arm]
    if isinstance(rpn, str):
        rpn = retina(repo_root, rpn).model.bbox_head.loss_cls.to_dict()
        changes = dict(RPN_CHANGES.get(arm, {}))
        rpn.pop(changes.pop('remove', None), None)
        rpn.update(changes)
    if isinstance(roi, str):
        roi = dict(retina(repo_root, roi).model.bbox_head.loss_cls.to_dict(), roi_classifier=True)
    assert losses(cfg) == (rpn, roi)
    assert without_losses(cfg) == without_losses(frcnn(repo_root, 'ce'))


def test_ce_arm_is_the_light_retinanet_but_for_the_detector(repo_root):
    cfg, light = frcnn(repo_root, 'ce').to_dict(), retina(repo_root, 'ce').to_dict()
    model, retina_model = cfg.pop('model'), light.pop('model')
    # Data, schedule, runtime, hooks and evaluation: the RetinaNet config's.
    assert cfg == light
    assert model['type'] == 'FasterRCNN'
    for key in ('data_preprocessor', 'backbone', 'neck'):
        assert model[key] == retina_model[key]
    assert model['rpn_head']['anchor_generator'] == retina_model['bbox_head']['anchor_generator']
    width = retina_model['neck']['out_channels']
    assert (model['rpn_head']['in_channels'], model['rpn_head']['feat_channels']) == (width,
                                                                                     width)
    roi = model['roi_head']
    assert roi['bbox_roi_extractor']['out_channels'] == roi['bbox_head']['in_channels'] == width
    assert (roi['bbox_head']['num_classes'], roi['bbox_head']['fc_out_channels']) == (1, 256)
    # Boxes the dataset flags ignored stay out of both stages, as out of RetinaNet's anchors.
    ignore = retina_model['train_cfg']['assigner']['ignore_iof_thr']
    train = model['train_cfg']
    assert train['rpn']['assigner']['ignore_iof_thr'] == ignore == 0.5
    assert train['rcnn']['assigner']['ignore_iof_thr'] == ignore
    # FROC's full ranking: no score threshold, RetinaNet's box budget, from enough proposals.
    test, retina_test = model['test_cfg'], retina_model['test_cfg']
    assert test['rcnn']['score_thr'] == retina_test['score_thr'] == 0.0
    assert test['rcnn']['max_per_img'] == retina_test['max_per_img'] == 500
    assert test['rpn']['nms_pre'] >= test['rpn']['max_per_img'] >= test['rcnn']['max_per_img']


@pytest.mark.parametrize('arm', ARMS)
def test_arm_trains_a_step_and_predicts_every_proposal(repo_root, make_batch, arm):
    cfg = frcnn(repo_root, arm)
    cfg.model.backbone.init_cfg = None
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    status_rpn, status_roi = (arm != 'ce', arm in ('dghmc', 'pu'))
    assert bool(model.rpn_head.status_taking_losses()) == status_rpn
    assert bool(model.roi_head.status_taking_losses()) == status_roi
    # The RoI form: one sigmoid channel for the one class; CE keeps the 2-way softmax.
    assert model.roi_head.bbox_head.fc_cls.out_features == (1 if status_roi else 2)

    # Two partially annotated images (one with boxes, one without) and a normal one.
    data = make_batch([True, True, False], boxes_on=[0])
    model.train()
    with DefaultScope.overwrite_default_scope('mmdet'):
        log_vars = model.train_step(data, optim_wrapper)
    for key in ('loss', 'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars['loss_rpn_cls']) > 0 and float(log_vars['loss_cls']) > 0
    model.eval()
    with torch.no_grad(), DefaultScope.overwrite_default_scope('mmdet'):
        predictions = model.test_step(data)
    # Scores of a model one step from initialisation sit near 0.5 for every box: what caps
    # the detections is the NMS of the proposals, not a score threshold, and it leaves more
    # than the 32 false positives per image FROC ranks down to.
    for sample in predictions:
        assert 32 < len(sample.pred_instances) <= 500
