"""The form of a sigmoid status-aware loss that mmdet's RoI box heads (``BBoxHead``) train.

A stock RoI classifier is a (C + 1)-way softmax whose last channel is the background. A
status-aware loss is defined on per-class sigmoid outputs: the status of element (RoI i,
class c) says whether the negative of c is noisy, and a background RoI is a row of C
negatives, each noisy where its class is partial in the RoI's image. ``BBoxHead`` sizes and
reads its classifier through a loss's ``custom_cls_channels`` interface, the one mmdet's own
``CrossEntropyCustomLoss(use_sigmoid=True)`` implements; with ``roi_classifier=True`` a
status-aware loss implements it the same way:

- C output channels (no background channel): labels C (background) are all-negative rows;
- scores: the C sigmoids and a background column 1 - sum, clamped to [0, 1], which
  ``multiclass_nms`` drops;
- accuracy (``acc_classes``): top-1 accuracy over the foreground RoIs.
"""
from typing import Dict

import torch
from mmdet.models.losses import accuracy
from torch import Tensor


class RoIClassifierForm:
    """mmdet's ``custom_cls_channels`` interface for a sigmoid loss, on when asked for.

    Dense heads read ``custom_cls_channels`` too (as C sigmoid scores without a background
    column), so the interface is off unless :meth:`use_roi_classifier_form` turns it on.
    """

    custom_cls_channels = False
    custom_activation = False
    custom_accuracy = False

    def use_roi_classifier_form(self, enabled: bool) -> None:
        """Turn mmdet's ``custom_cls_channels`` interface on (RoI box heads) or off."""
        self.custom_cls_channels = self.custom_activation = self.custom_accuracy = enabled

    def get_cls_channels(self, num_classes: int) -> int:
        """C channels: one sigmoid per class, no background channel."""
        return num_classes

    def get_activation(self, cls_score: Tensor) -> Tensor:
        """(N, C + 1) scores: the sigmoids and a background column 1 - sum in [0, 1]."""
        scores = cls_score.sigmoid()
        background = (1 - scores.sum(dim=1, keepdim=True)).clamp(min=0, max=1)
        return torch.cat([scores, background], dim=1)

    def get_accuracy(self, cls_score: Tensor, labels: Tensor) -> Dict[str, Tensor]:
        """Top-1 accuracy over the foreground RoIs (label < C), as ``acc_classes``."""
        foreground = labels < cls_score.size(1)
        return dict(acc_classes=accuracy(cls_score[foreground], labels[foreground]))
