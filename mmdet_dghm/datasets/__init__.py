from .class_union_concat_dataset import ClassUnionConcatDataset
from .digestpath import DigestPathDataset
from .partial_coco_dataset import PartialCocoDataset
from .partial_lvis_dataset import PartialLVISV1Dataset
from .samplers import *  # noqa: F401,F403
from .samplers import __all__ as _samplers_all
from .transforms import *  # noqa: F401,F403
from .transforms import __all__ as _transforms_all

__all__ = [
    'ClassUnionConcatDataset', 'DigestPathDataset', 'PartialCocoDataset',
    'PartialLVISV1Dataset', *_samplers_all, *_transforms_all
]
