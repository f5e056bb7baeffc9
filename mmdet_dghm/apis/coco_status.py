"""Marking which images and classes of a COCO json are partially annotated.

``PartialCocoDataset`` reads two fields of a json image: ``partially_annotated`` (every class
may have unboxed instances) and ``partial_category_ids`` (these categories may). An image
without them is exhaustively annotated. :func:`mark_partial` writes them.
"""
import copy
from typing import Optional, Sequence

from ..datasets.partial_coco_dataset import PARTIAL_CATEGORIES_FIELD
from ..structures.annotation_status import PARTIAL_KEY

__all__ = ['mark_partial', 'resolve_images']


def resolve_images(coco: dict, names: Sequence[str], source: str = 'json') -> list:
    """Image ids of ``names``: each an image id or a ``file_name`` (or its base name).

    Raises:
        ValueError: Naming ``source`` and every name that matches no image, or more than one.
    """
    by_id = {str(image['id']): image['id'] for image in coco['images']}
    by_name: dict = {}
    for image in coco['images']:
        for key in {image['file_name'], image['file_name'].rsplit('/', 1)[-1]}:
            by_name.setdefault(key, []).append(image['id'])
    ids, unknown, ambiguous = [], [], []
    for name in names:
        if str(name) in by_id:
            ids.append(by_id[str(name)])
        elif len(by_name.get(name, [])) == 1:
            ids.append(by_name[name][0])
        elif name in by_name:
            ambiguous.append(name)
        else:
            unknown.append(name)
    if unknown or ambiguous:
        raise ValueError(f'{source}: no image has the id or file name {unknown}'
                         if unknown else
                         f'{source}: several images have the file name {ambiguous}; give ids')
    return ids


def mark_partial(coco: dict, image_ids: Optional[Sequence[int]] = None,
                 categories: Optional[Sequence[str]] = None, source: str = 'json') -> dict:
    """A copy of ``coco`` with images marked partially annotated.

    Args:
        coco (dict): A COCO json.
        image_ids (Sequence[int], optional): The images to mark. Defaults to None: all.
        categories (Sequence[str], optional): Category names partial in those images (added
            to ``partial_category_ids``). Defaults to None: every category
            (``partially_annotated: true``).
        source (str): The json's name, for errors.

    Returns:
        dict: The marked json; other images and every annotation unchanged.

    Raises:
        ValueError: For a category name or an image id the json does not define.
    """
    out = copy.deepcopy(coco)
    known = {image['id'] for image in out['images']}
    chosen = known if image_ids is None else set(image_ids)
    missing = sorted(chosen - known)
    if missing:
        raise ValueError(f'{source}: no image has the id {missing}')
    cat_ids = None
    if categories is not None:
        by_name = {category['name']: category['id'] for category in out['categories']}
        unknown = [name for name in categories if name not in by_name]
        if unknown:
            raise ValueError(f'{source}: no category is named {unknown}; it has '
                             f'{sorted(by_name)}')
        cat_ids = [by_name[name] for name in categories]
    for image in out['images']:
        if image['id'] not in chosen:
            continue
        if cat_ids is None:
            image[PARTIAL_KEY] = True
        else:
            image[PARTIAL_CATEGORIES_FIELD] = sorted(
                set(image.get(PARTIAL_CATEGORIES_FIELD, [])) | set(cat_ids))
    return out
