"""COCO-format json whose images declare which classes are partially annotated."""
from typing import List, Union

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from ..structures.annotation_status import PARTIAL_KEY, PARTIAL_LABELS_KEY
from .annotation_status import check_known_ids, id_array, ids_to_labels
from .status_keys import STATUS_KEYS, check_status_keys

PARTIAL_CATEGORIES_FIELD = 'partial_category_ids'


@DATASETS.register_module()
class PartialCocoDataset(CocoDataset):
    """:class:`mmdet.datasets.CocoDataset` that reads each image's annotation status.

    Two optional fields of a json ``images`` entry:

    - ``partially_annotated`` (bool): every class of the image may have unboxed instances;
    - ``partial_category_ids`` (list of int): the category ids (the json's own ``id``, like
      an annotation's ``category_id``, so the field survives a ``classes`` subset or a
      different label order) whose instances may be unboxed in this image. The name differs
      from LVIS's ``not_exhaustive_category_ids`` on purpose: here an unlisted category is
      exhaustively annotated, whereas in LVIS an unlisted, unverified category is unknown.

    An image without the fields is exhaustively annotated (COCO's own assumption). Each data
    info gets ``partially_annotated`` (bool) and ``partial_labels`` (sorted label indices
    in the dataset's class order); a training pipeline's ``PackDetInputs`` must keep both
    in its ``meta_keys`` (``mmdet_dghm::_base_/datasets/partial_coco_detection.py`` does).
    Ids of categories outside the dataset's ``classes`` are left out, as their boxes are.

    Raises:
        ValueError: For a malformed field or a category id the file does not define, naming
            the json file and the image id; at construction, for a training pipeline whose
            ``PackDetInputs`` drops a status key.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_status_keys(self.pipeline, STATUS_KEYS, self.test_mode,
                          f'PartialCocoDataset({self.ann_file})')

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """CocoDataset's data info plus the image's annotation status.

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info`` of one image.

        Returns:
            dict: The data info with ``partially_annotated`` and ``partial_labels``.
        """
        data_info = super().parse_data_info(raw_data_info)
        img_info = raw_data_info['raw_img_info']
        where = f'{self.ann_file}: image {img_info["img_id"]}'
        partial = img_info.get(PARTIAL_KEY, False)
        if not isinstance(partial, bool):
            raise ValueError(f'{where}: {PARTIAL_KEY} must be true or false, '
                             f'got {partial!r}')
        ids = id_array(img_info.get(PARTIAL_CATEGORIES_FIELD, []), PARTIAL_CATEGORIES_FIELD,
                       where)
        check_known_ids(ids, self.coco.cats, PARTIAL_CATEGORIES_FIELD, where)
        data_info[PARTIAL_KEY] = partial
        data_info[PARTIAL_LABELS_KEY] = ids_to_labels(ids, self.cat_ids).tolist()
        return data_info
