"""One real DigestPath image at two pixel sizes gives the same boxes in native pixels once each
input's pixel size is known; unknown and absent pixel sizes behave as documented.

The model has random weights, so its boxes are not cells: they are a deterministic function of
the pixels it sees. That is what this checks: both inputs reach the model as the same 0.5 um/px
windows and come back in their own native pixels. The control (pixel sizes ignored) shows the
check can fail: the model then sees different content and the boxes disagree.
"""
import logging

import cv2
import numpy as np
import pytest
import tifffile
import torch
from test_resolution import CONFIG, write_pyramid

from mmdet_dghm.apis import TiledDetector, build_detector
from mmdet_dghm.structures import box_areas

CROP = 1024  # full-scale pixels: 512 px at the model's 0.5 um/px, cut into 9 windows of 256
TOP = 100


@pytest.fixture(scope='module')
def real_inputs(digestpath_root, tmp_path_factory):
    """A full-scale crop as a 3-level pyramidal TIFF (0.25 um/px) and as an untagged PNG
    (lossless: the same pixels), and its 0.5x resize as a TIFF tagged 0.5 um/px."""
    source = sorted((digestpath_root / 'full-scale-sample/sig-train-pos').glob('*.jpeg'))[0]
    rgb = cv2.cvtColor(cv2.imread(str(source)), cv2.COLOR_BGR2RGB)[:CROP, :CROP]
    folder = tmp_path_factory.mktemp('real')
    pyramid = folder / 'full.tif'
    write_pyramid(pyramid, rgb, 0.25)
    half = folder / 'half.tif'
    tifffile.imwrite(half, cv2.resize(rgb, (CROP // 2, CROP // 2), interpolation=cv2.INTER_AREA),
                     photometric='rgb', tile=(128, 128), resolution=(2e4, 2e4),
                     resolutionunit='CENTIMETER')
    png = folder / 'full.png'
    assert cv2.imwrite(str(png), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return pyramid, half, png


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    model = build_detector(CONFIG, None, score_thr=0.05, max_per_img=300)
    model.pixel_size = 0.5
    return model


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=-1)
    return inter / (box_areas(a)[:, None] + box_areas(b)[None, :] - inter)


def matched_ious(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Greedy one-to-one matching by IoU (>= 0.5); the IoU of each match."""
    ious = iou_matrix(a, b)
    found = []
    while ious.size and ious.max() >= 0.5:
        i, j = np.unravel_index(ious.argmax(), ious.shape)
        found.append(ious[i, j])
        ious[i, :], ious[:, j] = 0, 0
    return np.array(found)


def detect(model, path, pixel_size=None):
    tiled = TiledDetector(model, tile_size=256, overlap=64, batch_size=3, pixel_size=pixel_size)
    return tiled.detect(path)


def test_two_pixel_sizes_agree_in_native_coordinates(model, real_inputs):
    pyramid, half, png = real_inputs
    full_det = detect(model, pyramid)
    half_det = detect(model, half)
    png_det = detect(model, png, pixel_size=0.25)
    # The pyramid is read at its 0.5 um/px level, the half-size copy as is, the PNG resized.
    assert (full_det.resolution.level, full_det.resolution.scale) == (1, 1.0)
    assert (half_det.resolution.level, half_det.resolution.scale) == (0, 1.0)
    assert (png_det.resolution.level, png_det.resolution.scale) == (0, 0.5)
    assert full_det.num_tiles == half_det.num_tiles == png_det.num_tiles == 9
    assert (full_det.width, half_det.width) == (CROP, CROP // 2)
    assert len(full_det.scores) >= TOP and full_det.bboxes.max() > CROP / 2
    reference = full_det.bboxes[:TOP]
    for other, factor in ((half_det, 2.0), (png_det, 1.0)):
        ious = matched_ious(reference, other.bboxes[:2 * TOP] * factor)
        assert len(ious) >= 0.95 * TOP, len(ious)
        assert ious.min() >= 0.9, ious.min()
    # Control: with the pixel sizes ignored the model sees other content; boxes disagree.
    blind = TiledDetector(model, tile_size=256, overlap=64, batch_size=3, pixel_size=0.5)
    blind_det = blind.detect(png)
    assert blind_det.num_tiles == 25
    assert len(matched_ious(reference, blind_det.bboxes[:2 * TOP])) < 0.3 * TOP


def test_unknown_and_absent_pixel_sizes(model, real_inputs, caplog):
    _, half, png = real_inputs
    with pytest.raises(ValueError, match=rf'^{png}: the image does not record its pixel size '
                                         r'and the model was trained at 0\.5 um/px; pass '
                                         r'--pixel-size'):
        detect(model, png)
    blind = build_detector(CONFIG, None, score_thr=0.05, max_per_img=300)
    blind.load_state_dict(model.state_dict())
    blind.pixel_size = None
    with caplog.at_level(logging.INFO, logger='mmdet_dghm.apis.inference'):
        det = detect(blind, half)
    assert det.resolution.model_pixel_size is None and det.num_tiles == 9
    assert (f'{half}: model has no pixel_size: assumed the input has the resolution the model '
            'was trained at') in caplog.text
