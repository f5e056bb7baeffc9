"""RetinaHead whose classification loss sees the annotation status of each element.

Paper section 3.1: every anchor inherits the label status of its image (abnormal images are
*partially* annotated, normal images *exhaustively*), so the classification loss can treat
the negatives of partially annotated images as noisy (S_n) and everything else as clean
(S_c); per class with ``partial_labels`` (:mod:`mmdet_dghm.structures.annotation_status`).
"""
from typing import List

import torch
from mmdet.models.dense_heads import RetinaHead
from mmdet.models.utils import images_to_levels, multi_apply
from mmdet.registry import MODELS
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList
from torch import Tensor

from ..status_aware_head import (
    StatusAwareHeadMixin,
    image_major_index,
    level_major_index,
    level_major_levels,
    one_level,
)

CLS_LOSS_MODES = ('all_levels', 'per_level')


@MODELS.register_module()
class DecoupledRetinaHead(StatusAwareHeadMixin, RetinaHead):
    """RetinaHead whose classification loss sees each element's annotation status.

    Same arguments, layers, regression loss and prediction path as
    :class:`mmdet.models.dense_heads.RetinaHead`; only :meth:`loss_by_feat` differs:

    - each image's status (``partially_annotated`` / ``partial_labels`` metainfo, see
      :mod:`mmdet_dghm.structures.annotation_status` for the fallback when both are absent) is
      broadcast to all its anchors on all levels;
    - a loss whose ``forward`` declares ``partial`` (``DGHMCLoss``) receives that mask, (N,)
      when every image is all-partial or all-exhaustive, (N, C) otherwise; every other loss
      (focal, sigmoid CE, GHM-C, SCE) is called exactly like RetinaHead calls it
      (``pred, target, weight, avg_factor=...``), so one head serves every loss of a
      comparison;
    - with ``cls_loss_mode='all_levels'`` the classification loss is called once over all
      anchors of all levels of the whole batch (the paper's N in Eq. 12, and the population
      a gradient-density loss must histogram); ``'per_level'`` runs RetinaHead's own
      ``loss_by_feat`` (one call per FPN level), for comparison. For losses that are plain
      sums normalised by ``avg_factor`` (focal, CE) both modes give the same value;
    - in both modes the loss dict has RetinaHead's structure: ``loss_cls`` and ``loss_bbox``
      are lists with one entry per loss call (one ``loss_cls`` entry in ``'all_levels'``
      mode, one per level in ``'per_level'`` mode), so code written for the stock head
      (``sum(losses['loss_cls'])``, mmdet's ``parse_losses``) runs unchanged.

    Args:
        *args: Positional arguments of RetinaHead (``num_classes``, ``in_channels``).
        cls_loss_mode (str): ``'all_levels'`` or ``'per_level'``. Defaults to
            ``'all_levels'``.
        **kwargs: Keyword arguments of RetinaHead.
    """

    def __init__(self, *args, cls_loss_mode: str = 'all_levels', **kwargs) -> None:
        if cls_loss_mode not in CLS_LOSS_MODES:
            raise ValueError(f'DecoupledRetinaHead: cls_loss_mode must be one of '
                             f'{CLS_LOSS_MODES}, got {cls_loss_mode!r}')
        super().__init__(*args, **kwargs)
        self.cls_loss_mode = cls_loss_mode

    def loss_by_feat_single(self, cls_score: Tensor, bbox_pred: Tensor, anchors: Tensor,
                            labels: Tensor, label_weights: Tensor, bbox_targets: Tensor,
                            bbox_weights: Tensor, avg_factor: float) -> tuple:
        """AnchorHead's level loss (``'per_level'``), each row given its image's status."""
        image_index = image_major_index(*labels.shape[:2], labels.device)
        with self.rows_from_images(image_index, level_index=one_level(image_index)):
            return super().loss_by_feat_single(cls_score, bbox_pred, anchors, labels,
                                               label_weights, bbox_targets, bbox_weights,
                                               avg_factor)

    def _loss_bbox_single(self, bbox_pred: Tensor, anchors: Tensor, bbox_targets: Tensor,
                          bbox_weights: Tensor, avg_factor: float) -> tuple:
        """Regression loss of one level, as in ``AnchorHead.loss_by_feat_single``."""
        target_dim = bbox_targets.size(-1)
        bbox_targets = bbox_targets.reshape(-1, target_dim)
        bbox_weights = bbox_weights.reshape(-1, target_dim)
        bbox_pred = bbox_pred.permute(0, 2, 3, 1).reshape(-1, self.bbox_coder.encode_size)
        if self.reg_decoded_bbox:
            anchors = anchors.reshape(-1, anchors.size(-1))
            bbox_pred = get_box_tensor(self.bbox_coder.decode(anchors, bbox_pred))
        # multi_apply unpacks tuples: return one so it yields one list of per-level losses.
        return (self.loss_bbox(bbox_pred, bbox_targets, bbox_weights, avg_factor=avg_factor), )

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """Losses of a batch, the classification one aware of each element's status.

        Args:
            cls_scores (list[Tensor]): Per level, (B, A * C, H, W) scores.
            bbox_preds (list[Tensor]): Per level, (B, A * 4, H, W) box deltas.
            batch_gt_instances (list[InstanceData]): Ground truth of each image.
            batch_img_metas (list[dict]): Meta information of each image; may hold
                ``partially_annotated`` and ``partial_labels``.
            batch_gt_instances_ignore (list[InstanceData], optional): Ignored boxes.

        Returns:
            dict: ``loss_cls`` (a list of one tensor in ``'all_levels'`` mode, of one per
            level in ``'per_level'`` mode) and ``loss_bbox`` (per-level list, as RetinaHead).
        """
        if self.cls_loss_mode == 'per_level':
            return self.with_batch_status(super().loss_by_feat, cls_scores, bbox_preds,
                                          batch_gt_instances, batch_img_metas,
                                          batch_gt_instances_ignore)
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f'DecoupledRetinaHead: got {len(featmap_sizes)} feature levels, '
                             f'the anchor generator has {self.prior_generator.num_levels}')
        device = cls_scores[0].device
        anchor_list, valid_flag_list = self.get_anchors(
            featmap_sizes, batch_img_metas, device=device)
        (labels_list, label_weights_list, bbox_targets_list, bbox_weights_list,
         avg_factor) = self.get_targets(
             anchor_list,
             valid_flag_list,
             batch_gt_instances,
             batch_img_metas,
             batch_gt_instances_ignore=batch_gt_instances_ignore)

        num_level_anchors = [anchors.size(0) for anchors in anchor_list[0]]
        all_anchor_list = images_to_levels([cat_boxes(anchors) for anchors in anchor_list],
                                           num_level_anchors)
        losses_bbox, = multi_apply(self._loss_bbox_single, bbox_preds, all_anchor_list,
                                   bbox_targets_list, bbox_weights_list,
                                   avg_factor=avg_factor)

        flat_scores = torch.cat([score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                                 for score in cls_scores])
        flat_labels = torch.cat([labels.reshape(-1) for labels in labels_list])
        flat_weights = torch.cat([weights.reshape(-1) for weights in label_weights_list])
        image_index = level_major_index(len(batch_img_metas), num_level_anchors, device)
        level_index = level_major_levels(len(batch_img_metas), num_level_anchors, device)
        with self.batch_status(batch_img_metas, batch_gt_instances), \
                self.rows_from_images(image_index, level_index=level_index):
            loss_cls = self.loss_cls(flat_scores, flat_labels, flat_weights,
                                     avg_factor=avg_factor)
        return dict(loss_cls=[loss_cls], loss_bbox=losses_bbox)
