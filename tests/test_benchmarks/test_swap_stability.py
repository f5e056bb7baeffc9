"""The swap stability benchmark: what it reduces in a stock config, and how it reads a run."""
import json
import math

from benchmarks import swap_stability


def args(*extra):
    return swap_stability.parse_args(['--iters', '300', '--size', '256', *extra])


def test_only_depth_size_schedule_and_batch_rate_are_reduced(tmp_path):
    cfg = swap_stability.reduced_config('retinanet', 'stock', args(), tmp_path, tmp_path)
    assert cfg.model.backbone.depth == 18 and cfg.model.backbone.init_cfg is None
    assert cfg.model.neck.in_channels == [64, 128, 256, 512]
    assert cfg.model.bbox_head.loss_cls.type == 'FocalLoss'  # the stock config's own loss
    assert cfg.optim_wrapper.optimizer.to_dict() == dict(type='SGD', lr=0.01, momentum=0.9,
                                                         weight_decay=0.0001)
    assert 'clip_grad' not in cfg.optim_wrapper or cfg.optim_wrapper.clip_grad is None
    assert cfg.auto_scale_lr.to_dict() == dict(enable=True, base_batch_size=16)
    assert cfg.train_cfg.max_iters == 300
    assert cfg.train_dataloader.dataset.pipeline[2].scale == (256, 256)
    unscaled = swap_stability.reduced_config('retinanet', 'dghmc', args('--no-lr-scaling'),
                                             tmp_path, tmp_path)
    assert unscaled.auto_scale_lr.enable is False
    assert unscaled.model.bbox_head.type == 'DecoupledRetinaHead'
    assert unscaled.model.bbox_head.loss_cls.normalize == 'mass'
    yolox = swap_stability.reduced_config('yolox', 'pu', args(), tmp_path, tmp_path)
    assert yolox.model.bbox_head.loss_obj.type == 'PULoss'
    assert 'batch_augments' not in yolox.model.data_preprocessor


def test_logged_classification_losses_sum_every_stage_and_the_table_flags_divergence(
        tmp_path):
    vis = tmp_path / 'run' / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    lines = [dict(iter=i, loss_rpn_cls=0.5, loss_cls=0.25, **{'s1.loss_cls': 0.125},
                  loss_bbox=9.0) for i in (1, 2)]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(line) for line in lines))
    assert swap_stability.cls_losses(tmp_path / 'run', ('loss_rpn_cls', 'loss_cls')) == \
        [0.875, 0.875]
    record = dict(family='retinanet', loss='stock', loss_cls=[2.0] * 10 + [1.0] * 50,
                  error=None, optimizer='SGD', clip_grad=None, cls_loss_cfg=None, iters=60,
                  size=256, batch_size=2, warmup=5, seed=0, drop=0.7, command='x')
    assert swap_stability.summary(record) == dict(start='2', end='1', ratio='0.50',
                                                  finite='yes (60)')
    diverged = dict(record, loss_cls=[2.0] * 39 + [math.nan] * 21)
    assert swap_stability.summary(diverged)['finite'] == 'no: non-finite at 40'
    text = swap_stability.table([record, dict(diverged, loss='dghmc')])
    assert '| retinanet | stock | SGD | none | 2 | 1 | 0.50 | yes (60) |' in text
    assert '**1 of 2 runs stay finite with a falling classification loss**; not: ' \
        'retinanet / dghmc.' in text


def test_mask_and_dino_families_keep_their_stock_optimizers_and_train_on_masks(tmp_path):
    mask = swap_stability.reduced_config('mask-rcnn', 'dghmc', args(), tmp_path, tmp_path)
    assert mask.model.roi_head.type == 'DecoupledStandardRoIHead'
    assert (mask.model.roi_head.bbox_head.num_classes, mask.model.roi_head.mask_head.num_classes) \
        == (2, 2)
    assert mask.train_dataloader.dataset.pipeline[1].with_mask is True
    dino = swap_stability.reduced_config('dino', 'stock', args(), tmp_path, tmp_path)
    assert dino.model.bbox_head.loss_cls.type == 'FocalLoss'
    assert dino.optim_wrapper.optimizer.type == 'AdamW'
    assert dino.optim_wrapper.clip_grad.max_norm == 0.1
    assert dino.model.neck.in_channels == [128, 256, 512]
    assert dino.train_dataloader.dataset.pipeline[1].with_mask is False


def test_every_synthetic_box_carries_its_inscribed_ellipse_as_mask():
    polygon = swap_stability.ellipse_polygon(10, 20, 30, 60, vertices=4)
    assert polygon == [30.0, 40.0, 20.0, 60.0, 10.0, 40.0, 20.0, 20.0]
