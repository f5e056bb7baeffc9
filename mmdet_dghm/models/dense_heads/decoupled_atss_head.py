"""ATSSHead whose classification loss sees the annotation status of each element."""
from mmdet.models.dense_heads import ATSSHead
from mmdet.registry import MODELS

from ..status_aware_head import StatusAwareHeadMixin, image_major_index, one_level


@MODELS.register_module()
class DecoupledATSSHead(StatusAwareHeadMixin, ATSSHead):
    """ATSSHead whose classification loss sees each (anchor, class) element's status.

    Same arguments, layers, targets, box and centerness losses and predictions as
    :class:`mmdet.models.dense_heads.ATSSHead`. ATSS computes its classification loss per
    FPN level (``loss_by_feat_single``); the rows of a level are its (B, A_l) per-image
    targets flattened image-major, and a loss declaring ``partial`` (``DGHMCLoss``) gets each
    row its image's status (:class:`~mmdet_dghm.models.status_aware_head.StatusAwareHeadMixin`).
    A gradient-density loss therefore histograms each level on its own, and its per-level
    losses are summed like ATSS's (``DecoupledRetinaHead`` is the head with one call over
    all levels). Other losses run ATSSHead's code unchanged.
    """

    def loss_by_feat(self, *args, **kwargs) -> dict:
        """ATSSHead's ``loss_by_feat`` with the batch's status."""
        return self.with_batch_status(super().loss_by_feat, *args, **kwargs)

    def loss_by_feat_single(self, anchors, cls_score, bbox_pred, centerness, labels,
                            label_weights, bbox_targets, avg_factor) -> tuple:
        """ATSSHead's level loss, each row of the level given its image's status."""
        image_index = image_major_index(*labels.shape[:2], labels.device)
        with self.rows_from_images(image_index, level_index=one_level(image_index)):
            return super().loss_by_feat_single(anchors, cls_score, bbox_pred, centerness,
                                               labels, label_weights, bbox_targets, avg_factor)
