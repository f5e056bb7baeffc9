"""DINOHead whose classification losses see the annotation status of each query."""
from mmdet.models.dense_heads import DINOHead
from mmdet.registry import MODELS

from ..status_aware_head import StatusAwareHeadMixin, image_major_index


@MODELS.register_module()
class DecoupledDINOHead(StatusAwareHeadMixin, DINOHead):
    """DINOHead whose classification losses see each (query, class) element's status.

    Same arguments, layers, matching, denoising, box losses and predictions as
    :class:`mmdet.models.dense_heads.DINOHead`. DINO calls its classification loss once per
    decoder layer for the matching queries and once for the encoder's proposals
    (``loss_by_feat_single``), and once per decoder layer for the denoising queries
    (``_loss_dn_single``); each call flattens (B, Q, C) scores image-major, so each query's
    row gets the status of its image (:class:`~mmdet_dghm.models.status_aware_head.
    StatusAwareHeadMixin`): matched or unmatched, a query's negative for class c is noisy
    when class c is partial in its image; padded denoising queries are negatives of their
    image like any other. Hungarian matching (its own focal cost) is unchanged. Other losses
    run DINOHead's code unchanged.
    """

    def loss_by_feat(self, *args, **kwargs) -> dict:
        """DINOHead's ``loss_by_feat`` with the batch's status."""
        return self.with_batch_status(super().loss_by_feat, *args, **kwargs)

    def loss_by_feat_single(self, cls_scores, bbox_preds, batch_gt_instances,
                            batch_img_metas) -> tuple:
        """The matching loss of one layer (or the encoder), each query its image's status."""
        with self.rows_from_images(image_major_index(*cls_scores.shape[:2],
                                                     cls_scores.device)):
            return super().loss_by_feat_single(cls_scores, bbox_preds, batch_gt_instances,
                                               batch_img_metas)

    def _loss_dn_single(self, dn_cls_scores, dn_bbox_preds, batch_gt_instances,
                        batch_img_metas, dn_meta) -> tuple:
        """The denoising loss of one layer, each query its image's status."""
        with self.rows_from_images(image_major_index(*dn_cls_scores.shape[:2],
                                                     dn_cls_scores.device)):
            return super()._loss_dn_single(dn_cls_scores, dn_bbox_preds, batch_gt_instances,
                                           batch_img_metas, dn_meta)
