"""Test-only classification losses that record what a head passes them."""
from typing import List

from mmdet.registry import MODELS
from torch import nn

from mmdet_dghm.models.losses.roi_classifier_form import RoIClassifierForm


def _copy(value):
    if isinstance(value, tuple):  # RTMDet's (labels, scores) soft targets
        return tuple(_copy(item) for item in value)
    return None if value is None else value.detach().clone()


@MODELS.register_module(name='RecordingPartialLoss', force=True)
class RecordingPartialLoss(RoIClassifierForm, nn.Module):
    """Declares ``partial``; records each call's scores, targets, weights and mask."""

    def __init__(self, use_sigmoid: bool = True, roi_classifier: bool = False) -> None:
        super().__init__()
        self.use_sigmoid = use_sigmoid
        self.use_roi_classifier_form(roi_classifier)
        self.calls: List[dict] = []

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None,
                partial=None):
        self.calls.append(dict(pred=_copy(pred), target=_copy(target), weight=_copy(weight),
                               avg_factor=avg_factor, partial=_copy(partial)))
        return pred.sum() * 0


@MODELS.register_module(name='RecordingPlainLoss', force=True)
class RecordingPlainLoss(RecordingPartialLoss):
    """The stock mmdet signature (no ``partial``)."""

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        return super().forward(pred, target, weight, avg_factor, reduction_override)
