"""configs/partial_teacher: each family's swap config wrapped in a PartialTeacher over a
partially annotated COCO json, with views whose geometry the teacher can undo."""
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS
from mmdet.structures.bbox import bbox_project
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from test_dghmc_swap_config import two_iteration_config

from mmdet_dghm.engine import check_teacher_pipeline

TEACHER_DIR = Path('configs/partial_teacher')
SWAP_DIR = Path('configs/dghmc_swap')
FILES = sorted(p.name for p in (Path(__file__).resolve().parents[2] / TEACHER_DIR).glob('*.py'))
STATUS = [dict(partially_annotated=True), dict(partial_category_ids=[3]), {}, {}]


def test_every_family_has_a_teacher_config():
    swaps = sorted(p.name for p in (Path(__file__).resolve().parents[2] / SWAP_DIR).glob('*.py')
                   if 'dghmc-rpn' not in p.name and 'mask-rcnn' not in p.name)
    assert FILES == [f'partial-teacher_{name}' for name in swaps]


def tiny_dataset(cfg: Config, ann_file: Path) -> dict:
    dataset = cfg.train_dataloader.dataset
    dataset.update(data_root=str(ann_file.parent), ann_file=ann_file.name,
                   data_prefix=dict(img='images/'), metainfo=dict(classes=('person', 'car')))
    return dataset


@pytest.mark.parametrize('name', FILES)
def test_teacher_config_wraps_its_swap_and_packs_undoable_views(repo_root, tiny_coco, name):
    cfg = Config.fromfile(str(repo_root / TEACHER_DIR / name))
    swap = Config.fromfile(str(repo_root / SWAP_DIR / name.replace('partial-teacher_', '')))
    assert cfg.model.type == 'PartialTeacher'
    assert cfg.model.detector.to_dict() == swap.model.to_dict()
    assert cfg.model.data_preprocessor.data_preprocessor.get('batch_augments') is None
    assert [hook['type'] for hook in cfg.custom_hooks] == ['PartialTeacherHook']
    assert cfg.train_dataloader.batch_size == swap.train_dataloader.batch_size

    init_default_scope('mmdet')
    dataset = DATASETS.build(tiny_dataset(cfg, tiny_coco(image_fields=STATUS)))
    check_teacher_pipeline(dataset)
    for index in range(len(dataset)):
        item = dataset[index]
        teacher, student = (item['data_samples'][view] for view in ('teacher', 'student'))
        assert teacher.metainfo['partially_annotated'] == (index == 0)
        # The student's boxes are the teacher's carried through both views' geometry.
        back = torch.linalg.inv(torch.as_tensor(teacher.homography_matrix, dtype=torch.float32))
        forth = torch.as_tensor(student.homography_matrix, dtype=torch.float32)
        moved = bbox_project(bbox_project(teacher.gt_instances.bboxes.tensor, back), forth)
        assert np.allclose(moved.numpy(), student.gt_instances.bboxes.tensor.numpy(), atol=1e-3)


@pytest.mark.slow
def test_retinanet_teacher_config_trains_past_burn_in(repo_root, tiny_coco, tmp_path):
    cfg = Config.fromfile(str(repo_root / TEACHER_DIR / FILES[-3]))
    assert 'retinanet' in FILES[-3]
    # Unshuffled batches of two: the exhaustive images in the burn-in, the partial after it.
    ann_file = tiny_coco(num_images=4, size=128, image_fields=STATUS[2:] + STATUS[:2])
    detector = cfg.model.detector
    detector.backbone.update(depth=18, base_channels=8, init_cfg=None)
    detector.neck.update(in_channels=[8, 16, 32, 64], out_channels=32)
    detector.bbox_head.update(in_channels=32, feat_channels=32, stacked_convs=1)
    detector.test_cfg.score_thr = 0.0
    cfg.model.semi_train_cfg.update(burn_in_iters=1, pos_thr=0.001)
    pipeline = cfg.train_dataloader.dataset.pipeline
    pipeline[2].scale = (128, 128)
    cfg.model.backbone = detector.backbone  # two_iteration_config clears this init_cfg
    cfg = two_iteration_config(cfg, ann_file.parent, 128, tmp_path / 'work', 'teacher')
    cfg.model.pop('backbone')
    cfg.train_dataloader.dataset.pipeline = pipeline
    runner = Runner.from_cfg(cfg)
    runner.train()
    pseudo = runner.message_hub.get_scalar('train/pseudo_boxes').data[0]
    assert len(pseudo) == 1 and pseudo[0] > 0  # the second iteration, after burn-in
    assert runner.message_hub.get_scalar('train/pseudo_on_exhaustive').data[0].tolist() == [0]
