"""FCOSHead whose classification loss sees the annotation status of each element."""
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS

from ..partial_annotation import PartialAnnotationMixin


@MODELS.register_module()
class DecoupledFCOSHead(PartialAnnotationMixin, FCOSHead):
    """FCOSHead whose classification loss sees each (point, class) element's status.

    Same arguments, layers, targets, box and centerness losses and predictions as
    :class:`mmdet.models.dense_heads.FCOSHead`. ``FCOSHead.loss_by_feat`` calls the
    classification loss once over the points of all levels of the whole batch (level-major,
    image-major within a level); a loss declaring ``partial`` (``DGHMCLoss``) gets each row's
    status in that order (:class:`~mmdet_dghm.models.partial_annotation.PartialAnnotationMixin`),
    so a gradient-density loss histograms the whole batch at once. Other losses run
    FCOSHead's code unchanged.
    """
