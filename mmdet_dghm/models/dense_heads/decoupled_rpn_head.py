"""RPNHead whose objectness loss sees the annotation status of each anchor."""
from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS

from ..partial_annotation import PartialAnnotationMixin


@MODELS.register_module()
class DecoupledRPNHead(PartialAnnotationMixin, RPNHead):
    """RPNHead (two-stage detectors) whose objectness loss sees each anchor's status.

    Same arguments, layers, targets, box loss and proposals as
    :class:`mmdet.models.dense_heads.RPNHead`. Objectness is class-agnostic: a negative
    anchor is noisy when its image has any partial label (``partially_annotated``, or a
    non-empty ``partial_labels``, whose range the RPN cannot check: it does not know the
    dataset's classes). The loss is computed per FPN level as in ``AnchorHead``; a loss
    declaring ``partial`` (``DGHMCLoss``) gets each row's (N,) status on every level
    (:class:`~mmdet_dghm.models.partial_annotation.PartialAnnotationMixin`), so a
    gradient-density loss histograms each level on its own. The RoI head is untouched.
    """
