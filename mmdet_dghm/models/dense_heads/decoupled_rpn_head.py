"""RPNHead whose objectness loss sees the annotation status of each anchor."""
from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS

from ..status_aware_head import StatusAwareHeadMixin, image_major_index, one_level


@MODELS.register_module()
class DecoupledRPNHead(StatusAwareHeadMixin, RPNHead):
    """RPNHead (two-stage detectors) whose objectness loss sees each anchor's status.

    Same arguments, layers, targets, box loss and proposals as
    :class:`mmdet.models.dense_heads.RPNHead`. Objectness is class-agnostic: a negative
    anchor is noisy when its image has any partial label (``partially_annotated``, or a
    non-empty ``partial_labels``, whose range the RPN cannot check: it does not know the
    dataset's classes). The loss is computed per FPN level as in ``AnchorHead``, the rows of
    a level being its (B, A_l) per-image targets flattened image-major; a loss declaring
    ``partial`` (``DGHMCLoss``) gets each row's (N,) status on every level
    (:class:`~mmdet_dghm.models.status_aware_head.StatusAwareHeadMixin`), so a
    gradient-density loss histograms each level on its own.
    """

    class_agnostic = True

    def loss_by_feat(self, *args, **kwargs) -> dict:
        """RPNHead's ``loss_by_feat`` with the batch's status."""
        return self.with_batch_status(super().loss_by_feat, *args, **kwargs)

    def loss_by_feat_single(self, cls_score, bbox_pred, anchors, labels, label_weights,
                            bbox_targets, bbox_weights, avg_factor) -> tuple:
        """AnchorHead's level loss, each row of the level given its image's status."""
        image_index = image_major_index(*labels.shape[:2], labels.device)
        with self.rows_from_images(image_index, level_index=one_level(image_index)):
            return super().loss_by_feat_single(cls_score, bbox_pred, anchors, labels,
                                               label_weights, bbox_targets, bbox_weights,
                                               avg_factor)
