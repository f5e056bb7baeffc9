"""LVIS v1 json with its federated annotation status per image and class."""
from typing import List, Union

import numpy as np
from mmdet.datasets import CocoDataset, LVISV1Dataset
from mmdet.registry import DATASETS

from ..structures.annotation_status import PARTIAL_KEY, PARTIAL_LABELS_KEY
from .annotation_status import check_known_ids, id_array, ids_to_labels, lvis_partial_labels
from .status_keys import STATUS_KEYS, check_status_keys

NEG_FIELD = 'neg_category_ids'
NOT_EXHAUSTIVE_FIELD = 'not_exhaustive_category_ids'
COCO_URL_PREFIX = 'http://images.cocodataset.org/'


@DATASETS.register_module()
class PartialLVISV1Dataset(LVISV1Dataset):
    """:class:`mmdet.datasets.LVISV1Dataset` whose images carry LVIS's annotation status.

    Per image, LVIS v1 lists ``neg_category_ids`` (verified absent) and
    ``not_exhaustive_category_ids`` (some instances unboxed). A class is partial in an image
    when it is not exhaustive there, or when it is neither positive (a box in the image) nor
    verified negative: nobody checked it (:func:`lvis_partial_labels`). Each data info gets
    ``partially_annotated=False`` and ``partial_labels`` (sorted label indices); a training
    pipeline's ``PackDetInputs`` must keep both in its ``meta_keys``
    (``mmdet_dghm::_base_/datasets/partial_lvis_v1_detection.py`` does).

    The json has COCO's structure, so it is read with mmdet's COCO API (pycocotools) and the
    ``lvis`` package is not needed; labels follow the dataset's ``classes`` as in
    :class:`mmdet.datasets.CocoDataset` (the 1203 LVIS v1 names by default). Image paths come
    from ``file_name`` or, as in LVIS v1, from ``coco_url``.

    Raises:
        ValueError: For a missing or malformed field, a category id the file does not define,
            or a category both verified negative and boxed or flagged not exhaustive, naming
            the json file and the image id; at construction, for a training pipeline whose
            ``PackDetInputs`` drops a status key.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        check_status_keys(self.pipeline, STATUS_KEYS, self.test_mode,
                          f'PartialLVISV1Dataset({self.ann_file})')

    def load_data_list(self) -> List[dict]:
        """Data infos of every image, read with the COCO API."""
        return CocoDataset.load_data_list(self)

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """CocoDataset's data info plus the image's federated annotation status.

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info`` of one image.

        Returns:
            dict: The data info with ``partially_annotated`` and ``partial_labels``.
        """
        img_info = raw_data_info['raw_img_info']
        where = f'{self.ann_file}: image {img_info["img_id"]}'
        if 'file_name' not in img_info:
            if not isinstance(img_info.get('coco_url'), str):
                raise ValueError(f'{where}: the image has neither file_name nor coco_url')
            img_info['file_name'] = img_info['coco_url'].replace(COCO_URL_PREFIX, '')
        data_info = super().parse_data_info(raw_data_info)

        fields = {}
        for field in (NEG_FIELD, NOT_EXHAUSTIVE_FIELD):
            if field not in img_info:
                raise ValueError(f'{where}: LVIS v1 images need {field}')
            fields[field] = id_array(img_info[field], field, where)
            check_known_ids(fields[field], self.coco.cats, field, where)
        positive = np.array([ann['category_id'] for ann in raw_data_info['raw_ann_info']],
                            dtype=np.int64)
        for other, ids in (('boxed', positive), (NOT_EXHAUSTIVE_FIELD,
                                                 fields[NOT_EXHAUSTIVE_FIELD])):
            both = np.intersect1d(fields[NEG_FIELD], ids)
            if both.size:
                raise ValueError(f'{where}: categories {both.tolist()} are in {NEG_FIELD} '
                                 f'and {other}')
        data_info[PARTIAL_KEY] = False
        data_info[PARTIAL_LABELS_KEY] = lvis_partial_labels(
            len(self.cat_ids), ids_to_labels(positive, self.cat_ids),
            ids_to_labels(fields[NEG_FIELD], self.cat_ids),
            ids_to_labels(fields[NOT_EXHAUSTIVE_FIELD], self.cat_ids)).tolist()
        return data_info
