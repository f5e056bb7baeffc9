"""The pinned stack's compatibility problems, each fixed and tested on real objects."""
import pickle
import subprocess
import sys
from importlib.metadata import version

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import Runner, load_checkpoint
from mmengine.structures import InstanceData
from torch.utils.data import DataLoader, Dataset

import mmdet_dghm

TINY_RETINANET = dict(
    type='RetinaNet',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3,
                           bgr_to_rgb=True, pad_size_divisor=32),
    backbone=dict(type='ResNet', depth=18, num_stages=4, out_indices=(1, 2, 3),
                  frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(type='FPN', in_channels=[128, 256, 512], out_channels=32, start_level=0,
              add_extra_convs='on_output', num_outs=3),
    bbox_head=dict(type='RetinaHead', num_classes=1, in_channels=32, stacked_convs=1,
                   feat_channels=32,
                   anchor_generator=dict(type='AnchorGenerator', octave_base_scale=4,
                                         scales_per_octave=1, ratios=[1.0], strides=[8, 16, 32]),
                   bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4,
                                   target_stds=[1.0] * 4),
                   loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                                 loss_weight=1.0),
                   loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4,
                                 min_pos_iou=0, ignore_iof_thr=-1),
                   sampler=dict(type='PseudoSampler'), allowed_border=-1, pos_weight=-1,
                   debug=False),
    test_cfg=dict(nms_pre=100, min_bbox_size=0, score_thr=0.05,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=50))


class _GeneratedDetections(Dataset):
    """Random 64x64 images, each with one box; enough for a Runner to train and resume."""

    def __len__(self) -> int:
        return 8

    def __getitem__(self, idx: int) -> dict:
        rng = np.random.default_rng(idx)
        img = torch.from_numpy(rng.integers(0, 255, (3, 64, 64), dtype=np.uint8))
        sample = DetDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                             scale_factor=(1.0, 1.0), img_id=idx))
        x, y = rng.integers(0, 32, 2)
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor([[x, y, x + 24, y + 24]], dtype=torch.float32),
            labels=torch.tensor([0]))
        return dict(inputs=img, data_samples=sample)


def _runner(work_dir, max_iters: int, resume: bool = False) -> Runner:
    register_all_modules(init_default_scope=True)
    loader = DataLoader(_GeneratedDetections(), batch_size=2, shuffle=False,
                        collate_fn=lambda batch: dict(inputs=[b['inputs'] for b in batch],
                                                      data_samples=[b['data_samples']
                                                                    for b in batch]))
    return Runner(
        model=TINY_RETINANET, work_dir=str(work_dir), train_dataloader=loader,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters),
        optim_wrapper=dict(optimizer=dict(type='Adam', lr=1e-3)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume, default_scope='mmdet', randomness=dict(seed=0),
        experiment_name=f'compat_{max_iters}_{resume}')


def test_runner_checkpoint_resumes_under_weights_only_loading(tmp_path):
    runner = _runner(tmp_path, max_iters=2)
    runner.train()
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()
    # The checkpoint really holds numpy objects and a HistoryBuffer: the failure mode we fix.
    with pytest.raises(pickle.UnpicklingError):
        torch.serialization.clear_safe_globals()
        torch.load(ckpt, weights_only=True)
    mmdet_dghm.allow_mmengine_checkpoint_globals()

    resumed = _runner(tmp_path, max_iters=4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    state = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert state['meta']['iter'] == 4
    # Adam's step counter continued from the resumed state rather than restarting at 0.
    steps = {float(s['step']) for s in state['optimizer']['state'].values()}
    assert steps == {4.0}

    # A fresh interpreter (no HistoryBuffer created yet, as in tools/test.py) loads it too.
    code = ('import mmdet_dghm, torch; from mmengine.runner import load_checkpoint; '
            f'ckpt = load_checkpoint(torch.nn.Module(), {str(ckpt)!r}, strict=False); '
            "print(ckpt['meta']['iter'])")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == '2'


class _NotAllowed:
    """Any class outside the allow-list must still be refused by the safe unpickler."""


def test_checkpoint_with_arbitrary_object_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'w': torch.zeros(1)}, 'meta': {'obj': _NotAllowed()}}, path)
    with pytest.raises(pickle.UnpicklingError, match='_NotAllowed'):
        load_checkpoint(torch.nn.Linear(1, 1), str(path))


def test_mmdet_scoped_config_with_custom_imports_builds(tmp_path):
    cfg_file = tmp_path / 'scoped.py'
    cfg_file.write_text(
        "_base_ = 'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py'\n"
        "custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)\n"
        "model = dict(backbone=dict(init_cfg=None))\n")
    cfg = Config.fromfile(str(cfg_file))
    assert cfg.model.backbone.depth == 18
    assert cfg.model.bbox_head.loss_cls.type == 'FocalLoss'
    from mmdet.registry import MODELS
    register_all_modules()
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'RetinaNet'
    assert model.bbox_head.num_classes == 80


def test_setuptools_pin_keeps_pkg_resources_for_mmdet_scope():
    import pkg_resources  # noqa: F401  mmengine resolves `mmdet::` through it
    major = int(version('setuptools').split('.')[0])
    assert 77 <= major < 81


def test_mmcv_compiled_nms_on_cpu():
    from mmcv.ops import batched_nms
    boxes = torch.tensor([[10., 10., 50., 50.],     # kept: highest score
                          [12., 12., 52., 52.],     # IoU 0.82 with box 0, same class: removed
                          [12., 12., 52., 52.],     # same box, other class: kept
                          [100., 100., 140., 140.]])  # disjoint: kept
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6])
    idxs = torch.tensor([0, 0, 1, 0])
    dets, keep = batched_nms(boxes, scores, idxs, dict(type='nms', iou_threshold=0.5))
    assert keep.tolist() == [0, 2, 3]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7, 0.6]))


class _Evil:
    """Pickles as ``getattr(np.ndarray, 'tofile')``: an allowed class, a forbidden attribute."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


def test_getattr_is_only_allowed_for_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'meta': {'obj': _Evil()}}, path)
    with pytest.raises(pickle.UnpicklingError, match='tofile'):
        torch.load(path, weights_only=True)
