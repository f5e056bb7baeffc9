"""TiledDetector: same boxes as mmdet's own inference, tiling and merging, strict checkpoints,
class names from the model, and bounded memory on a large tiled TIFF."""
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from mmdet.apis import inference_detector
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import nn

from mmdet_dghm.apis import TiledDetector, build_detector
from mmdet_dghm.fileio import RasterReader, TiffReader, open_image
from mmdet_dghm.structures import merge_tile_predictions, window_cores

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory) -> Path:
    """Random light DGHM-C weights (PyTorch's default init scores many boxes above 0.05)."""
    torch.manual_seed(0)
    model = build_detector(CONFIG, None)
    path = tmp_path_factory.mktemp('ckpt') / 'light.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('ring_cell_cancer', )))), path)
    return path


@pytest.fixture(scope='module')
def detector(checkpoint) -> TiledDetector:
    """The config's model (trained at 0.25 um/px) on untagged images taken at 0.25 um/px."""
    return TiledDetector.from_config(CONFIG, checkpoint, score_thr=0.05, max_per_img=1000,
                                     tile_size=128, overlap=32, batch_size=4, ios_thr=None,
                                     pixel_size=0.25)


def mmdet_predict(model: nn.Module, image: np.ndarray):
    """mmdet's ``inference_detector`` with a plain array pipeline (identity resize)."""
    height, width = image.shape[:2]
    model.cfg.test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromNDArray'), dict(type='Resize', scale=(width, height)),
        dict(type='PackDetInputs')]
    pred = inference_detector(model, image).pred_instances
    return pred.bboxes.numpy(), pred.scores.numpy()


def image(height: int, width: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (height, width, 3), dtype=np.uint8)


def save_png(tmp_path: Path, array: np.ndarray) -> Path:
    import cv2
    path = tmp_path / 'img.png'
    assert cv2.imwrite(str(path), array)
    return path


def test_test_cfg_overrides_and_class(detector):
    assert detector.model.bbox_head.test_cfg.score_thr == 0.05
    assert detector.model.bbox_head.test_cfg.max_per_img == 1000
    assert detector.class_name == 'ring_cell_cancer'
    assert not detector.model.training


def test_class_name_from_the_model_given_or_refused(detector, tmp_path):
    model = detector.model
    assert model.dataset_meta['classes'] == ('ring_cell_cancer', )  # the checkpoint's meta
    assert TiledDetector(model, class_name='signet ring cell').class_name == 'signet ring cell'
    # A checkpoint without meta: the config's test dataset names the classes.
    bare = tmp_path / 'bare.pth'
    torch.save(dict(state_dict=model.state_dict()), bare)
    assert build_detector(CONFIG, bare).dataset_meta['classes'] == ('ring_cell_cancer', )
    saved = tmp_path / 'cells.pth'
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('cell', 'other')))), saved)
    assert TiledDetector(build_detector(CONFIG, saved)).class_name == 'cell'
    # Neither: a clear error naming the config, not a DigestPath default.
    unnamed = build_detector(CONFIG, bare, cfg_options=dict(
        test_dataloader=dict(dataset=dict(type='BaseDetDataset'))))
    assert unnamed.dataset_meta == {}
    with pytest.raises(ValueError, match=rf'the model of {CONFIG} has no class names '
                                         r"\(dataset_meta\['classes'\].*pass class_name"):
        TiledDetector(unnamed).class_name
    with pytest.raises(ValueError, match=r'^the model has no class names .*\(--class-name\)$'):
        TiledDetector(NoDetections()).class_name
    assert TiledDetector(NoDetections(), class_name='cell').class_name == 'cell'


def test_single_window_equals_mmdet_inference(detector, tmp_path):
    array = image(96, 120)  # smaller than the 128 px window: one window, clamped
    det = detector.detect(save_png(tmp_path, array))
    bboxes, scores = mmdet_predict(detector.model, array)
    assert det.num_tiles == 1 and (det.width, det.height) == (120, 96)
    assert len(scores) > 10
    np.testing.assert_array_equal(det.bboxes, bboxes)
    np.testing.assert_array_equal(det.scores, scores)


def canonical(bboxes: np.ndarray, scores: np.ndarray):
    """Rows ordered by position: near-equal scores may swap order between batchings."""
    order = np.lexsort(np.round(bboxes, 1).T[::-1])
    return bboxes[order], scores[order]


class RecordingRaster(RasterReader):
    """A PNG reader that records the origin and shape of every window read."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.seen = []

    def read_region(self, x: int, y: int, width: int, height: int, level: int = 0):
        window = super().read_region(x, y, width, height, level)
        self.seen.append((x, y, window.shape))
        return window


def test_windows_are_shifted_and_merged(detector, tmp_path):
    array = image(96, 160)
    path = save_png(tmp_path, array)
    tiled = TiledDetector(detector.model, tile_size=64, overlap=16, batch_size=4,
                          pixel_size=0.25)
    # x starts 0, 48, 96 (the last snapped to the edge); y starts 0, 32.
    expected_windows = [(x, y) for y in (0, 32) for x in (0, 48, 96)]
    np.testing.assert_array_equal(tiled.windows(160, 96)[:, :2], expected_windows)
    done = []
    with RecordingRaster(path) as reader:
        det = tiled.detect(reader, progress=done.append)
    seen = reader.seen
    assert seen == [(x, y, (64, 64, 3)) for x, y in expected_windows]
    assert done == [4, 2]  # batches of 4 windows
    per_tile = [mmdet_predict(detector.model, array[y:y + 64, x:x + 64])
                for x, y in expected_windows]
    bboxes, scores = merge_tile_predictions([p[0] for p in per_tile], [p[1] for p in per_tile],
                                            expected_windows, ios_thr=tiled.ios_thr,
                                            cores=window_cores(tiled.windows(160, 96)))
    assert det.num_tiles == 6 and len(det.scores) > 50
    for got, want in zip(canonical(det.bboxes, det.scores), canonical(bboxes, scores)):
        np.testing.assert_allclose(got, want, atol=1e-3)
    # Merged boxes are in image coordinates: some lie right of the first window.
    assert det.bboxes[:, 0].max() > 64
    one_by_one = TiledDetector(detector.model, tile_size=64, overlap=16, batch_size=1,
                               pixel_size=0.25)
    single = one_by_one.detect(path)
    for got, want in zip(canonical(single.bboxes, single.scores),
                         canonical(det.bboxes, det.scores)):
        np.testing.assert_allclose(got, want, atol=1e-3)


def test_mismatching_checkpoint_is_refused_with_its_keys(checkpoint, tmp_path):
    state = torch.load(checkpoint, weights_only=True)['state_dict']
    del state['bbox_head.retina_reg.bias']
    state['extra.key'] = torch.zeros(1)
    state['bbox_head.retina_cls.weight'] = torch.zeros(18, 64, 3, 3)
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=state), bad)
    with pytest.raises(ValueError) as info:
        build_detector(CONFIG, bad)
    message = str(info.value)
    assert message.startswith(f'checkpoint {bad} does not match config {CONFIG}: ')
    assert '1 missing keys (first: bbox_head.retina_reg.bias)' in message
    assert '1 unexpected keys (first: extra.key)' in message
    assert ('1 shape-mismatched keys (first: bbox_head.retina_cls.weight (checkpoint '
            '(18, 64, 3, 3) vs model (9, 64, 3, 3)))') in message


def test_checkpoint_of_another_model_is_refused(checkpoint):
    full = REPO / 'configs/digestpath/retinanet_r18_fpn_dghmc_digestpath.py'
    # The full model has 2 more stacked convs per branch (8 tensors) and 256-channel FPN/head.
    with pytest.raises(ValueError, match=r'does not match config .*retinanet_r18_fpn_dghmc_'
                                         r'digestpath\.py: 8 missing keys \(first: bbox_head\.'
                                         r'cls_convs\.2\.conv\.weight, .*; 26 shape-mismatched '
                                         r'keys \(first: neck\.lateral_convs\.0\.conv\.weight '
                                         r'\(checkpoint \(64, 128, 1, 1\) vs model \(256, 128'):
        build_detector(full, checkpoint)


@pytest.mark.parametrize('content', [b'', b'not a checkpoint'])
def test_unreadable_checkpoint_names_the_file(tmp_path, content):
    path = tmp_path / 'broken.pth'
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf'checkpoint {path}: cannot be loaded'):
        build_detector(CONFIG, path)
    with pytest.raises(ValueError, match=r'checkpoint .*missing\.pth: cannot be loaded'):
        build_detector(CONFIG, tmp_path / 'missing.pth')


class NoDetections(nn.Module):
    """Stands in for the network: the test measures the reading side, not convolutions."""

    def test_step(self, data: dict) -> list:
        empty = InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0))
        return [DetDataSample(pred_instances=empty) for _ in data['inputs']]


def test_large_tiled_tiff_is_read_with_bounded_memory(tmp_path):
    side, tile = 8192, 256  # 192 MiB decoded, 2 MB on disk

    def tiles():
        # Red = tile row, green = tile column: every window can check where it was read.
        ramp = np.add.outer(np.arange(tile), np.arange(tile)) % 256
        for row in range(side // tile):
            for col in range(side // tile):
                block = np.empty((tile, tile, 3), np.uint8)
                block[..., 0], block[..., 1], block[..., 2] = row, col, ramp
                yield block

    path = tmp_path / 'large.tif'
    tifffile.imwrite(path, tiles(), shape=(side, side, 3), dtype=np.uint8, tile=(tile, tile),
                     photometric='rgb', compression='zlib')
    detector = TiledDetector(NoDetections(), tile_size=1024, overlap=128, batch_size=2)
    origins = []

    class CheckedTiff(TiffReader):
        """Checks that every window holds the tiles of where it was read."""

        def read_region(self, x, y, width, height, level=0):
            window = super().read_region(x, y, width, height, level)
            origins.append((x, y))
            # BGR: channel 2 is red (tile row), channel 1 green (tile column).
            assert (window[0, 0, 2], window[0, 0, 1]) == (y // tile, x // tile)
            assert (window[-1, -1, 2], window[-1, -1, 1]) == ((y + 1023) // tile,
                                                              (x + 1023) // tile)
            return window

    tracemalloc.start()
    try:
        with open_image(path) as reader:
            overview = reader.read_overview(512, chunk=1024)
        with CheckedTiff(path) as reader:
            det = detector.detect(reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert det.num_tiles == len(origins) == 9 * 9 and len(det.scores) == 0
    decoded = side * side * 3
    # Two batches of 2 windows (3 MiB each) in flight, or one overview chunk (3 MiB) and the
    # overview: far below the image.
    assert peak < 0.1 * decoded, f'peak {peak / 2**20:.1f} MiB of {decoded / 2**20:.0f} MiB'
    assert overview.image.shape == (512, 512, 3)
    # The overview's block (row 31, column 0) holds that tile's red/green values.
    assert tuple(overview.image[-1, 0, 1:]) == (0, 31)


@pytest.mark.parametrize('kwargs, message', [
    (dict(tile_size=64, overlap=64), r'overlap=64 in \[0, tile_size\)'),
    (dict(tile_size=64, overlap=-1), r'overlap=-1 in \[0, tile_size\)'),
    (dict(tile_size=64, overlap=16, batch_size=0), r'batch_size=0 must be positive'),
])
def test_bad_tiling_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TiledDetector(NoDetections(), **kwargs)


def test_mmdet_inference_detector_with_the_plugin_pipeline(checkpoint, detector, tmp_path):
    """mmdet's own ``init_detector`` + ``inference_detector`` on an image path, with the
    config's test pipeline untouched (LoadDigestPathTile loads the whole image)."""
    from mmdet.apis import init_detector
    model = init_detector(str(CONFIG), str(checkpoint), device='cpu',
                          cfg_options=dict(model=dict(test_cfg=dict(
                              score_thr=0.05, max_per_img=1000))))
    assert model.cfg.test_dataloader.dataset.pipeline[0].type == 'LoadDigestPathTile'
    path = save_png(tmp_path, image(96, 120))
    pred = inference_detector(model, str(path))
    assert pred.metainfo['img_shape'] == (96, 120) and pred.metainfo['scale_factor'] == (1, 1)
    det = detector.detect(path)
    assert len(det.scores) > 10
    np.testing.assert_array_equal(pred.pred_instances.bboxes.numpy(), det.bboxes)
    np.testing.assert_array_equal(pred.pred_instances.scores.numpy(), det.scores)
