"""CascadeRoIHead (Cascade R-CNN) whose box classifiers see each RoI's status, every stage."""
import copy
from typing import List, Optional, Tuple

from mmdet.models.roi_heads import CascadeRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import InstanceList
from torch import Tensor

from ..status_aware_head import StatusAwareHeadMixin
from .decoupled_standard_roi_head import check_roi_classifier_form


@MODELS.register_module()
class DecoupledCascadeRoIHead(StatusAwareHeadMixin, CascadeRoIHead):
    """CascadeRoIHead whose box classifiers see each (RoI, class) element's status.

    Same arguments, stages, assigners, samplers, refinement and predictions as
    :class:`mmdet.models.roi_heads.CascadeRoIHead`. Each stage's classification loss is
    called once over that stage's sampled RoIs; each RoI's row gets the status of its image,
    ``rois[:, 0]``, whatever its label (as :class:`DecoupledStandardRoIHead`), on every stage
    whose classifier takes the status. Status-aware classifiers are built in their RoI form
    (``roi_classifier=True``).

    Args:
        *args: Positional arguments of CascadeRoIHead.
        loss_cls (dict, optional): The classification loss of every stage's box head,
            replacing the one each stage's config gives (the stages are a list, which a child
            config can only restate whole). Defaults to None: each stage keeps its own.
        **kwargs: Keyword arguments of CascadeRoIHead.

    Raises:
        ValueError: At construction, for a status-aware classifier without its RoI form.
    """

    def __init__(self, *args, loss_cls: Optional[dict] = None, **kwargs) -> None:
        if loss_cls is not None:
            # A single dict is replicated per stage by CascadeRoIHead itself.
            stages = kwargs['bbox_head']
            kwargs['bbox_head'] = dict(stages, loss_cls=loss_cls) if isinstance(stages, dict) \
                else [dict(stage, loss_cls=copy.deepcopy(loss_cls)) for stage in stages]
        super().__init__(*args, **kwargs)
        self.status_losses = tuple(f'bbox_head.{stage}.loss_cls'
                                   for stage in range(self.num_stages))
        check_roi_classifier_form(type(self).__name__, self.bbox_head)

    @property
    def status_num_classes(self) -> int:
        """C: the box heads' classes."""
        return self.bbox_head[-1].num_classes

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> dict:
        """CascadeRoIHead's ``loss`` with the batch's status."""
        with self.batch_status([sample.metainfo for sample in batch_data_samples],
                               [sample.gt_instances for sample in batch_data_samples]):
            return super().loss(x, rpn_results_list, batch_data_samples)

    def bbox_loss(self, stage: int, x: Tuple[Tensor],
                  sampling_results: List[SamplingResult]) -> dict:
        """The stage's box head loss, each sampled RoI given its image's status."""
        rois = bbox2roi([res.priors for res in sampling_results])
        extractor = self.bbox_roi_extractor[stage]
        with self.rows_from_images(rois[:, 0].long(), [f'bbox_head.{stage}.loss_cls'],
                                   extractor.map_roi_levels(rois, extractor.num_inputs)):
            return super().bbox_loss(stage, x, sampling_results)
