"""A mean teacher that labels what the annotators skipped, where the status says they may have.

One partially annotated dataset, two views of each image (mmdet's ``MultiBranch``): the
teacher (an exponential moving average of the student, :class:`~mmdet_dghm.engine.
PartialTeacherHook`) detects on the ``teacher`` view; its detections are selected by
:func:`~mmdet_dghm.structures.select_pseudo_boxes` on the partially annotated images and
classes only, projected into the ``student`` view (each view's ``homography_matrix``) and
added to the student's annotated boxes: confident ones as boxes, uncertain ones as ignored
boxes. The student's own loss (any status-aware loss: PU on what stays unlabelled, say) trains
on the result with the images' status unchanged.
"""
import copy
from contextlib import contextmanager
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import torch
from mmdet.models.detectors import BaseDetector, SemiBaseDetector
from mmdet.models.utils import rename_loss_dict, reweight_loss_dict
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import BaseBoxes, bbox_project, get_box_tensor
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ...structures import check_thresholds, count_removed_hits, select_pseudo_boxes
from ...structures.annotation_status import STATUS_KEYS, has_status, image_class_status

__all__ = ['PartialTeacher', 'TEACHER_BRANCHES', 'detector_num_classes']

#: Branch names of the ``MultiBranch`` views: the teacher's (weak) and the student's (strong).
TEACHER_BRANCHES = ('teacher', 'student')
#: ``semi_train_cfg`` defaults.
DEFAULT_SEMI_TRAIN_CFG = dict(burn_in_iters=0, pos_thr=0.5, ignore_thr=None, iou_thr=0.5,
                              max_per_annotated=None,
                              sup_weight=1.0, unsup_weight=1.0, min_pseudo_bbox_wh=(1e-2, 1e-2),
                              match_iou_thr=0.3, freeze_teacher=True)
_ASSIGNER_ATTRS = ('assigner', 'bbox_assigner')


def detector_num_classes(detector: nn.Module) -> int:
    """Classes of a detector: its dense head's, or its (last) RoI box head's."""
    head = getattr(detector, 'bbox_head', None)
    roi_head = getattr(detector, 'roi_head', None)
    if head is None and roi_head is not None:
        head = roi_head.bbox_head
        head = head[-1] if isinstance(head, nn.ModuleList) else head
    if head is None or not hasattr(head, 'num_classes'):
        raise TypeError(f'PartialTeacher: cannot tell the classes of {type(detector).__name__} '
                        '(no bbox_head or roi_head.bbox_head with num_classes)')
    return int(head.num_classes)


def _assigners(detector: nn.Module) -> Dict[str, object]:
    """Every box assigner of a detector's heads, by ``module.attr`` name."""
    found = {}
    for name, module in detector.named_modules():
        for attr in _ASSIGNER_ATTRS:
            assigner = getattr(module, attr, None)
            if assigner is None:
                continue
            for index, one in enumerate(assigner if isinstance(assigner, list) else [assigner]):
                found[f'{name or "detector"}.{attr}' + (f'[{index}]' if index else '')] = one
    return found


def _homography(data_sample) -> Tensor:
    """The view's ``homography_matrix`` (identity where no geometric transform recorded one)."""
    matrix = data_sample.metainfo.get('homography_matrix')
    return torch.eye(3) if matrix is None else torch.as_tensor(np.asarray(matrix),
                                                               dtype=torch.float32)


def _like(template, boxes: Tensor):
    """``boxes`` in the box type of ``template`` (mmdet keeps ``HorizontalBoxes`` in targets)."""
    return type(template)(boxes) if isinstance(template, BaseBoxes) else boxes


@contextmanager
def _score_floor(detector: nn.Module, floor: float) -> Iterator[None]:
    """Raise every head's ``test_cfg.score_thr`` to ``floor`` for the block.

    Detections below ``floor`` are never selected, and dropping them before NMS changes no
    detection above it (a lower-scored box suppresses nothing above it); it only spares the
    post-processing of the test configs' full ranking (``score_thr`` 0 for FROC).
    """
    changed = []
    for module in detector.modules():
        test_cfg = getattr(module, 'test_cfg', None)
        if isinstance(test_cfg, dict) and test_cfg.get('score_thr', floor) < floor:
            changed.append((test_cfg, test_cfg['score_thr']))
            test_cfg['score_thr'] = floor
    try:
        yield
    finally:
        for test_cfg, value in changed:
            test_cfg['score_thr'] = value


@MODELS.register_module()
class PartialTeacher(SemiBaseDetector):
    """Mean teacher for partially annotated data (pseudo-labels guided by the status).

    Args:
        detector (dict): Config of the detector trained (any family of this plugin: one-stage
            or two-stage). Teacher and student are built from it; a plain detector checkpoint
            loads into both (``load_from``).
        semi_train_cfg (dict, optional): Keys (defaults in brackets):

            - ``burn_in_iters`` (0): iterations on the annotations alone; the teacher follows
              the student exactly until then, then as its EMA (``PartialTeacherHook``).
            - ``pos_thr`` (0.5): lowest teacher score of a pseudo-positive.
            - ``ignore_thr`` (``pos_thr``): detections from here up to ``pos_thr`` become
              ignored boxes (the student's assigners need ``ignore_iof_thr > 0``).
            - ``iou_thr`` (0.5): IoU with an annotated box from which a detection is that box.
            - ``max_per_annotated`` (None): at most ceil(r * n_c) pseudo-positives of class c
              per image with n_c annotated boxes of it (the rest of the confident ones
              ignored); m / (1 - m) for a missing rate m. See
              :func:`~mmdet_dghm.structures.select_pseudo_boxes`.
            - ``sup_weight``, ``unsup_weight`` (1.0, 1.0): both 1: one student loss on the
              annotated and pseudo boxes together (one forward); otherwise mmdet's form, two
              forwards of the student view: ``sup_`` losses on the annotated boxes alone,
              ``unsup_`` on annotated and pseudo boxes, each scaled by its weight.
            - ``min_pseudo_bbox_wh`` ((1e-2, 1e-2)): smaller projected boxes are dropped, and
              boxes with a non-finite coordinate.
            - ``match_iou_thr`` (0.3): IoU of a pseudo-box with a removed box (known in a
              benchmark with controlled missing rate) that counts as finding it, for the
              logged pseudo-label quality.
            - ``freeze_teacher`` (True).
        semi_test_cfg (dict, optional): ``predict_on``: ``'teacher'`` or ``'student'``
            (default ``'student'``, the model ``tools/export_detector.py`` exports by default).
        data_preprocessor (dict, optional): Usually a ``MultiBranchDataPreprocessor``.
        init_cfg (dict, optional): Initialisation config.

    Raises:
        ValueError: On thresholds out of order, an uncertain band with an assigner that cannot
            ignore boxes, or a detector with a mask head (pseudo-boxes carry no masks).
    """

    def __init__(self,
                 detector: ConfigType,
                 semi_train_cfg: OptConfigType = None,
                 semi_test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        train_cfg = dict(DEFAULT_SEMI_TRAIN_CFG, **(semi_train_cfg or {}))
        unknown = sorted(set(train_cfg) - set(DEFAULT_SEMI_TRAIN_CFG))
        if unknown:
            raise ValueError(f'PartialTeacher: unknown semi_train_cfg keys {unknown}; known: '
                             f'{sorted(DEFAULT_SEMI_TRAIN_CFG)}')
        if train_cfg['ignore_thr'] is None:
            train_cfg['ignore_thr'] = train_cfg['pos_thr']
        check_thresholds(train_cfg['pos_thr'], train_cfg['ignore_thr'], train_cfg['iou_thr'])
        if int(train_cfg['burn_in_iters']) < 0:
            raise ValueError(f"PartialTeacher: burn_in_iters must be >= 0, got "
                             f"{train_cfg['burn_in_iters']}")
        test_cfg = dict(dict(predict_on='student'), **(semi_test_cfg or {}))
        # SemiBaseDetector builds both from one config, which DETR-like detectors edit while
        # building: each gets its own copy here.
        BaseDetector.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.student = MODELS.build(copy.deepcopy(detector))
        self.teacher = MODELS.build(copy.deepcopy(detector))
        self.semi_train_cfg = ConfigDict(train_cfg)
        self.semi_test_cfg = ConfigDict(test_cfg)
        if train_cfg['freeze_teacher']:
            self.freeze(self.teacher)
        self.num_classes = detector_num_classes(self.student)
        self._check_student()
        #: Set by ``PartialTeacherHook`` before every training iteration; None: no hook.
        self.pseudo_labels_on: Optional[bool] = None

    @property
    def burn_in_iters(self) -> int:
        """Iterations on the annotations alone."""
        return int(self.semi_train_cfg['burn_in_iters'])

    def _check_student(self) -> None:
        roi_head = getattr(self.student, 'roi_head', None)
        if roi_head is not None and getattr(roi_head, 'with_mask', False):
            raise ValueError('PartialTeacher mines boxes, which carry no masks: a detector with '
                             'a mask head (Mask R-CNN) cannot train on them; use its box-only '
                             'counterpart (Faster R-CNN) or the offline tools/pseudo_label.py')
        cfg = self.semi_train_cfg
        if cfg['ignore_thr'] < cfg['pos_thr']:
            blind = [name for name, assigner in _assigners(self.student).items()
                     if getattr(assigner, 'ignore_iof_thr', -1) <= 0]
            if blind:
                raise ValueError(
                    f"PartialTeacher: ignore_thr={cfg['ignore_thr']} < pos_thr="
                    f"{cfg['pos_thr']} makes uncertain detections ignored boxes, but "
                    f'{", ".join(blind)} would not ignore them (set ignore_iof_thr > 0 in '
                    "its train_cfg where the assigner has one, or ignore_thr = pos_thr: the "
                    'uncertain ones then stay unlabelled, noisy negatives under a status-aware '
                    'loss)')

    def set_pseudo_labels(self, enabled: bool) -> None:
        """Whether this iteration's student trains on pseudo-boxes (after burn-in)."""
        self.pseudo_labels_on = bool(enabled)

    # ----------------------------------------------------------------------------- loss
    def loss(self, multi_batch_inputs: Dict[str, Tensor],
             multi_batch_data_samples: Dict[str, SampleList]) -> dict:
        """Student losses on its view: annotated boxes, plus pseudo-boxes after burn-in.

        Returns:
            dict: The student's losses (``sup_`` / ``unsup_`` prefixed when the weights make
            two of them), and the pseudo-label counts of the batch: ``pseudo_boxes``,
            ``pseudo_ignored``, ``pseudo_on_exhaustive`` (0 by construction, counted from
            the student's targets), and with removed boxes known (``src_removed_bboxes``):
            ``pseudo_on_removed``, ``removed_boxes``, ``removed_found``.
        """
        missing = [b for b in TEACHER_BRANCHES if b not in multi_batch_inputs]
        if missing:
            raise ValueError(f'PartialTeacher: the batch has branches '
                             f'{sorted(multi_batch_inputs)}, not {missing}; wrap the train '
                             f"pipeline's views in MultiBranch(branch_field="
                             f'{list(TEACHER_BRANCHES)}, teacher=[...], student=[...])')
        if self.pseudo_labels_on is None:
            raise RuntimeError('PartialTeacher needs PartialTeacherHook in custom_hooks (it '
                               'keeps the teacher and tells the burn-in apart)')
        student_inputs = multi_batch_inputs['student']
        student_samples = multi_batch_data_samples['student']
        if not self.pseudo_labels_on:
            return self._student_loss(student_inputs, student_samples, prefix='')
        teacher_samples = multi_batch_data_samples['teacher']
        labelled, stats = self.pseudo_label(multi_batch_inputs['teacher'], teacher_samples,
                                            student_samples)
        sup_weight = self.semi_train_cfg['sup_weight']
        unsup_weight = self.semi_train_cfg['unsup_weight']
        if sup_weight == 1 and unsup_weight == 1:
            losses = self._student_loss(student_inputs, labelled, prefix='')
        else:
            losses = self._student_loss(student_inputs, student_samples, prefix='sup_',
                                        weight=sup_weight)
            losses.update(self._student_loss(student_inputs, labelled, prefix='unsup_',
                                             weight=unsup_weight))
        losses.update(stats)
        return losses

    def _student_loss(self, inputs: Tensor, samples: SampleList, prefix: str,
                      weight: float = 1.0) -> dict:
        losses = self.student.loss(inputs, samples)
        return rename_loss_dict(prefix, reweight_loss_dict(losses, weight) if weight != 1
                                else losses)

    @torch.no_grad()
    def pseudo_label(self, teacher_inputs: Tensor, teacher_samples: SampleList,
                     student_samples: SampleList) -> Tuple[SampleList, Dict[str, Tensor]]:
        """The student's samples with the teacher's selected detections added.

        Args:
            teacher_inputs (Tensor): The teacher view's images.
            teacher_samples (list[DetDataSample]): Their samples (annotated boxes in that view).
            student_samples (list[DetDataSample]): The student view's samples of the same
                images; not modified.

        Returns:
            tuple: New student samples and the batch's pseudo-label counts (see :meth:`loss`).
        """
        metas = [sample.metainfo for sample in teacher_samples]
        if not has_status(metas):
            raise ValueError(f'PartialTeacher: the teacher view carries neither of the status '
                             f'keys {list(STATUS_KEYS)}; without them every box-holding image '
                             f"would be mined; add them to the views' PackDetInputs meta_keys")
        device = teacher_inputs.device
        status = image_class_status(metas, [s.gt_instances for s in teacher_samples],
                                    self.num_classes, device)
        cfg = self.semi_train_cfg
        self.teacher.eval()
        with _score_floor(self.teacher, cfg['ignore_thr']):
            results = self.teacher.predict(teacher_inputs, copy.deepcopy(teacher_samples),
                                           rescale=False)
        counts = dict(pseudo_boxes=0, pseudo_ignored=0, pseudo_on_exhaustive=0,
                      pseudo_on_removed=0, removed_boxes=0, removed_found=0)
        knows_removed = all('src_removed_bboxes' in m and 'tile_origin' in m for m in metas)
        labelled = []
        for row, teacher, student, result in zip(status, teacher_samples, student_samples,
                                                 results):
            pred = result.pred_instances
            annotated = torch.cat([get_box_tensor(teacher.gt_instances.bboxes),
                                   get_box_tensor(teacher.ignored_instances.bboxes)
                                   if 'ignored_instances' in teacher else
                                   torch.zeros(0, 4)]).to(device)
            chosen = select_pseudo_boxes(pred.bboxes, pred.scores, pred.labels, annotated, row,
                                         pos_thr=cfg['pos_thr'], ignore_thr=cfg['ignore_thr'],
                                         iou_thr=cfg['iou_thr'],
                                         annotated_labels=teacher.gt_instances.labels,
                                         max_per_annotated=cfg['max_per_annotated'])
            # Teacher view -> the frame before either view's geometric transforms -> student.
            to_origin = torch.linalg.inv(_homography(teacher)).to(device)
            to_student = _homography(student).to(device)
            origin = {key: bbox_project(pred.bboxes[mask], to_origin, teacher.ori_shape)
                      for key, mask in (('positive', chosen.positive),
                                        ('ignored', chosen.ignored))}
            new = copy.deepcopy(student)
            for key, field in (('positive', 'gt_instances'), ('ignored', 'ignored_instances')):
                boxes = bbox_project(origin[key], to_student, student.img_shape)
                labels = pred.labels[chosen.positive if key == 'positive' else chosen.ignored]
                keep = self._large_enough(boxes)
                self._extend(new, field, boxes[keep], labels[keep])
                counts['pseudo_boxes' if key == 'positive' else 'pseudo_ignored'] += int(
                    keep.sum())
                counts['pseudo_on_exhaustive'] += int((~row[labels[keep].long()]).sum())
            if knows_removed:
                self._count_removed(counts, teacher, origin['positive'], to_origin)
            labelled.append(new)
        stats = {key: torch.tensor(float(value), device=device) for key, value in counts.items()
                 if knows_removed or key not in ('pseudo_on_removed', 'removed_boxes',
                                                 'removed_found')}
        return labelled, stats

    def _large_enough(self, boxes: Tensor) -> Tensor:
        min_w, min_h = self.semi_train_cfg['min_pseudo_bbox_wh']
        return (torch.isfinite(boxes).all(dim=1) & ((boxes[:, 2] - boxes[:, 0]) > min_w)
                & ((boxes[:, 3] - boxes[:, 1]) > min_h))

    @staticmethod
    def _extend(sample, field: str, boxes: Tensor, labels: Tensor) -> None:
        """Append boxes and labels to ``sample.<field>`` (created where absent)."""
        if field not in sample:
            setattr(sample, field, InstanceData(bboxes=boxes.new_zeros(0, 4),
                                                labels=labels.new_zeros(0)))
        old = getattr(sample, field)
        extra = sorted(set(old.keys()) - {'bboxes', 'labels'})
        if extra and len(boxes):
            raise ValueError(f'PartialTeacher: {field} carries {extra}, which pseudo-boxes '
                             'cannot supply')
        merged = InstanceData(metainfo=old.metainfo)
        merged.bboxes = _like(old.bboxes, torch.cat([get_box_tensor(old.bboxes).to(boxes),
                                                     boxes]))
        merged.labels = torch.cat([old.labels.to(labels.device), labels.to(old.labels)])
        for key in extra:
            merged[key] = old[key]
        setattr(sample, field, merged)

    def _count_removed(self, counts: dict, teacher, positives: Tensor,
                       to_origin: Tensor) -> None:
        """Pseudo-positives (in the origin frame) against the image's removed boxes (source
        coordinates) within the view, which ``to_origin`` maps to that frame: the boxes found
        (IoU >= ``match_iou_thr``) and the pseudo-boxes on one."""
        meta = teacher.metainfo
        x0, y0 = (float(v) for v in meta['tile_origin'])
        offset = positives.new_tensor([x0, y0, x0, y0])
        removed = torch.as_tensor(np.asarray(meta['src_removed_bboxes'], dtype=np.float32),
                                  device=positives.device).view(-1, 4) - offset
        view = bbox_project(positives.new_tensor([[0, 0, *teacher.img_shape[::-1]]]),
                            to_origin, teacher.ori_shape)[0]
        centres = (removed[:, :2] + removed[:, 2:]) / 2
        inside = ((centres >= view[:2]) & (centres < view[2:])).all(dim=1)
        count_removed_hits(counts, positives, removed[inside],
                           self.semi_train_cfg['match_iou_thr'])
