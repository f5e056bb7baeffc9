"""StandardRoIHead (Faster / Mask R-CNN) whose box classifier sees each RoI's status."""
from typing import List, Tuple

from mmdet.models.roi_heads import StandardRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from ..status_aware_head import StatusAwareHeadMixin, loss_accepts_partial


def check_roi_classifier_form(head_name: str, bbox_heads) -> None:
    """A status-aware box classifier must be built in its RoI form (C sigmoid channels).

    Without it ``BBoxHead`` would size a (C + 1)-way softmax output and hand the sigmoid loss
    a background channel as if it were a class.

    Raises:
        ValueError: Naming the head, the loss and the option to set.
    """
    for bbox_head in bbox_heads:
        loss = bbox_head.loss_cls
        if (loss_accepts_partial(loss)
                and not getattr(loss, 'custom_cls_channels', False)):
            raise ValueError(f'{head_name}: the box classifier {type(loss).__name__} must be '
                             f'built in its RoI form: set roi_classifier=True (and '
                             f'use_sigmoid=True) in bbox_head.loss_cls')


@MODELS.register_module()
class DecoupledStandardRoIHead(StatusAwareHeadMixin, StandardRoIHead):
    """StandardRoIHead whose box classifier sees each (RoI, class) element's status.

    Same arguments, assigner, sampler, box and mask heads and predictions as
    :class:`mmdet.models.roi_heads.StandardRoIHead` (Faster R-CNN, Mask R-CNN). The box
    head's classification loss is called once over the sampled RoIs of the batch, a different
    number per image; each RoI's row gets the status of its image, ``rois[:, 0]``, whatever
    its label: a background RoI's negative for class c is noisy where c is partial in its
    image (:class:`~mmdet_dghm.models.status_aware_head.StatusAwareHeadMixin`). A
    status-aware classifier is built in its RoI form (``roi_classifier=True``: C sigmoid
    channels through mmdet's ``custom_cls_channels`` interface, as mmdet's
    ``CrossEntropyCustomLoss``); other losses run StandardRoIHead's code unchanged.

    Raises:
        ValueError: At construction, for a status-aware classifier without its RoI form.
    """

    status_losses = ('bbox_head.loss_cls', )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.with_bbox:
            check_roi_classifier_form(type(self).__name__, [self.bbox_head])

    @property
    def status_num_classes(self) -> int:
        """C: the box head's classes."""
        return self.bbox_head.num_classes

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """StandardRoIHead's ``loss`` with the batch's status."""
        with self.batch_status([sample.metainfo for sample in batch_data_samples],
                               [sample.gt_instances for sample in batch_data_samples]):
            return super().loss(x, rpn_results_list, batch_data_samples)

    def bbox_loss(self, x: Tuple[Tensor], sampling_results: List[SamplingResult]) -> dict:
        """The box head's loss, each sampled RoI given its image's status."""
        rois = bbox2roi([res.priors for res in sampling_results])
        extractor = self.bbox_roi_extractor
        with self.rows_from_images(rois[:, 0].long(), level_index=extractor.map_roi_levels(
                rois, extractor.num_inputs)):
            return super().bbox_loss(x, sampling_results)
