"""YOLOXHead whose objectness loss sees the annotation status of each prior."""
from typing import Sequence

from mmdet.models.dense_heads import YOLOXHead
from mmdet.registry import MODELS
from torch import Tensor

from ..losses.statistic_population import feature_level_index
from ..status_aware_head import StatusAwareHeadMixin, image_major_index


@MODELS.register_module()
class DecoupledYOLOXHead(StatusAwareHeadMixin, YOLOXHead):
    """YOLOXHead whose objectness loss sees each prior's status.

    Same arguments, layers, SimOTA assignment, class, box and L1 losses and predictions as
    :class:`mmdet.models.dense_heads.YOLOXHead`. YOLOX's negatives live in its objectness
    branch (``loss_obj``; ``loss_cls`` only sees the matched priors, with IoU-aware soft
    targets), so the status goes there: objectness is class-agnostic, and a negative prior is
    noisy when its image has any partial label. ``loss_by_feat`` calls ``loss_obj`` once over
    the (B, P) per-image priors of all levels, flattened image-major; each prior's row gets
    its image's status (:class:`~mmdet_dghm.models.status_aware_head.StatusAwareHeadMixin`).
    YOLOX divides ``loss_obj`` by the number of positives: a sigmoid status-aware loss with
    ``reduction='sum'`` gives the stock value where no status plays a part.
    """

    status_losses = ('loss_obj', )
    class_agnostic = True

    def loss_by_feat(self, cls_scores: Sequence[Tensor], *args, **kwargs) -> dict:
        """YOLOXHead's ``loss_by_feat``, each prior given its image's status."""
        num_images, device = cls_scores[0].size(0), cls_scores[0].device
        per_level = [score[0, 0].numel() for score in cls_scores]
        image_index = image_major_index(num_images, sum(per_level), device)
        # Each image's priors run level by level.
        level_index = feature_level_index(per_level, device).repeat(num_images)
        stock = super().loss_by_feat
        with self.batch_status(*self.metas_and_gt(stock, cls_scores, *args, **kwargs)), \
                self.rows_from_images(image_index, level_index=level_index):
            return stock(cls_scores, *args, **kwargs)
