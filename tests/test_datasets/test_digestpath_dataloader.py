"""The dataset config built by mmengine's Runner iterates the real data; data-time report."""
import copy
import time

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.testing import generate_synthetic_digestpath


@pytest.fixture(scope='module')
def config(repo_root):
    init_default_scope('mmdet')
    return Config.fromfile(str(repo_root / 'configs/_base_/datasets/digestpath.py'))


def small_tiles(dataloader_cfg, root, **dataset_kwargs):
    """The config's loader on half-scale data read at 0.5 with 256 px tiles (CPU-sized)."""
    cfg = copy.deepcopy(dataloader_cfg)
    cfg.update(num_workers=1, persistent_workers=False)
    cfg.dataset.update(dict(data_root=str(root / 'half-scale'), scale=0.5, tile_size=256,
                            tile_stride=192), **dataset_kwargs)
    return cfg


def iterate_train_loader(cfg, num_samples: int) -> float:
    """Iterate ``num_samples`` tiles of a Runner-built train loader, over as many epochs as
    that takes (setting the epoch as mmengine's DistSamplerSeedHook does); returns s per tile.
    """
    cfg.dataset.pipeline[2].crop_size = 192  # the paper's 600 of 800, scaled
    loader = Runner.build_dataloader(cfg, seed=0)
    assert type(loader.batch_sampler).__name__ == 'PosNegBatchSampler'
    positive_ids = set(loader.dataset.positive_indices().tolist())
    seen, epoch, start = 0, 0, time.perf_counter()
    while seen < num_samples:
        loader.batch_sampler.sampler.set_epoch(epoch)
        for batch in loader:
            check_train_batch(batch, positive_ids)
            seen += len(batch['inputs'])
            if seen >= num_samples:
                break
        epoch += 1
    assert seen == num_samples
    return (time.perf_counter() - start) / seen


def check_train_batch(batch: dict, positive_ids: set) -> None:
    samples = batch['data_samples']
    assert len(samples) == 8
    # Exactly two positive tiles per batch (pos_fraction 0.25 of 8), both from positive images
    # (a crop may cut their boxes away, so the boxes themselves are not guaranteed); a tile
    # without boxes of a positive image is a negative tile that is partially annotated.
    drawn = [s for s in samples if s.img_id in positive_ids]
    assert len(drawn) == 2 and all(s.partially_annotated for s in drawn)
    for inputs, sample in zip(batch['inputs'], samples):
        assert inputs.shape == (3, 192, 192)
        assert isinstance(sample.partially_annotated, bool)
        assert sample.src_img_path.endswith('.jpeg') and len(sample.tile_origin) == 2
        if not sample.partially_annotated:
            assert len(sample.gt_instances) == 0


def test_runner_built_train_loader_iterates_real_tiles(config, digestpath_root):
    seconds = iterate_train_loader(small_tiles(config.train_dataloader, digestpath_root), 240)
    print(f'\ntrain data time per tile (1 worker, 2 shared CPUs): {seconds * 1e3:.1f} ms')


def test_runner_built_train_loader_iterates_synthetic_tiles(config, tmp_path):
    generate_synthetic_digestpath(tmp_path / 'half-scale', num_pos=4, num_neg=4,
                                  image_size=320, seed=0, images_per_slide=1)
    # 320 px synthetic images at their own scale: 4 tiles of 256 each, cropped to 192.
    cfg = small_tiles(config.train_dataloader, tmp_path, split='all', scale=1.0)
    iterate_train_loader(cfg, 200)


def test_runner_built_val_loader_carries_stitching_metainfo(config, digestpath_root):
    cfg = small_tiles(config.val_dataloader, digestpath_root, num_folds=5, fold=0)
    cfg.num_workers = 0
    loader = Runner.build_dataloader(cfg, seed=0)
    first_image_tiles = []
    for batch in loader:
        (sample,) = batch['data_samples']
        if first_image_tiles and sample.src_img_path != first_image_tiles[0].src_img_path:
            break
        first_image_tiles.append(sample)
    # A ~1000 px half-scale image read at 0.5 is ~500 px: windows at 0, 192, then snapped.
    assert len(first_image_tiles) == 9
    h, w = first_image_tiles[0].src_img_shape
    assert {s.tile_origin for s in first_image_tiles} == {
        (x, y) for x in (0, 192, w - 256) for y in (0, 192, h - 256)}
    assert all(s.src_removed_bboxes.shape == (0, 4) for s in first_image_tiles)
    pipeline = loader.dataset.pipeline.transforms
    assert pipeline[0].num_decodes == 2  # the first image, then the one that ended the loop
