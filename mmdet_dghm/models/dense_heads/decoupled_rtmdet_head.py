"""RTMDet's heads whose classification loss sees the annotation status of each element."""
from mmdet.models.dense_heads import RTMDetHead, RTMDetSepBNHead
from mmdet.registry import MODELS

from ..status_aware_head import StatusAwareHeadMixin, image_major_index, one_level


class RTMDetStatusRows(StatusAwareHeadMixin):
    """The rows of RTMDet's level losses: its (B, A_l) per-image targets, image-major.

    RTMDet hands its classification loss IoU-aware soft targets, ``(labels, scores)``, as
    ``QualityFocalLoss`` takes them, with ``avg_factor=1`` (the head divides the per-level
    sums by the batch's summed quality afterwards). ``DGHMCLoss`` takes the soft form; the
    other status-aware losses refuse it, naming it.
    """

    def loss_by_feat(self, *args, **kwargs) -> dict:
        """RTMDetHead's ``loss_by_feat`` with the batch's status."""
        return self.with_batch_status(super().loss_by_feat, *args, **kwargs)

    def loss_by_feat_single(self, cls_score, bbox_pred, labels, label_weights, bbox_targets,
                            assign_metrics, stride) -> tuple:
        """RTMDetHead's level loss, each row of the level given its image's status."""
        image_index = image_major_index(*labels.shape[:2], labels.device)
        with self.rows_from_images(image_index, level_index=one_level(image_index)):
            return super().loss_by_feat_single(cls_score, bbox_pred, labels, label_weights,
                                               bbox_targets, assign_metrics, stride)


@MODELS.register_module()
class DecoupledRTMDetHead(RTMDetStatusRows, RTMDetHead):
    """RTMDetHead whose classification loss sees each (prior, class) element's status.

    Same arguments, layers, dynamic soft label assignment, box loss and predictions as
    :class:`mmdet.models.dense_heads.RTMDetHead`; per level, each prior's row gets its
    image's status (:class:`RTMDetStatusRows`).
    """


@MODELS.register_module()
class DecoupledRTMDetSepBNHead(RTMDetStatusRows, RTMDetSepBNHead):
    """RTMDetSepBNHead (what mmdet's RTMDet configs build) with each element's status.

    Same arguments, layers, assignment, box loss and predictions as
    :class:`mmdet.models.dense_heads.RTMDetSepBNHead`; per level, each prior's row gets its
    image's status (:class:`RTMDetStatusRows`).
    """
