"""Pseudo-boxes written into a COCO json, marked as such.

A pseudo-box is an ordinary annotation (so ``PartialCocoDataset``, ``CocoDataset`` and every
COCO tool read it) with two extra fields: ``"pseudo": true`` and the teacher's ``"score"``.
An uncertain detection is written with ``"iscrowd": 1``, which mmdet loads as an ignored box
(neither positive nor negative). Images and their annotation status are kept as they are:
an image with pseudo-boxes may still miss objects.
"""
import copy
from typing import Sequence

import numpy as np

__all__ = ['PSEUDO_FIELD', 'SCORE_FIELD', 'add_pseudo_annotations', 'count_pseudo_annotations']

PSEUDO_FIELD = 'pseudo'
SCORE_FIELD = 'score'


def add_pseudo_annotations(coco: dict, image_ids: Sequence[int], bboxes: np.ndarray,
                           scores: np.ndarray, category_ids: Sequence[int],
                           ignored: np.ndarray) -> dict:
    """A copy of ``coco`` with one annotation per box appended.

    Args:
        coco (dict): A COCO json (``images``, ``annotations``, ``categories``).
        image_ids (Sequence[int]): (K,) image id of each box.
        bboxes (np.ndarray): (K, 4) xyxy boxes in the image's pixels.
        scores (np.ndarray): (K,) teacher scores.
        category_ids (Sequence[int]): (K,) category id (the json's own) of each box.
        ignored (np.ndarray): (K,) bool, True for uncertain boxes (written as crowd boxes).

    Returns:
        dict: The new json; annotation ids continue after the largest existing one.

    Raises:
        ValueError: For an image or category id the json does not define.
    """
    out = copy.deepcopy(coco)
    known_images = {image['id'] for image in out['images']}
    known_categories = {category['id'] for category in out['categories']}
    bad_images = sorted({int(i) for i in image_ids} - known_images)
    bad_categories = sorted({int(c) for c in category_ids} - known_categories)
    if bad_images or bad_categories:
        raise ValueError(f'pseudo-boxes name image ids {bad_images} / category ids '
                         f'{bad_categories} that the json does not define')
    annotations = out.setdefault('annotations', [])
    next_id = max((a['id'] for a in annotations), default=0) + 1
    boxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    for offset, (image_id, box, w, h, score, category, crowd) in enumerate(zip(
            image_ids, boxes, widths, heights, scores, category_ids, ignored)):
        annotations.append({
            'id': next_id + offset, 'image_id': int(image_id), 'category_id': int(category),
            'bbox': [round(float(box[0]), 2), round(float(box[1]), 2), round(float(w), 2),
                     round(float(h), 2)],
            'area': round(float(w * h), 2), 'iscrowd': int(bool(crowd)),
            PSEUDO_FIELD: True, SCORE_FIELD: round(float(score), 4)})
    return out


def count_pseudo_annotations(coco: dict) -> dict:
    """Pseudo-boxes of a json: ``{'positive': n, 'ignored': m}``."""
    pseudo = [a for a in coco.get('annotations', []) if a.get(PSEUDO_FIELD)]
    ignored = sum(bool(a.get('iscrowd')) for a in pseudo)
    return dict(positive=len(pseudo) - ignored, ignored=ignored)
