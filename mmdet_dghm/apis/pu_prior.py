"""The class prior of PU learning for an anchor head whose targets are sampled.

``PULoss(missing_rate=m)`` sets the prior of each loss call from that call's counts,
pi = m / (1 - m) * n_P / n_U (:func:`~mmdet_dghm.models.losses.pu_loss.prior_from_missing_rate`).
That holds where the call sees every anchor (RetinaNet, ATSS, FCOS). A head whose sampler keeps
a few hundred of the image's anchors (mmdet's RPN: 256, half of them positive where it can)
hands the loss a sample in which labeled positives are over-represented by the ratio of the two
sampling rates, often 50x or more: the per-call prior comes out that much too large. The prior
is a property of the anchors before sampling; sampling picks unlabeled anchors uniformly, so a
fixed ``prior`` measured on them is the share of hidden objects among the sampled ones too.

:func:`anchor_prior_counts` counts, over training images, the labeled positive anchors and
the unlabeled (background) anchors of the partially annotated images and classes, with the
head's own anchors and assigner and before its sampler; :func:`measure_anchor_prior` turns
them into pi per class. ``tools/pu_prior.py`` runs it on a config's training data.
"""
from dataclasses import dataclass
from typing import Iterable, List, Sequence

import torch
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor

from ..models.losses.pu_loss import prior_from_missing_rate

__all__ = ['PriorCounts', 'anchor_prior_counts', 'featmap_sizes', 'measure_anchor_prior']


@dataclass
class PriorCounts:
    """Anchor counts of the partially annotated images and classes, per class.

    Attributes:
        num_positive (Tensor): (C,) labeled positive anchors, n_P.
        num_unlabeled (Tensor): (C,) background anchors, n_U.
        num_images (int): Images counted.
    """

    num_positive: Tensor
    num_unlabeled: Tensor
    num_images: int = 0

    def __iadd__(self, other: 'PriorCounts') -> 'PriorCounts':
        self.num_positive = self.num_positive + other.num_positive
        self.num_unlabeled = self.num_unlabeled + other.num_unlabeled
        self.num_images += other.num_images
        return self

    def prior(self, missing_rate: float) -> Tensor:
        """pi = m / (1 - m) * n_P / n_U of each class, clamped to [0, 1]."""
        return prior_from_missing_rate(missing_rate, self.num_positive, self.num_unlabeled)


def featmap_sizes(img_shape: Sequence[int], strides: Iterable, pad_size_divisor: int = 1
                  ) -> List[tuple]:
    """(h, w) of each level's map for an image padded to ``pad_size_divisor``, as an FPN
    with ceil-mode downsampling gives them."""
    h, w = (-(-int(size) // pad_size_divisor) * pad_size_divisor for size in img_shape[:2])
    sizes = []
    for stride in strides:
        sy = stride[1] if isinstance(stride, (tuple, list)) else stride
        sx = stride[0] if isinstance(stride, (tuple, list)) else stride
        sizes.append((-(-h // int(sy)), -(-w // int(sx))))
    return sizes


def anchor_prior_counts(head, img_shape: Sequence[int], gt_instances: InstanceData,
                        status: Tensor, ignored_instances: InstanceData = None,
                        pad_size_divisor: int = 1) -> PriorCounts:
    """One image's counts with ``head``'s anchors and assigner, before any sampling.

    Args:
        head: A built anchor head with ``prior_generator`` and a ``MaxIoUAssigner``-style
            ``assigner`` (mmdet's RPN and RetinaNet heads, built with their train_cfg).
        img_shape (Sequence[int]): (h, w) of the input image.
        gt_instances (InstanceData): The image's annotated boxes and labels.
        status (Tensor): (C,) bool, True where class c is partially annotated in the image
            ((1,) for a class-agnostic head).
        ignored_instances (InstanceData, optional): Boxes the assigner ignores.
        pad_size_divisor (int): The data preprocessor's padding. Defaults to 1.

    Returns:
        PriorCounts: n_P and n_U of each class where the class is partial, else 0.
    """
    num_classes = status.numel()
    sizes = featmap_sizes(img_shape, head.prior_generator.strides, pad_size_divisor)
    anchors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu'))
    gt = InstanceData(bboxes=get_box_tensor(gt_instances.bboxes).float(),
                      labels=(gt_instances.labels if num_classes > 1
                              else torch.zeros_like(gt_instances.labels)))
    ignored = None
    if ignored_instances is not None and len(ignored_instances) > 0:
        ignored = InstanceData(bboxes=get_box_tensor(ignored_instances.bboxes).float())
    assigned = head.assigner.assign(InstanceData(priors=anchors), gt, ignored)
    positive = assigned.gt_inds > 0
    labels = assigned.labels[positive].clamp(min=0)
    num_positive = torch.bincount(labels, minlength=num_classes)[:num_classes].float()
    num_unlabeled = (assigned.gt_inds == 0).sum().float().expand(num_classes)
    partial = status.float()
    return PriorCounts(num_positive * partial, num_unlabeled * partial, 1)


def measure_anchor_prior(head, samples: Iterable, num_classes: int,
                         pad_size_divisor: int = 1) -> PriorCounts:
    """Counts summed over ``samples``, the packed training samples a dataset yields.

    Args:
        head: As in :func:`anchor_prior_counts`; a status-aware head gives each sample's
            status (``annotation_status``).
        samples (Iterable[dict]): ``dataset[i]`` outputs (``inputs``, ``data_samples``).
        num_classes (int): C of the status (1 for a class-agnostic head).
        pad_size_divisor (int): The data preprocessor's padding. Defaults to 1.

    Returns:
        PriorCounts: The sums.
    """
    counts = PriorCounts(torch.zeros(num_classes), torch.zeros(num_classes), 0)
    for sample in samples:
        data_sample = sample['data_samples']
        gt = data_sample.gt_instances
        status = head.annotation_status([data_sample.metainfo], [gt], torch.device('cpu'))[0]
        ignored = data_sample.get('ignored_instances')
        counts += anchor_prior_counts(head, sample['inputs'].shape[-2:], gt, status, ignored,
                                      pad_size_divisor)
    return counts
