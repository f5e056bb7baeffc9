"""ATSSHead whose classification loss sees the annotation status of each element."""
from mmdet.models.dense_heads import ATSSHead
from mmdet.registry import MODELS

from ..partial_annotation import PartialAnnotationMixin


@MODELS.register_module()
class DecoupledATSSHead(PartialAnnotationMixin, ATSSHead):
    """ATSSHead whose classification loss sees each (anchor, class) element's status.

    Same arguments, layers, targets, box and centerness losses and predictions as
    :class:`mmdet.models.dense_heads.ATSSHead`. ATSS computes its classification loss per
    FPN level (``loss_by_feat_single``, image-major within the level); the head keeps that
    stock code path, and a loss declaring ``partial`` (``DGHMCLoss``) gets each row's status
    on every level (:class:`~mmdet_dghm.models.partial_annotation.PartialAnnotationMixin`).
    A gradient-density loss therefore histograms each level on its own, and its per-level
    losses are summed like ATSS's (``DecoupledRetinaHead`` is the head with one call over
    all levels). Other losses run ATSSHead's code unchanged.
    """
