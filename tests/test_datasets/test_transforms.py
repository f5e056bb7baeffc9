"""Tile loading, cropping that keeps empty crops, quarter turns, and the packed metainfo."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from digestpath_layout import write_image
from mmdet.datasets.transforms import RandomCrop
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.registry import init_default_scope
from PIL import Image

from mmdet_dghm.datasets import (
    DigestPathDataset,
    LoadDigestPathTile,
    RandomRot90,
    RandomTileCrop,
    rot90_boxes,
    rot90_image,
)


def tile_results(path: Path, origin=(0, 0), size=(8, 8), scale=1.0) -> dict:
    return dict(img_path=str(path), tile_origin=origin, width=size[0], height=size[1],
                scale=scale)


def test_load_reads_exactly_the_tile_region_in_bgr(tmp_path):
    path = write_image(tmp_path / 'a.png', 40, 30)
    results = LoadDigestPathTile()(tile_results(path, origin=(7, 5), size=(20, 12)))
    expected = cv2.imread(str(path), cv2.IMREAD_COLOR)[5:17, 7:27]
    np.testing.assert_array_equal(results['img'], expected)
    assert results['img_shape'] == results['ori_shape'] == (12, 20)


@pytest.mark.parametrize('name,mode', [('g.png', 'L'), ('g.jpeg', 'L'), ('rgba.png', 'RGBA')])
def test_grayscale_and_rgba_load_as_three_channel_bgr(tmp_path, name, mode):
    path = write_image(tmp_path / name, 16, 16, mode=mode)
    img = LoadDigestPathTile()(tile_results(path, size=(16, 16)))['img']
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8
    if mode == 'L':
        assert (img[..., 0] == img[..., 1]).all() and (img[..., 1] == img[..., 2]).all()
    else:
        rgb = np.asarray(Image.open(path).convert('RGB'))
        np.testing.assert_array_equal(img, rgb[..., ::-1])


def test_scaled_load_matches_dataset_coordinates(tmp_path):
    path = write_image(tmp_path / 's.jpeg', 101, 60)
    results = LoadDigestPathTile()(tile_results(path, origin=(39, 10), size=(11, 20), scale=0.5))
    assert results['img'].shape == (20, 11, 3)  # the scaled image is round(50.5) = 50 x 30
    with pytest.raises(ValueError, match=r's\.jpeg: tile at \(40, 10\) .* 50 x 30'):
        LoadDigestPathTile()(tile_results(path, origin=(40, 10), size=(11, 20), scale=0.5))


def test_without_tile_origin_the_whole_image_is_loaded(tmp_path):
    path = write_image(tmp_path / 'w.png', 40, 30)
    results = LoadDigestPathTile()(dict(img_path=str(path)))  # mmdet's inference_detector
    np.testing.assert_array_equal(results['img'], cv2.imread(str(path), cv2.IMREAD_COLOR))
    assert results['img_shape'] == (30, 40) and results['scale_factor'] == (1.0, 1.0)
    tif = tmp_path / 'w.tif'
    tifffile.imwrite(tif, cv2.imread(str(path))[..., ::-1], tile=(16, 16))
    half = LoadDigestPathTile()(dict(img_path=str(tif), scale=0.5))['img']
    assert half.shape == (15, 20, 3)


def test_each_source_decoded_once_when_iterating_tile_by_tile(small_layout):
    dataset = DigestPathDataset(data_root=str(small_layout), tile_size=64, tile_stride=32,
                                test_mode=True)
    loader = LoadDigestPathTile(cache_size=2)
    for i in range(len(dataset)):
        loader(dataset.get_data_info(i))
    assert len(dataset) > 4 * 4 and loader.num_decodes == 4
    # Alternating between three images with room for one forces a decode per tile.
    single = LoadDigestPathTile(cache_size=1)
    paths = [write_image(small_layout / f'x{i}.png', 8, 8, seed=i) for i in range(3)]
    for path in paths * 2:
        single(tile_results(path))
    assert single.num_decodes == 6


def crop_with_offset(crop: RandomTileCrop, results: dict, offset) -> dict:
    crop._offset = lambda margin_w, margin_h: offset
    return crop(results)


def box_results(boxes, ignore, size=(80, 80)) -> dict:
    return dict(img=np.zeros((size[1], size[0], 3), np.uint8),
                gt_bboxes=HorizontalBoxes(np.array(boxes, np.float32).reshape(-1, 4)),
                gt_bboxes_labels=np.zeros(len(boxes), np.int64),
                gt_ignore_flags=np.array(ignore, bool), tile_origin=(100, 200))


def test_random_tile_crop_keeps_crops_without_boxes():
    results = box_results([[0, 0, 10, 10]], [False])
    out = crop_with_offset(RandomTileCrop(crop_size=60), results, (20, 20))
    assert out is not None and out['img'].shape == (60, 60, 3)
    assert len(out['gt_bboxes']) == 0 and out['gt_ignore_flags'].shape == (0,)
    assert out['tile_origin'] == (120, 220)
    # mmdet's RandomCrop, as configured by default, would have dropped this negative crop.
    np.random.seed(0)
    dropped = RandomCrop(crop_size=(60, 60))(box_results([[0, 0, 2, 2]], [False]))
    assert dropped is None


def test_random_tile_crop_marks_slivers_ignored_and_keeps_ignore_flags():
    results = box_results([[10, 30, 30, 50],   # crop x from 20: 10 of 20 px -> GT at 0.5
                           [12, 30, 30, 50],   # 10 of 18 px, 0.56 -> GT
                           [0, 0, 25, 10],     # 5 of 25 px -> ignored sliver
                           [40, 40, 50, 50],   # inside, already ignored -> stays ignored
                           [0, 60, 15, 70]],   # outside the crop -> removed
                          [False, False, False, True, False])
    out = crop_with_offset(RandomTileCrop(crop_size=(60, 50), min_visible=0.5), results,
                           (20, 0))
    np.testing.assert_allclose(out['gt_bboxes'].numpy(),
                               [[0, 30, 10, 50], [0, 30, 10, 50], [0, 0, 5, 10],
                                [20, 40, 30, 50]])
    np.testing.assert_array_equal(out['gt_ignore_flags'], [False, False, True, True])
    assert out['img_shape'] == (50, 60) and out['gt_bboxes_labels'].shape == (4,)


def test_random_tile_crop_clamps_to_small_images():
    out = RandomTileCrop(crop_size=600)(box_results([], [], size=(70, 40)))
    assert out['img'].shape == (40, 70, 3) and out['tile_origin'] == (100, 200)


@pytest.mark.parametrize('k', [0, 1, 2, 3, 5, -1])
def test_rot90_boxes_follow_the_pixels(k):
    height, width = 30, 50
    boxes = np.array([[3, 4, 17, 10], [40, 0, 50, 30]], dtype=np.float32)
    rotated = rot90_boxes(boxes, (height, width), k)
    for box, new in zip(boxes.astype(int), rotated):
        mask = np.zeros((height, width), bool)
        mask[box[1]:box[3], box[0]:box[2]] = True
        ys, xs = np.nonzero(np.rot90(mask, k))
        np.testing.assert_array_equal(new, [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


@pytest.mark.parametrize('k', [0, 1, 2, 3, 6])
def test_rot90_image_equals_numpy(k):
    img = np.random.default_rng(k).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    flipped = img[:, ::-1]  # a negative-stride view, as RandomFlip leaves it
    np.testing.assert_array_equal(rot90_image(flipped, k), np.rot90(flipped, k))


def test_random_rot90_rotates_image_boxes_and_keeps_flags():
    np.random.seed(1)
    seen = set()
    for _ in range(40):
        img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
        results = dict(img=img, gt_bboxes=HorizontalBoxes(np.array([[0, 0, 1, 2]], np.float32)),
                       gt_ignore_flags=np.array([True]))
        out = RandomRot90()(results)
        k = out['rot90_k']
        seen.add(k)
        np.testing.assert_array_equal(out['img'], np.rot90(img, k))
        assert out['img_shape'] == out['img'].shape[:2]
        np.testing.assert_array_equal(out['gt_bboxes'].numpy(),
                                      rot90_boxes(np.array([[0, 0, 1, 2]]), (2, 3), k))
        assert out['gt_ignore_flags'].tolist() == [True]
    assert seen == {0, 1, 2, 3}


def test_train_pipeline_packs_digestpath_metainfo(small_layout):
    meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                 'flip_direction', 'partially_annotated', 'src_img_path', 'src_img_shape',
                 'tile_origin', 'src_gt_bboxes', 'src_removed_bboxes')
    init_default_scope('mmdet')
    pipeline = [
        dict(type='LoadDigestPathTile'), dict(type='LoadAnnotations', with_bbox=True),
        dict(type='RandomTileCrop', crop_size=96),
        dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
        dict(type='RandomRot90'), dict(type='PackDetInputs', meta_keys=meta_keys)]
    dataset = DigestPathDataset(data_root=str(small_layout), tile_size=128, tile_stride=64,
                                pipeline=pipeline, test_mode=True, drop_rate=0.5)
    sample = dataset[0]['data_samples']
    assert dataset[0]['inputs'].shape == (3, 96, 96)
    assert sample.partially_annotated is True
    assert sample.src_img_shape == (200, 300) and sample.src_img_path.endswith('A-lv0-1.jpeg')
    assert sample.src_removed_bboxes.shape == (2, 4) and sample.src_gt_bboxes.shape == (2, 4)
    assert set(sample.tile_origin) <= set(range(33))  # a 96 crop inside the 128 tile at (0, 0)


def test_decoded_dir_decodes_once_across_loaders_and_reads_regions(tmp_path):
    path = write_image(tmp_path / 'big.jpeg', 90, 70)
    decoded = tmp_path / 'decoded'
    first, second = (LoadDigestPathTile(cache_size=1, decoded_dir=str(decoded))
                     for _ in range(2))
    expected = LoadDigestPathTile()(tile_results(path, (10, 5), (30, 28), 0.5))['img']
    tiles = [loader(tile_results(path, (10, 5), (30, 28), 0.5))['img']
             for loader in (first, second)]
    for tile in tiles:
        assert type(tile) is np.ndarray and tile.flags.writeable
        np.testing.assert_array_equal(tile, expected)
    assert (first.num_decodes, second.num_decodes) == (1, 0)
    assert [p.suffix for p in decoded.iterdir()] == ['.npy']
    # Another scale is another decoded copy.
    first(tile_results(path, (0, 0), (8, 8), 1.0))
    assert first.num_decodes == 2 and len(list(decoded.iterdir())) == 2


def test_tiled_tiff_tile_is_read_by_region_without_decoding_the_image(tmp_path):
    import tifffile
    rgb = np.random.default_rng(0).integers(0, 255, (150, 200, 3), dtype=np.uint8)
    path = tmp_path / 'slide.tiff'
    tifffile.imwrite(path, rgb, tile=(32, 32), photometric='rgb')
    load = LoadDigestPathTile()
    img = load(tile_results(path, origin=(37, 21), size=(50, 40)))['img']
    np.testing.assert_array_equal(img, rgb[21:61, 37:87, ::-1])
    assert load.num_decodes == 0  # no whole-image decode: only the TIFF tiles under the tile
    half = load(tile_results(path, origin=(20, 10), size=(30, 25), scale=0.5))['img']
    expected = cv2.resize(np.ascontiguousarray(rgb[20:70, 40:100, ::-1]), (30, 25),
                          interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(half, expected)
