"""RetinaHead that carries each image's annotation attribute to its classification loss.

Paper section 3.1: every anchor inherits the image-wise label of its image (abnormal images
are *partially* annotated, normal images *exhaustively*), so the classification loss can treat
the negatives of partially annotated images as noisy (S_n) and everything else as clean (S_c).
"""
import inspect
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from mmdet.models.dense_heads import RetinaHead
from mmdet.models.utils import images_to_levels, multi_apply
from mmdet.registry import MODELS
from mmdet.structures.bbox import cat_boxes, get_box_tensor
from mmdet.utils import InstanceList, OptInstanceList

PARTIAL_KEY = "partially_annotated"
CLS_LOSS_MODES = ("all_levels", "per_level")


def loss_accepts_partial(loss: nn.Module) -> bool:
    """Whether a loss module's ``forward`` declares a ``partial`` argument.

    Only an explicitly named parameter counts: a ``**kwargs`` catch-all (mmdet's ``GHMC``,
    ``CrossEntropyLoss``) would swallow the mask silently or forward it somewhere that rejects it.

    Args:
        loss (nn.Module): A built classification loss.

    Returns:
        bool: True if ``loss.forward`` takes ``partial`` by name.
    """
    param = inspect.signature(loss.forward).parameters.get("partial")
    return param is not None and param.kind in (param.POSITIONAL_OR_KEYWORD,
                                                param.KEYWORD_ONLY)


def image_partial_flags(batch_img_metas: Sequence[dict], batch_gt_instances: InstanceList,
                        device: torch.device) -> Tensor:
    """Image-wise annotation attribute of a batch (paper section 3.1).

    The attribute is read from ``img_meta['partially_annotated']``. Where the key is absent
    (e.g. a stock COCO pipeline) it is derived as "the image has at least one ground-truth
    box": such an image comes from an annotated (abnormal) source, an image without boxes is
    taken as exhaustively annotated. Datasets with partial annotation should set the key
    explicitly, because a crop of an abnormal image may hold no box and still be partial.

    Args:
        batch_img_metas (Sequence[dict]): Meta information of each image.
        batch_gt_instances (list[InstanceData]): Ground truth of each image (``bboxes``).
        device (torch.device): Device of the returned tensor.

    Returns:
        Tensor: (B,) bool, True where the image is partially annotated.

    Raises:
        TypeError: If a ``partially_annotated`` value is not a bool.
    """
    flags = []
    for img_meta, gt_instances in zip(batch_img_metas, batch_gt_instances):
        if PARTIAL_KEY not in img_meta:
            flags.append(len(gt_instances) > 0)
            continue
        value = img_meta[PARTIAL_KEY]
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(
                f"DecoupledRetinaHead: img_meta['{PARTIAL_KEY}'] must be a bool, got "
                f"{type(value).__name__} ({value!r}) for image {img_meta.get('img_path')}")
        flags.append(bool(value))
    return torch.tensor(flags, dtype=torch.bool, device=device)


def broadcast_to_anchors(image_flags: Tensor, num_level_anchors: Sequence[int]) -> List[Tensor]:
    """Give every anchor of every FPN level the attribute of its image.

    The order matches mmdet's flattened per-level targets: ``labels_list[l].reshape(-1)`` and
    ``cls_scores[l].permute(0, 2, 3, 1).reshape(-1, C)`` are image-major within level ``l``.

    Args:
        image_flags (Tensor): (B,) bool attribute of each image.
        num_level_anchors (Sequence[int]): Anchors per image on each level (H_l * W_l * A).

    Returns:
        list[Tensor]: For each level, a (B * num_level_anchors[l],) bool tensor.
    """
    num_imgs = image_flags.numel()
    return [image_flags[:, None].expand(num_imgs, n).reshape(-1) for n in num_level_anchors]


@MODELS.register_module()
class DecoupledRetinaHead(RetinaHead):
    """RetinaHead whose classification loss sees each anchor's image-wise attribute.

    Same arguments, layers, regression loss and prediction path as
    :class:`mmdet.models.dense_heads.RetinaHead`; only :meth:`loss_by_feat` differs:

    - each image's ``partially_annotated`` attribute (see :func:`image_partial_flags` for the
      fallback when the key is absent) is broadcast to all its anchors on all levels;
    - a loss whose ``forward`` declares ``partial`` (``DGHMCLoss``) receives that (N,) bool
      mask; every other loss (focal, sigmoid CE, GHM-C, SCE) is called exactly like
      RetinaHead calls it (``pred, target, weight, avg_factor=...``), so one head serves
      every loss of a comparison;
    - with ``cls_loss_mode='all_levels'`` the classification loss is called once over all
      anchors of all levels of the whole batch (the paper's N in Eq. 12, and the population
      a gradient-density loss must histogram); ``'per_level'`` keeps mmdet's one call per
      FPN level, for comparison. For losses that are plain sums normalised by ``avg_factor``
      (focal, CE) both modes give the same value.

    Args:
        *args: Positional arguments of RetinaHead (``num_classes``, ``in_channels``).
        cls_loss_mode (str): ``'all_levels'`` or ``'per_level'``. Defaults to
            ``'all_levels'``.
        **kwargs: Keyword arguments of RetinaHead.
    """

    def __init__(self, *args, cls_loss_mode: str = "all_levels", **kwargs) -> None:
        if cls_loss_mode not in CLS_LOSS_MODES:
            raise ValueError(f"DecoupledRetinaHead: cls_loss_mode must be one of "
                             f"{CLS_LOSS_MODES}, got {cls_loss_mode!r}")
        super().__init__(*args, **kwargs)
        self.cls_loss_mode = cls_loss_mode
        self.loss_cls_takes_partial = loss_accepts_partial(self.loss_cls)

    def _loss_cls(self, cls_score: Tensor, labels: Tensor, label_weights: Tensor,
                  partial: Tensor, avg_factor: float) -> Tensor:
        """Classification loss of flattened anchors: (N, C) scores, (N,) targets and mask."""
        if self.loss_cls_takes_partial:
            return self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor,
                                 partial=partial)
        return self.loss_cls(cls_score, labels, label_weights, avg_factor=avg_factor)

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
        """Losses of a batch, the classification one aware of each image's attribute.

        Args:
            cls_scores (list[Tensor]): Per level, (B, A * C, H, W) scores.
            bbox_preds (list[Tensor]): Per level, (B, A * 4, H, W) box deltas.
            batch_gt_instances (list[InstanceData]): Ground truth of each image.
            batch_img_metas (list[dict]): Meta information of each image; may hold
                ``partially_annotated``.
            batch_gt_instances_ignore (list[InstanceData], optional): Ignored boxes.

        Returns:
            dict: ``loss_cls`` (one tensor in ``'all_levels'`` mode, a per-level list in
            ``'per_level'`` mode) and ``loss_bbox`` (per-level list, as RetinaHead).
        """
        featmap_sizes = [featmap.size()[-2:] for featmap in cls_scores]
        if len(featmap_sizes) != self.prior_generator.num_levels:
            raise ValueError(f"DecoupledRetinaHead: got {len(featmap_sizes)} feature levels, "
                             f"the anchor generator has {self.prior_generator.num_levels}")
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

        image_flags = image_partial_flags(batch_img_metas, batch_gt_instances, device)
        partial_list = broadcast_to_anchors(image_flags, num_level_anchors)
        flat_scores = [score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                       for score in cls_scores]
        flat_labels = [labels.reshape(-1) for labels in labels_list]
        flat_weights = [weights.reshape(-1) for weights in label_weights_list]
        if self.cls_loss_mode == "all_levels":
            loss_cls = self._loss_cls(torch.cat(flat_scores), torch.cat(flat_labels),
                                      torch.cat(flat_weights), torch.cat(partial_list),
                                      avg_factor)
        else:
            loss_cls = [self._loss_cls(*level, avg_factor) for level in
                        zip(flat_scores, flat_labels, flat_weights, partial_list)]
        return dict(loss_cls=loss_cls, loss_bbox=losses_bbox)
