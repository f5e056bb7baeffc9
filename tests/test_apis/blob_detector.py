"""A deterministic stand-in detector for window tests: one box per dark blob a window shows.

A cell cut by the window edge gives the box of its visible part, exactly the partial box a
trained detector returns there, so seam merging and tissue masking are tested without training.
"""
from typing import List

import cv2
import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import nn

# Grey level below which a pixel belongs to a blob ("nucleus").
DARK = 100


class BlobDetector(nn.Module):
    """Boxes of the dark connected components of each input; score grows with the area.

    Args:
        full_area (float): Area of a whole blob in pixels; a blob's score is
            ``0.5 + 0.4 * min(1, area / full_area)`` so partial blobs score lower.
    """

    def __init__(self, full_area: float) -> None:
        super().__init__()
        self.full_area = full_area
        self.dataset_meta = dict(classes=('ring_cell_cancer', ))

    def test_step(self, data: dict) -> List:
        results = []
        for tile, sample in zip(data['inputs'], data['data_samples']):
            bgr = tile.permute(1, 2, 0).numpy()
            dark = (cv2.cvtColor(np.ascontiguousarray(bgr), cv2.COLOR_BGR2GRAY) < DARK)
            count, _, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8), 8)
            x, y, w, h, area = stats[1:count].T.astype(np.float32)
            instances = InstanceData()
            instances.bboxes = torch.from_numpy(np.stack([x, y, x + w, y + h], axis=1))
            instances.scores = torch.from_numpy(
                0.5 + 0.4 * np.minimum(1.0, area / self.full_area))
            instances.labels = torch.zeros(len(x), dtype=torch.long)
            sample.pred_instances = instances
            results.append(sample)
        return results


class TwoClassBlobDetector(BlobDetector):
    """:class:`BlobDetector` with a class per blob by its colour: purplish (blue above green)
    is class 0, greenish class 1."""

    def __init__(self, full_area: float, classes=('tumour', 'lymphocyte')) -> None:
        super().__init__(full_area)
        self.dataset_meta = dict(classes=tuple(classes))

    def test_step(self, data: dict) -> List:
        results = super().test_step(data)
        for tile, sample in zip(data['inputs'], results):
            bgr = np.ascontiguousarray(tile.permute(1, 2, 0).numpy())
            dark = (cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) < DARK).astype(np.uint8)
            count, components = cv2.connectedComponents(dark, connectivity=8)
            blue = np.bincount(components.ravel(), bgr[..., 0].ravel(), count)[1:]
            green = np.bincount(components.ravel(), bgr[..., 1].ravel(), count)[1:]
            sample.pred_instances.labels = torch.from_numpy((green > blue).astype(np.int64))
        return results
