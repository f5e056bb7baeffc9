"""The shipped partial-annotation dataset bases deliver the status to the head; a pipeline
that drops it is refused when the dataset is built, naming ``meta_keys``."""
import copy
import functools
import json
import warnings
from pathlib import Path

import pytest
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.models.losses import DGHMCLoss
from mmdet_dghm.structures.annotation_status import StatusFallbackWarning

COCO_CONFIG = 'configs/partial_coco/retinanet_r50_fpn_dghmc_1x_partial-coco.py'
LVIS_BASE = 'configs/_base_/datasets/partial_lvis_v1_detection.py'
STOCK_PACK = dict(type='PackDetInputs')  # mmdet's default meta_keys: no status
SIZE = 64


def small(cfg: Config, ann_file: Path, work_dir: Path) -> Config:
    """``cfg`` on the tiny json, 64 px, two iterations of batch 2 in file order, CPU."""
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.num_classes = 2
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(ann_file.parent), ann_file=ann_file.name,
                   data_prefix=dict(img='images/'), metainfo=dict(classes=('person', 'car')))
    dataset.pipeline[2] = dict(type='Resize', scale=(SIZE, SIZE), keep_ratio=True)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False,
                                sampler=dict(type='DefaultSampler', shuffle=False),
                                batch_sampler=None)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=100)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator', 'param_scheduler'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.work_dir = str(work_dir)
    return cfg


@pytest.fixture
def partial_coco(tiny_coco) -> Path:
    """Four images: every class partial / 'car' (id 3) partial / exhaustive / exhaustive."""
    return tiny_coco(num_images=4, size=SIZE, image_fields=[
        dict(partially_annotated=True), dict(partial_category_ids=[3]), {}, {}])


@pytest.mark.slow
def test_partial_coco_config_brings_the_status_to_the_loss(repo_root, partial_coco, tmp_path,
                                                           monkeypatch):
    masks = []
    stock = DGHMCLoss.forward

    @functools.wraps(stock)
    def spy(self, *args, **kwargs):
        masks.append(kwargs['partial'])
        return stock(self, *args, **kwargs)

    monkeypatch.setattr(DGHMCLoss, 'forward', spy)
    cfg = small(Config.fromfile(str(repo_root / COCO_CONFIG)), partial_coco, tmp_path)
    runner = Runner.from_cfg(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter('error', StatusFallbackWarning)
        runner.train()
    assert len(masks) == 2
    # Batch 1 (images 1, 2): all-partial and per-class 'car' -> a (N, C) mask, half of the
    # anchors (level-major, image-major within a level) of each image.
    first, second = masks
    assert first.dim() == 2 and first.shape[1] == 2
    rows = {pattern: int((first == torch.tensor(pattern)).all(1).sum())
            for pattern in ((True, True), (False, True))}
    assert rows[(True, True)] == rows[(False, True)] == first.shape[0] // 2
    # Batch 2 (images 3, 4): both exhaustive -> the compact (N,) mask, all clean.
    assert second.dim() == 1 and not bool(second.any())


@pytest.mark.slow
def test_config_without_status_keys_is_refused_naming_meta_keys(repo_root, partial_coco,
                                                                tmp_path):
    cfg = small(Config.fromfile(str(repo_root / COCO_CONFIG)), partial_coco, tmp_path)
    cfg.train_dataloader.dataset.pipeline[-1] = STOCK_PACK
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r"PartialCocoDataset\(.*annotations.json\).*"
                                         r"'partially_annotated', 'partial_labels'.*meta_keys"):
        runner.train()


def test_partial_coco_base_keeps_box_less_images(repo_root):
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/datasets/partial_coco_detection.py'))
    dataset = cfg.train_dataloader.dataset
    assert dataset.type == 'PartialCocoDataset'
    assert dataset.filter_cfg.filter_empty_gt is False
    assert {'partially_annotated', 'partial_labels'} <= set(dataset.pipeline[-1].meta_keys)


def lvis_json(root: Path) -> Path:
    """Two LVIS v1 images (one box each) with the federated fields, images on disk."""
    (root / 'images').mkdir(parents=True)
    import cv2
    import numpy as np
    images = []
    for index in (1, 2):
        name = f'{index}.png'
        cv2.imwrite(str(root / 'images' / name), np.full((SIZE, SIZE, 3), 128, np.uint8))
        images.append(dict(id=index, file_name=name, height=SIZE, width=SIZE,
                           neg_category_ids=[2] if index == 1 else [],
                           not_exhaustive_category_ids=[]))
    anns = [dict(id=i, image_id=i, category_id=1, bbox=[4, 4, 20, 20], area=400, iscrowd=0)
            for i in (1, 2)]
    path = root / 'lvis.json'
    path.write_text(json.dumps(dict(images=images, annotations=anns, categories=[
        dict(id=1, name='a', frequency='f'), dict(id=2, name='b', frequency='r')])))
    return path


@pytest.mark.parametrize('keep_status', [True, False])
def test_partial_lvis_base_pipeline_checked(repo_root, tmp_path, keep_status):
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(repo_root / LVIS_BASE))
    inner = copy.deepcopy(cfg.train_dataloader.dataset.dataset)
    ann_file = lvis_json(tmp_path)
    inner.update(data_root=str(tmp_path), ann_file=ann_file.name,
                 data_prefix=dict(img='images/'), metainfo=dict(classes=('a', 'b')))
    if keep_status:
        sample = DATASETS.build(inner)[0]
        # Image 1: 'a' boxed, 'b' verified absent: nothing partial.
        assert sample['data_samples'].partial_labels == []
        assert sample['data_samples'].partially_annotated is False
    else:
        inner.pipeline[-1] = STOCK_PACK
        with pytest.raises(ValueError, match=r'PartialLVISV1Dataset.*meta_keys'):
            DATASETS.build(inner)
    # Evaluation pipelines are not checked: predictions do not use the status.
    inner.update(test_mode=True, pipeline=[dict(type='LoadImageFromFile'), STOCK_PACK])
    assert len(DATASETS.build(inner)) == 2
