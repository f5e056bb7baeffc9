"""The annotation status a dataset writes must reach the model through ``PackDetInputs``.

``PackDetInputs`` copies only its ``meta_keys`` into a sample's metainfo. A training pipeline
that leaves the status keys out would hand a Decoupled head images without status, and the
head would fall back to "an image with a box is partially annotated": a different method
than the one configured, with no error. The datasets that write status refuse such a
pipeline when they are built.
"""
from typing import Sequence, Tuple

from mmdet.datasets.transforms import PackDetInputs
from mmengine.dataset import Compose

from ..structures.annotation_status import STATUS_KEYS

__all__ = ['STATUS_KEYS', 'check_status_keys', 'dropped_status_keys']


def dropped_status_keys(pipeline: Compose, keys: Sequence[str]) -> Tuple[str, ...]:
    """The keys of ``keys`` that a ``PackDetInputs`` of ``pipeline`` leaves out.

    Args:
        pipeline (Compose): A built pipeline.
        keys (Sequence[str]): Metainfo keys the dataset writes.

    Returns:
        tuple[str]: The keys some ``PackDetInputs`` (or subclass) of the pipeline drops, in
        the order of ``keys``; empty when every packer keeps them or there is no packer.
    """
    packers = [t for t in pipeline.transforms if isinstance(t, PackDetInputs)]
    return tuple(key for key in keys if any(key not in p.meta_keys for p in packers))


def check_status_keys(pipeline: Compose, keys: Sequence[str], test_mode: bool,
                      where: str) -> None:
    """Refuse a training pipeline that drops annotation status the dataset writes.

    Test-mode datasets are not checked: predictions do not use the status.

    Args:
        pipeline (Compose): The dataset's built pipeline.
        keys (Sequence[str]): Metainfo keys the dataset writes.
        test_mode (bool): The dataset's ``test_mode``.
        where (str): The dataset and its annotation file, for the error.

    Raises:
        ValueError: Naming the dataset, the dropped keys and ``meta_keys``.
    """
    dropped = dropped_status_keys(pipeline, keys) if not test_mode else ()
    if dropped:
        raise ValueError(
            f'{where}: the dataset writes the annotation status {tuple(keys)}, but the '
            f"pipeline's PackDetInputs leaves {dropped} out of its meta_keys, so no head "
            f'would see it (a Decoupled head would fall back to "an image with a box is '
            f'partially annotated", a different method). Add {dropped} to PackDetInputs\' '
            f"meta_keys, or start from the shipped 'mmdet_dghm::_base_/datasets/"
            f"partial_coco_detection.py' / 'partial_lvis_v1_detection.py'")
