"""FCOSHead whose classification loss sees the annotation status of each element."""
from typing import List

from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from torch import Tensor

from ..status_aware_head import StatusAwareHeadMixin, level_major_index, level_major_levels


@MODELS.register_module()
class DecoupledFCOSHead(StatusAwareHeadMixin, FCOSHead):
    """FCOSHead whose classification loss sees each (point, class) element's status.

    Same arguments, layers, targets, box and centerness losses and predictions as
    :class:`mmdet.models.dense_heads.FCOSHead`. ``FCOSHead.loss_by_feat`` calls the
    classification loss once over the points of all levels of the whole batch, level-major
    and image-major within a level (its per-level (B, C, H, W) scores flattened and
    concatenated); a loss declaring ``partial`` (``DGHMCLoss``) gets each row its image's
    status in that order (:class:`~mmdet_dghm.models.status_aware_head.StatusAwareHeadMixin`),
    so a gradient-density loss histograms the whole batch at once. Other losses run
    FCOSHead's code unchanged.
    """

    def loss_by_feat(self, cls_scores: List[Tensor], *args, **kwargs) -> dict:
        """FCOSHead's ``loss_by_feat``, each point given its image's status."""
        shape = (cls_scores[0].size(0), [score[0, 0].numel() for score in cls_scores],
                 cls_scores[0].device)
        stock = super().loss_by_feat
        with self.batch_status(*self.metas_and_gt(stock, cls_scores, *args, **kwargs)), \
                self.rows_from_images(level_major_index(*shape),
                                      level_index=level_major_levels(*shape)):
            return stock(cls_scores, *args, **kwargs)
