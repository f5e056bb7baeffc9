"""Several datasets with different label sets trained together on the union of their classes."""
from typing import List, Optional, Sequence, Union

import numpy as np
from mmdet.datasets import ConcatDataset
from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset, Compose, force_full_init

from ..structures.annotation_status import PARTIAL_KEY, PARTIAL_LABELS_KEY
from .annotation_status import remap_labels, unannotated_labels, union_classes, union_label_map
from .status_keys import STATUS_KEYS, check_status_keys

#: Metainfo keys that may differ between sources: the union replaces them.
CLASS_KEYS = ('classes', 'palette')


@DATASETS.register_module()
class ClassUnionConcatDataset(ConcatDataset):
    """mmdet's ``ConcatDataset`` of sources that each annotate their own classes.

    Each source's ``metainfo['classes']`` lists the classes it annotates (exhaustively,
    unless its own status says otherwise). The wrapper trains on the union class list:

    - every box label is remapped from the source's label order to the union's;
    - ``partial_labels`` becomes the source's own partial labels (remapped) plus every union
      class the source does not annotate: such a class may be in its images, never boxed;
    - ``partially_annotated`` keeps the source's value (False where the source has none).

    The remapping happens on the data info, before any transform, so the sources are built
    without a pipeline and the wrapper holds it (like mmdet's ``MultiImageMixDataset``).
    ``metainfo['classes']`` is the union; the sources' palettes are dropped (a visualizer
    draws its own). Evaluate on a dataset of the union classes (e.g. a fully annotated
    ``CocoDataset``), not on this wrapper.

    Args:
        datasets (Sequence[BaseDataset | dict]): Sources, each without a pipeline.
        pipeline (Sequence[dict]): Transforms applied to every union data info.
        classes (Sequence[str], optional): The union class list and its label order; it must
            hold every source class. Defaults to the sources' classes in order of first
            appearance.
        lazy_init (bool): Defer loading the sources' annotations. Defaults to False.
        ignore_keys (str | list[str], optional): Further metainfo keys that may differ
            between sources (``classes`` and ``palette`` always may). Defaults to None.
        max_refetch (int): Training retries with another random sample when the pipeline
            returns None. Defaults to 1000.

    Raises:
        ValueError: If a source has a pipeline, sources differ in other metainfo, a class
            name repeats or is missing from ``classes``, the training pipeline's
            ``PackDetInputs`` drops a status key; and, when a sample is read, if a
            box or partial label lies outside its source's class list (naming the source's
            annotation file and the image id).
    """

    def __init__(self,
                 datasets: Sequence[Union[BaseDataset, dict]],
                 pipeline: Sequence[dict],
                 classes: Optional[Sequence[str]] = None,
                 lazy_init: bool = False,
                 ignore_keys: Union[str, List[str], None] = None,
                 max_refetch: int = 1000) -> None:
        extra_keys = [ignore_keys] if isinstance(ignore_keys, str) else list(ignore_keys or [])
        super().__init__(datasets, lazy_init=lazy_init,
                         ignore_keys=[*CLASS_KEYS, *extra_keys])
        if isinstance(self._metainfo, list):
            raise ValueError('ClassUnionConcatDataset: the sources differ in metainfo other '
                             f'than {CLASS_KEYS}; list those keys in ignore_keys')
        self.sources = [str(getattr(d, 'ann_file', f'source {i}'))
                        for i, d in enumerate(self.datasets)]
        for source, dataset in zip(self.sources, self.datasets):
            if len(dataset.pipeline.transforms):
                raise ValueError(f'{source}: a ClassUnionConcatDataset source must have no '
                                 f'pipeline (the wrapper runs it after remapping labels)')
        source_classes = [tuple(d.metainfo['classes']) for d in self.datasets]
        self.classes = tuple(classes) if classes is not None else union_classes(source_classes)
        self.label_maps = [union_label_map(names, self.classes, source)
                           for names, source in zip(source_classes, self.sources)]
        self.unannotated = [unannotated_labels(label_map, len(self.classes))
                            for label_map in self.label_maps]
        self._metainfo = {k: v for k, v in self._metainfo.items() if k not in CLASS_KEYS}
        self._metainfo['classes'] = self.classes
        self.pipeline = Compose(pipeline)
        check_status_keys(self.pipeline, STATUS_KEYS, self.datasets[0].test_mode,
                          f'ClassUnionConcatDataset({", ".join(self.sources)})')
        self.max_refetch = max_refetch

    def to_union(self, data_info: dict, source_idx: int) -> dict:
        """A source's data info with union labels and annotation status (in place).

        Args:
            data_info (dict): A data info of source ``source_idx``.
            source_idx (int): Index of its source in ``datasets``.

        Returns:
            dict: ``data_info``, remapped.
        """
        label_map = self.label_maps[source_idx]
        where = f'{self.sources[source_idx]}: image {data_info.get("img_id")}'
        instances = data_info.get('instances', [])
        labels = remap_labels([inst['bbox_label'] for inst in instances], label_map,
                              'bbox_label', where)
        for inst, label in zip(instances, labels.tolist()):
            inst['bbox_label'] = label
        partial = remap_labels(data_info.get(PARTIAL_LABELS_KEY, []), label_map,
                               PARTIAL_LABELS_KEY, where)
        data_info[PARTIAL_LABELS_KEY] = np.union1d(
            partial, self.unannotated[source_idx]).tolist()
        data_info[PARTIAL_KEY] = data_info.get(PARTIAL_KEY, False)
        return data_info

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """The ``idx``-th data info, in the union label space."""
        source_idx, sample_idx = self._get_ori_dataset_idx(idx)
        return self.to_union(self.datasets[source_idx].get_data_info(sample_idx), source_idx)

    def __getitem__(self, idx: int) -> dict:
        """The ``idx``-th sample after the pipeline; in training a None retries another."""
        self.full_init()
        for _ in range(self.max_refetch + 1):
            data = self.pipeline(self.get_data_info(idx))
            if data is not None:
                return data
            if self.datasets[self._get_ori_dataset_idx(idx)[0]].test_mode:
                raise RuntimeError(f'ClassUnionConcatDataset: the pipeline returned None for '
                                   f'sample {idx} in test mode')
            idx = np.random.randint(0, len(self))
        raise RuntimeError(f'ClassUnionConcatDataset: no valid sample after {self.max_refetch} '
                           f'retries; check the image paths and the pipeline')
