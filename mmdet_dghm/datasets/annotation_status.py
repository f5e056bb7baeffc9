"""Per-image, per-class annotation status: the maths behind the partial-annotation datasets.

A class is *partial* in an image when some of its instances there may lack a box, so the
image's negatives of that class are noisy (paper section 3.1, generalised from images to
image-class pairs). Data samples carry the status in two metainfo keys:

- ``partially_annotated`` (bool): every class of the image is partial;
- ``partial_labels`` (list of int): sorted 0-based label indices, in the dataset's class
  order, that are partial in the image.

Every function here is pure and works on numpy arrays; the registered datasets are thin
adapters that read json fields and name the file and image in their errors (``where``).
"""
from typing import Iterable, Sequence, Tuple

import numpy as np


def id_array(value: object, field: str, where: str) -> np.ndarray:
    """A json list of integer ids as an int64 array; anything else is an error.

    Args:
        value (object): The json value (``list`` of ``int``; ``bool`` is not an id).
        field (str): The json field name, for the error.
        where (str): The file and image, for the error.

    Returns:
        np.ndarray: (K,) int64 ids, in the given order.

    Raises:
        ValueError: If ``value`` is not a list of integers.
    """
    if not isinstance(value, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise ValueError(f'{where}: {field} must be a list of integer category ids, '
                         f'got {value!r}')
    return np.asarray(value, dtype=np.int64).reshape(-1)


def check_known_ids(ids: np.ndarray, known_ids: Iterable[int], field: str, where: str) -> None:
    """Every id of ``ids`` must be a category of the annotation file.

    Raises:
        ValueError: Naming the unknown ids, the field and ``where``.
    """
    unknown = np.setdiff1d(ids, np.fromiter(known_ids, dtype=np.int64))
    if unknown.size:
        raise ValueError(f'{where}: {field} holds category ids {unknown.tolist()} that are '
                         f'not categories of the file')


def ids_to_labels(ids: np.ndarray, cat_ids: Sequence[int]) -> np.ndarray:
    """Label indices of the category ids that are classes of the dataset.

    Ids of categories the dataset does not train (a ``classes`` subset of the file) are
    left out, as their annotations are.

    Args:
        ids (np.ndarray): (K,) category ids, all known to the file.
        cat_ids (Sequence[int]): Category id of each label, in label order.

    Returns:
        np.ndarray: Sorted unique int64 label indices.
    """
    return np.flatnonzero(np.isin(np.asarray(cat_ids, dtype=np.int64), ids)).astype(np.int64)


def lvis_partial_labels(num_classes: int, positive: np.ndarray, negative: np.ndarray,
                        not_exhaustive: np.ndarray) -> np.ndarray:
    """Partial classes of an LVIS image under federated annotation.

    A class is exhaustively annotated in an image when it has a box there (positive) or was
    verified absent (``neg_category_ids``), unless it is flagged
    ``not_exhaustive_category_ids``; every other class was never checked (unknown), so its
    instances may be there unboxed: partial.

    Args:
        num_classes (int): Number of classes C.
        positive (np.ndarray): Label indices with at least one box in the image.
        negative (np.ndarray): Label indices verified absent.
        not_exhaustive (np.ndarray): Label indices with some instances unboxed.

    Returns:
        np.ndarray: Sorted int64 label indices that are partial.
    """
    checked = np.zeros(num_classes, dtype=bool)
    checked[positive] = True
    checked[negative] = True
    checked[not_exhaustive] = False
    return np.flatnonzero(~checked).astype(np.int64)


def union_classes(source_classes: Sequence[Sequence[str]]) -> Tuple[str, ...]:
    """Union of several class lists, in order of first appearance."""
    return tuple(dict.fromkeys(name for classes in source_classes for name in classes))


def union_label_map(classes: Sequence[str], union: Sequence[str], where: str) -> np.ndarray:
    """Union label of each label of a source whose class list is ``classes``.

    Args:
        classes (Sequence[str]): The source's classes, in its label order.
        union (Sequence[str]): The union classes, in the union label order.
        where (str): The source, for the error.

    Returns:
        np.ndarray: (len(classes),) int64, ``map[source_label] = union_label``.

    Raises:
        ValueError: If a class name repeats or is missing from ``union``.
    """
    for name, names in (('source', classes), ('union', union)):
        if len(set(names)) != len(names):
            raise ValueError(f'{where}: the {name} class list repeats a name: {tuple(names)}')
    index = {name: i for i, name in enumerate(union)}
    missing = [name for name in classes if name not in index]
    if missing:
        raise ValueError(f'{where}: classes {missing} are not in the union class list '
                         f'{tuple(union)}')
    return np.array([index[name] for name in classes], dtype=np.int64)


def unannotated_labels(label_map: np.ndarray, num_union: int) -> np.ndarray:
    """Union labels a source does not annotate: partial in every image of that source."""
    return np.setdiff1d(np.arange(num_union, dtype=np.int64), label_map)


def remap_labels(labels: Sequence[int], label_map: np.ndarray, field: str,
                 where: str) -> np.ndarray:
    """Source labels to union labels, refusing labels outside the source's class list.

    Raises:
        ValueError: Naming the out-of-range labels, the field and ``where``.
    """
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    bad = labels[(labels < 0) | (labels >= len(label_map))]
    if bad.size:
        raise ValueError(f'{where}: {field} holds labels {bad.tolist()} outside the source '
                         f'class list of {len(label_map)} classes')
    return label_map[labels]
