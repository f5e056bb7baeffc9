"""PartialTeacher: pseudo-boxes only where the status says objects may be missing.

Hand-made detections with known answers (selection, projection between views, the counts),
the hook's burn-in and EMA against their formulas, the build-time checks, and two training
iterations of a teacher around each family's tiny detector of ``head_training``.
"""
import copy
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from head_training import FAMILIES, tiny_model
from mmcv.transforms import Compose
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint
from mmengine.structures import InstanceData
from test_decoupled_heads import BOXES, IMG, METAS

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.engine import PartialTeacherHook, check_teacher_pipeline
from mmdet_dghm.structures import pseudo_box_quality, select_pseudo_boxes

CE = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
PU = dict(type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.5, base='ce')
DGHMC = dict(type='DGHMCLoss', use_sigmoid=True, normalize='mass')
FLIP = np.array([[-1, 0, IMG], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
# Detections of every image (x1, y1, x2, y2, score, label): a confident cell of each class
# away from the annotated boxes, an uncertain one, a faint one, and a confident detection
# of the first annotated box.
DETECTIONS = [(40., 2., 56., 18., 0.9, 0), (2., 40., 18., 56., 0.95, 1),
              (44., 44., 60., 60., 0.8, 2),
              (20., 44., 30., 54., 0.4, 1), (50., 30., 60., 40., 0.1, 0),
              (5., 7., 30., 34., 0.99, 0)]


def test_select_pseudo_boxes_by_score_status_and_overlap():
    det = torch.tensor(DETECTIONS)
    annotated = torch.tensor(BOXES)
    # Class 0 and 1 partial, class 2 exhaustive.
    chosen = select_pseudo_boxes(det[:, :4], det[:, 4], det[:, 5].long(), annotated,
                                 torch.tensor([True, True, False]), pos_thr=0.5,
                                 ignore_thr=0.3, iou_thr=0.5)
    assert chosen.positive.tolist() == [True, True, False, False, False, False]
    assert chosen.ignored.tolist() == [False, False, False, True, False, False]
    # No uncertain band: the 0.4 detection is left alone.
    chosen = select_pseudo_boxes(det[:, :4], det[:, 4], det[:, 5].long(), annotated,
                                 torch.ones(3, dtype=torch.bool), pos_thr=0.5,
                                 ignore_thr=0.5, iou_thr=0.5)
    assert chosen.positive.tolist() == [True, True, True, False, False, False]
    assert not chosen.ignored.any()
    # An exhaustively annotated image receives nothing.
    chosen = select_pseudo_boxes(det[:, :4], det[:, 4], det[:, 5].long(), annotated,
                                 torch.zeros(3, dtype=torch.bool), pos_thr=0.5,
                                 ignore_thr=0.05, iou_thr=0.5)
    assert not chosen.positive.any() and not chosen.ignored.any()
    # At most one pseudo-box per annotated box of its class (class 0: one annotated box):
    # the 0.95 class-1 detection has no annotated class-1 box beside it, the second class-0
    # one is demoted to ignored.
    two_cells = torch.cat([det, torch.tensor([[20., 44., 30., 54., 0.7, 0]])])
    chosen = select_pseudo_boxes(two_cells[:, :4], two_cells[:, 4], two_cells[:, 5].long(),
                                 annotated, torch.ones(3, dtype=torch.bool), pos_thr=0.5,
                                 ignore_thr=0.5, iou_thr=0.5,
                                 annotated_labels=torch.tensor([0]), max_per_annotated=1.0)
    assert chosen.positive.tolist() == [True, False, False, False, False, False, False]
    assert chosen.ignored.tolist() == [False, True, True, False, False, False, True]
    with pytest.raises(ValueError, match='ignore_thr <= pos_thr'):
        select_pseudo_boxes(det[:, :4], det[:, 4], det[:, 5].long(), annotated,
                            torch.ones(3, dtype=torch.bool), pos_thr=0.3, ignore_thr=0.5,
                            iou_thr=0.5)


def build_teacher(family='retinanet', losses=None, **semi_train_cfg) -> torch.nn.Module:
    losses = losses or [CE] * len(FAMILIES[family][1])
    detector = tiny_model(family, losses)
    if family == 'retinanet':  # its MaxIoUAssigner then ignores anchors on ignored boxes
        detector.train_cfg.assigner.ignore_iof_thr = 0.5
    # Every detection of the untrained teacher, ten per image.
    test_cfg = detector.test_cfg.rcnn if 'rcnn' in detector.test_cfg else detector.test_cfg
    test_cfg.update(score_thr=0.0, max_per_img=10)
    cfg = dict(type='PartialTeacher', detector=detector,
               data_preprocessor=dict(type='MultiBranchDataPreprocessor',
                                      data_preprocessor=detector.data_preprocessor),
               semi_train_cfg=dict(dict(pos_thr=0.5, ignore_thr=0.5), **semi_train_cfg))
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg)
    model.init_weights()  # DINO allocates some parameters uninitialised
    return model


def views(seed=0):
    """The batch of ``head_training`` (three images: all partial, class 1 partial,
    exhaustive) as a teacher view and a horizontally flipped student view."""
    gen = torch.Generator().manual_seed(seed)
    inputs = {'teacher': [], 'student': []}
    samples = {'teacher': [], 'student': []}
    for index, status in enumerate(METAS):
        image = torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8, generator=gen)
        base = dict(img_id=index, img_shape=(IMG, IMG), ori_shape=(IMG, IMG),
                    scale_factor=(1.0, 1.0), **status)
        for view, matrix in (('teacher', None), ('student', FLIP)):
            meta = dict(base) if matrix is None else dict(base, homography_matrix=matrix)
            sample = DetDataSample(metainfo=meta)
            boxes = torch.tensor(BOXES)
            if matrix is not None:
                boxes = torch.stack([IMG - boxes[:, 2], boxes[:, 1], IMG - boxes[:, 0],
                                     boxes[:, 3]], dim=1)
            sample.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 2]))
            inputs[view].append(image.flip(-1) if matrix is not None else image)
            samples[view].append(sample)
    return dict(inputs=inputs, data_samples=samples)


def fixed_predictions(samples, rescale=False):
    det = torch.tensor(DETECTIONS)
    return [DetDataSample(pred_instances=InstanceData(bboxes=det[:, :4].clone(),
                                                      scores=det[:, 4].clone(),
                                                      labels=det[:, 5].long()))
            for _ in samples]


def test_pseudo_label_follows_the_status_and_the_views(monkeypatch):
    model = build_teacher(ignore_thr=0.3)
    monkeypatch.setattr(model.teacher, 'predict',
                        lambda inputs, samples, rescale: fixed_predictions(samples))
    data = model.data_preprocessor(views(), True)
    student = data['data_samples']['student']
    before = copy.deepcopy(student)
    labelled, stats = model.pseudo_label(data['inputs']['teacher'],
                                         data['data_samples']['teacher'], student)

    def flipped(rows):
        boxes = torch.tensor([DETECTIONS[i][:4] for i in rows]).view(-1, 4)
        return torch.stack([IMG - boxes[:, 2], boxes[:, 1], IMG - boxes[:, 0], boxes[:, 3]], 1)

    # Image 0 (every class partial): three confident cells and one uncertain, after the two
    # annotated boxes, mirrored into the student's view. Image 1 (class 1 partial): class 1
    # only. Image 2 (exhaustive): nothing.
    expected = [([0, 1, 2], [3]), ([1], [3]), ([], [])]
    for sample, old, (positive, ignored) in zip(labelled, before, expected):
        gt = sample.gt_instances
        assert torch.equal(gt.bboxes[:2], old.gt_instances.bboxes)
        assert gt.labels[:2].tolist() == [0, 2]
        assert torch.allclose(gt.bboxes[2:], flipped(positive).view(-1, 4))
        assert gt.labels[2:].tolist() == [int(DETECTIONS[i][5]) for i in positive]
        ignored_boxes = sample.ignored_instances.bboxes if 'ignored_instances' in sample \
            else torch.zeros(0, 4)
        assert torch.allclose(ignored_boxes, flipped(ignored).view(-1, 4))
    assert {key: float(value) for key, value in stats.items()} == dict(
        pseudo_boxes=4.0, pseudo_ignored=2.0, pseudo_on_exhaustive=0.0)
    # The student's own samples are left as they were.
    assert all(len(s.gt_instances) == 2 for s in student)


def test_removed_boxes_in_view_are_counted(monkeypatch):
    model = build_teacher()
    monkeypatch.setattr(model.teacher, 'predict',
                        lambda inputs, samples, rescale: fixed_predictions(samples))
    data = model.data_preprocessor(views(), True)
    for sample in data['data_samples']['teacher']:
        # The view lies at (100, 200) of its source image: one removed cell under the first
        # detection, one under nothing, one outside the view.
        sample.set_metainfo(dict(tile_origin=(100, 200), src_removed_bboxes=np.array(
            [[141., 203., 155., 217.], [110., 250., 118., 258.], [400., 400., 410., 410.]])))
    _, stats = model.pseudo_label(data['inputs']['teacher'], data['data_samples']['teacher'],
                                  data['data_samples']['student'])
    # Image 0 holds the first detection as a pseudo-box; image 1 only class 1's; image 2 none.
    assert float(stats['removed_boxes']) == 6.0
    assert float(stats['removed_found']) == 1.0
    assert float(stats['pseudo_on_removed']) == 1.0


def test_pseudo_box_quality_counts_as_the_teacher_does():
    # Image 0: two pseudo-boxes on its first removed cell (IoU 1 and 100/110), one on nothing,
    # a removed cell missed; image 1: a removed cell, no pseudo-box; image 2: the reverse.
    pseudo = [np.array([[0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 10, 11]]), np.zeros((0, 4)),
              np.array([[5, 5, 9, 9]])]
    removed = [np.array([[0, 0, 10, 10], [100, 100, 110, 110]]), np.array([[1, 1, 4, 4]]),
               np.zeros((0, 4))]
    assert pseudo_box_quality(pseudo, removed) == dict(
        images=3, pseudo_boxes=4, removed_boxes=3, pseudo_on_removed=2, removed_found=1,
        precision=0.5, recall=1 / 3, iou_thr=0.5)
    # The third pseudo-box overlaps the first removed cell by IoU 0.91 only.
    assert pseudo_box_quality(pseudo[:1], removed[:1], iou_thr=0.95)['pseudo_on_removed'] == 1
    assert pseudo_box_quality([], []) == dict(
        images=0, pseudo_boxes=0, removed_boxes=0, pseudo_on_removed=0, removed_found=0,
        precision=None, recall=None, iou_thr=0.5)
    with pytest.raises(ValueError, match='2 images of pseudo-boxes, 1 of removed boxes'):
        pseudo_box_quality(pseudo[:2], removed[:1])


def test_hook_burn_in_then_ema():
    model = build_teacher(burn_in_iters=2)
    hook = PartialTeacherHook(momentum=0.25)
    runner = SimpleNamespace(model=model, iter=0)
    with torch.no_grad():
        for param in model.student.parameters():
            param.add_(1.0)
    hook.before_train_iter(runner, 0)
    assert model.pseudo_labels_on is False
    hook.after_train_iter(runner, 0)  # burn-in: the teacher is the student
    for (name, s), t in zip(model.student.state_dict().items(),
                            model.teacher.state_dict().values()):
        assert torch.equal(s, t), name
    runner.iter = 2
    hook.before_train_iter(runner, 2)
    assert model.pseudo_labels_on is True
    teacher = {k: v.clone() for k, v in model.teacher.state_dict().items()}
    with torch.no_grad():
        for param in model.student.parameters():
            param.mul_(3.0)
    hook.after_train_iter(runner, 2)
    student = model.student.state_dict()
    for name, value in model.teacher.state_dict().items():
        if value.dtype.is_floating_point:
            assert torch.allclose(value, 0.75 * teacher[name] + 0.25 * student[name]), name


def pipeline(teacher_keys, student_keys, views=('teacher', 'student')):
    pack = lambda keys: dict(type='PackDetInputs', meta_keys=('img_id', ) + keys)  # noqa: E731
    steps = {view: [pack(keys)] for view, keys in zip(('teacher', 'student'),
                                                      (teacher_keys, student_keys))
             if view in views}
    with DefaultScope.overwrite_default_scope('mmdet'):
        return SimpleNamespace(pipeline=Compose([
            dict(type='MultiBranch', branch_field=list(views), **steps)]))


def test_pipeline_check_names_what_is_missing():
    full = ('partially_annotated', 'partial_labels', 'homography_matrix')
    check_teacher_pipeline(pipeline(full, full))
    with pytest.raises(ValueError, match="no 'student' view"):
        check_teacher_pipeline(pipeline(full, full, views=('teacher', )))
    with pytest.raises(ValueError, match=r"'student' view packs no \['homography_matrix'\]"):
        check_teacher_pipeline(pipeline(full, full[:2]))
    with pytest.raises(ValueError, match=r"'teacher' view packs no \['partially_annotated'"):
        check_teacher_pipeline(pipeline(('homography_matrix', ), full))
    with pytest.raises(ValueError, match='no MultiBranch'):
        check_teacher_pipeline(SimpleNamespace(pipeline=Compose([])))


def test_build_and_loss_refuse_what_cannot_work():
    model = build_teacher()
    data = model.data_preprocessor(views(), True)
    with pytest.raises(RuntimeError, match='PartialTeacherHook'):
        model.loss(data['inputs'], data['data_samples'])
    model.set_pseudo_labels(True)
    with pytest.raises(ValueError, match=r"not \['student'\]"):
        model.loss({'teacher': data['inputs']['teacher']}, data['data_samples'])
    # RetinaNet's stock assigner ignores nothing: an uncertain band would be negatives.
    with pytest.raises(ValueError, match='bbox_head.assigner would not ignore them'):
        build_teacher_with_band()
    with pytest.raises(ValueError, match='unknown semi_train_cfg'):
        build_teacher(unsup_wieght=2.0)


def build_teacher_with_band():
    detector = tiny_model('retinanet', [CE])
    detector.train_cfg.assigner.ignore_iof_thr = -1
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(dict(type='PartialTeacher', detector=detector,
                                 semi_train_cfg=dict(pos_thr=0.5, ignore_thr=0.3)))


# PU on what stays unlabelled; RTMDet's soft targets take DGHM-C.
FAMILY_LOSSES = {family: [DGHMC if family == 'rtmdet' else PU] * len(paths)
                 for family, (_, paths) in FAMILIES.items()}


@pytest.mark.parametrize('family', sorted(FAMILIES))
def test_two_iterations_on_every_family(family, monkeypatch):
    torch.manual_seed(0)
    model = build_teacher(family, FAMILY_LOSSES[family])
    monkeypatch.setattr(model.teacher, 'predict',
                        lambda inputs, samples, rescale: fixed_predictions(samples))
    model.train()
    seen = []
    student_loss = model.student.loss
    model.student.loss = lambda inputs, samples: (seen.append(samples),
                                                  student_loss(inputs, samples))[1]
    optimizer = torch.optim.SGD(model.student.parameters(), lr=0.01)
    model.set_pseudo_labels(True)
    for step in range(2):
        torch.manual_seed(step)
        optimizer.zero_grad()
        losses = model(**model.data_preprocessor(views(), True), mode='loss')
        loss, log_vars = model.parse_losses(losses)
        assert torch.isfinite(loss), (family, log_vars)
        loss.backward()
        optimizer.step()
        assert (log_vars['pseudo_boxes'], log_vars['pseudo_on_exhaustive']) == (4, 0)
    assert len(seen) == 2
    for samples in seen:
        assert [s.gt_instances.labels.tolist() for s in samples] == [[0, 2, 0, 1, 2], [0, 2, 1],
                                                                     [0, 2]]


def test_plain_detector_checkpoint_starts_teacher_and_student(tmp_path):
    source = build_teacher()
    torch.save(dict(state_dict=source.student.state_dict()), tmp_path / 'plain.pth')
    model = build_teacher()
    load_checkpoint(model, str(tmp_path / 'plain.pth'), map_location='cpu', strict=True)
    for name, value in source.student.state_dict().items():
        assert torch.equal(model.student.state_dict()[name], value), name
        assert torch.equal(model.teacher.state_dict()[name], value), name
