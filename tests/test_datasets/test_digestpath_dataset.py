"""DigestPathDataset on hand-made layouts (exact tiles and boxes) and on the real data."""
import pickle
from pathlib import Path

import numpy as np
import pytest
from digestpath_layout import make_layout

from mmdet_dghm.datasets import DigestPathDataset
from mmdet_dghm.datasets.missing import drop_mask


def build(root: Path, **kwargs) -> DigestPathDataset:
    kwargs.setdefault('tile_size', 128)
    kwargs.setdefault('tile_stride', 64)
    return DigestPathDataset(data_root=str(root), **kwargs)


def entries_of(dataset: DigestPathDataset, name: str) -> list:
    return [dataset.get_data_info(i) for i in range(len(dataset))
            if Path(dataset.get_data_info(i)['src_img_path']).stem == name]


def tile_at(entries: list, origin: tuple) -> dict:
    (entry,) = [e for e in entries if e['tile_origin'] == origin]
    return entry


def test_tiles_of_every_image_with_metainfo(small_layout):
    dataset = build(small_layout)
    # A 300x200: x starts 0,64,128,172 and y 0,64,72 -> 12; B 130x140: 2x2 -> 4;
    # C-1 256x256: 3x3 -> 9; C-2 200x180: x 0,64,72 and y 0,52 -> 6.
    counts = {name: len(entries_of(dataset, name))
              for name in ['A-lv0-1', 'B-lv0-1', 'C-lv0-1', 'C-lv0-2']}
    assert counts == {'A-lv0-1': 12, 'B-lv0-1': 4, 'C-lv0-1': 9, 'C-lv0-2': 6}
    assert len(dataset) == 31
    a = entries_of(dataset, 'A-lv0-1')
    assert all(e['partially_annotated'] is True and e['src_img_shape'] == (200, 300) for e in a)
    c = entries_of(dataset, 'C-lv0-1')
    assert all(e['partially_annotated'] is False and e['instances'] == [] for e in c)
    assert [dataset.get_data_info(i)['img_id'] for i in range(len(dataset))] == list(range(31))
    entry = tile_at(a, (172, 72))
    assert (entry['width'], entry['height']) == (128, 128)
    assert 'src_gt_bboxes' not in entry  # source boxes only travel in test mode
    # Entries hold coordinates, never pixels: a whole entry pickles to well under a kilobyte.
    assert max(len(pickle.dumps(dataset.get_data_info(i))) for i in range(len(dataset))) < 1024


def test_box_cut_by_tile_border_is_gt_where_held_and_ignored_elsewhere(small_layout):
    a = entries_of(build(small_layout, min_visible=0.5), 'A-lv0-1')
    # Box (100, 50, 180, 90), 80 px wide, in the tiles of the first row:
    expected = {
        (0, 0): ([100, 50, 128, 90], 1),    # 28 of 80 px visible: ignored sliver
        (64, 0): ([36, 50, 116, 90], 0),    # whole box
        (128, 0): ([0, 50, 52, 90], 0),     # 52 of 80 px: ground truth
        (172, 0): ([0, 50, 8, 90], 1),      # 8 of 80 px: ignored
    }
    for origin, (bbox, flag) in expected.items():
        instances = [inst for inst in tile_at(a, origin)['instances']
                     if inst['bbox'][1] == 50]
        assert instances == [dict(bbox=bbox, bbox_label=0, ignore_flag=flag)], origin
    # The tile at (0, 72) spans y 72..200: the box's y 50..90 leaves 18 of 40 px visible.
    (inst,) = [i for i in tile_at(a, (64, 72))['instances'] if i['bbox'][0] == 36]
    assert inst == dict(bbox=[36, 0, 116, 18], bbox_label=0, ignore_flag=1)


def test_positive_indices_need_a_non_ignored_box(small_layout):
    dataset = build(small_layout)
    expected = [i for i in range(len(dataset))
                if any(inst['ignore_flag'] == 0
                       for inst in dataset.get_data_info(i)['instances'])]
    assert dataset.positive_indices().tolist() == expected
    assert 0 < len(expected) < 16  # only tiles of the 16 positive-image tiles qualify


def test_xml_folder_beside_image_folder(tmp_path):
    root = make_layout(tmp_path, {'P-lv0-1': (64, 64, [[1, 2, 30, 40]])}, {'N-lv0-1': (64, 64)},
                       xml_beside=False)
    dataset = build(root, tile_size=64, tile_stride=64)
    assert dataset.get_data_info(0)['instances'] == [
        dict(bbox=[1, 2, 30, 40], bbox_label=0, ignore_flag=0)]


def test_scale_maps_sizes_and_boxes(small_layout):
    dataset = build(small_layout, scale=0.5, tile_size=256, tile_stride=256)
    (a,) = entries_of(dataset, 'A-lv0-1')
    assert a['src_img_shape'] == (100, 150) and (a['width'], a['height']) == (150, 100)
    assert a['scale'] == 0.5
    assert [inst['bbox'] for inst in a['instances']] == [
        [5, 5, 20, 20], [50, 25, 90, 45], [100, 75, 130, 95], [125, 10, 145, 30]]
    (b,) = entries_of(dataset, 'B-lv0-1')
    assert b['src_img_shape'] == (70, 65)


def test_folds_split_by_slide(small_layout):
    def sources(split, fold):
        dataset = build(small_layout, num_folds=2, fold=fold, split=split, tile_size=512,
                        tile_stride=512)
        return {Path(dataset.get_data_info(i)['src_img_path']).stem
                for i in range(len(dataset))}

    everything = {'A-lv0-1', 'B-lv0-1', 'C-lv0-1', 'C-lv0-2'}
    for fold in (0, 1):
        train, val = sources('train', fold), sources('val', fold)
        assert train | val == everything and not train & val
        # Each fold gets one positive slide; slide C's two images stay together.
        assert len({'A-lv0-1', 'B-lv0-1'} & val) == 1
        assert {'C-lv0-1', 'C-lv0-2'} <= train or {'C-lv0-1', 'C-lv0-2'} <= val
    assert sources('val', 0) != sources('val', 1)


def test_drop_rate_removes_same_boxes_in_every_tile_and_build(small_layout):
    datasets = [build(small_layout, drop_rate=0.5, drop_seed=7, test_mode=True)
                for _ in range(2)]
    a = entries_of(datasets[0], 'A-lv0-1')
    all_boxes = np.array([[10, 10, 40, 40], [100, 50, 180, 90], [200, 150, 260, 190],
                          [250, 20, 290, 60]], dtype=np.float32)
    removed = drop_mask(4, 0.5, 7, 'A-lv0-1.jpeg')
    for entry in a + entries_of(datasets[1], 'A-lv0-1'):
        np.testing.assert_array_equal(entry['src_removed_bboxes'], all_boxes[removed])
        np.testing.assert_array_equal(entry['src_gt_bboxes'], all_boxes[~removed])
    assert len(a[0]['src_removed_bboxes']) == 2
    # Removed boxes never become instances, not even ignored ones: every instance, moved
    # back to source coordinates, lies inside a kept box.
    kept = all_boxes[~removed]
    for entry in a:
        ox, oy = entry['tile_origin']
        for inst in entry['instances']:
            box = np.array(inst['bbox']) + [ox, oy, ox, oy]
            assert ((kept[:, :2] <= box[:2]).all(1) & (kept[:, 2:] >= box[2:]).all(1)).any()
    without = build(small_layout, test_mode=True)
    assert sum(len(e['instances']) for e in entries_of(without, 'A-lv0-1')) > \
        sum(len(e['instances']) for e in a)
    assert entries_of(without, 'A-lv0-1')[0]['src_removed_bboxes'].shape == (0, 4)


@pytest.mark.parametrize('kwargs,match', [
    (dict(split='test'), 'split'), (dict(fold=5), 'fold'), (dict(tile_stride=0), 'tile_stride'),
    (dict(tile_stride=129), 'tile_stride'), (dict(min_visible=0), 'min_visible'),
    (dict(drop_rate=-0.1), 'drop_rate'), (dict(scale=0), 'scale')])
def test_bad_arguments(small_layout, kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(small_layout, **kwargs)


# ----------------------------------------------------------------------------- real data
def count_boxes(dataset: DigestPathDataset) -> int:
    return sum(len(dataset.get_data_info(i)['instances']) for i in range(len(dataset)))


def test_full_scale_sample_every_image_and_box(digestpath_root):
    # One tile per image (tiles larger than any image): instance count = box count.
    dataset = DigestPathDataset(data_root=str(digestpath_root / 'full-scale-sample'),
                                tile_size=2200, tile_stride=2200)
    flags = [dataset.get_data_info(i)['partially_annotated'] for i in range(len(dataset))]
    assert sorted(flags) == [False] * 3 + [True] * 3
    assert count_boxes(dataset) == 228


def test_half_scale_every_image_and_box(digestpath_root):
    dataset = DigestPathDataset(data_root=str(digestpath_root / 'half-scale'), tile_size=1100,
                                tile_stride=1100, test_mode=True, drop_rate=0.5)
    entries = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert sum(e['partially_annotated'] for e in entries) == 60
    assert len(entries) == 362
    kept = sum(len(e['src_gt_bboxes']) for e in entries)
    removed = sum(len(e['src_removed_bboxes']) for e in entries)
    assert kept + removed == 8075
    assert count_boxes(dataset) == kept
    assert removed == sum(round(0.5 * (len(e['src_gt_bboxes']) + len(e['src_removed_bboxes'])))
                          for e in entries)


def test_half_scale_folds_match_paper_proportions(digestpath_root):
    per_fold = []
    for fold in range(5):
        dataset = DigestPathDataset(data_root=str(digestpath_root / 'half-scale'), fold=fold,
                                    split='val', tile_size=1100, tile_stride=1100)
        entries = [dataset.get_data_info(i) for i in range(len(dataset))]
        per_fold.append((sum(e['partially_annotated'] for e in entries),
                         sum(not e['partially_annotated'] for e in entries)))
    assert sum(p for p, _ in per_fold) == 60 and sum(n for _, n in per_fold) == 302
    # Greedy balancing of 16 positive and 63 negative slides: 12 +- 2 and 60 +- 3 per fold.
    assert all(10 <= p <= 14 and 57 <= n <= 64 for p, n in per_fold), per_fold
