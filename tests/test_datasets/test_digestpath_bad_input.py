"""Bad input fails loudly, naming the file; recoverable box defects warn once."""
from pathlib import Path

import numpy as np
import pytest
import tifffile
from digestpath_layout import make_layout, write_image, write_voc

from mmdet_dghm.datasets import DigestPathDataset, LoadDigestPathTile


def build(root: Path, **kwargs) -> DigestPathDataset:
    return DigestPathDataset(data_root=str(root), tile_size=64, tile_stride=64, **kwargs)


@pytest.fixture
def layout(tmp_path: Path) -> Path:
    return make_layout(tmp_path / 'dp', {'P-lv0-1': (64, 48, [[4, 4, 20, 20]])},
                       {'N-lv0-1': (64, 64)})


def test_truncated_image_fails_on_load_naming_file(layout):
    image = layout / 'sig-train-pos' / 'P-lv0-1.jpeg'
    data = image.read_bytes()
    image.write_bytes(data[:len(data) // 2])
    dataset = build(layout)  # the header is intact, so the size check passes
    with pytest.raises(ValueError, match=r'P-lv0-1\.jpeg.*truncated'):
        LoadDigestPathTile()(dict(dataset.get_data_info(0)))


def test_truncated_png_fails_on_load_naming_file(tmp_path):
    path = write_image(tmp_path / 't.png', 64, 64)
    path.write_bytes(path.read_bytes()[:300])
    results = dict(img_path=str(path), tile_origin=(0, 0), width=8, height=8, scale=1.0)
    with pytest.raises(ValueError, match=r't\.png.*truncated'):
        LoadDigestPathTile()(results)


def test_image_shrunk_after_building_fails_naming_file(tmp_path):
    path = write_image(tmp_path / 'small.png', 32, 24)
    results = dict(img_path=str(path), tile_origin=(16, 0), width=32, height=24, scale=1.0)
    with pytest.raises(ValueError, match=r'small\.png: tile at \(16, 0\) of 32 x 24 leaves '
                       r'the decoded image of 32 x 24'):
        LoadDigestPathTile()(results)


def test_tiff_region_outside_the_image_fails_naming_file(tmp_path):
    path = tmp_path / 'slide.tif'
    tifffile.imwrite(path, np.zeros((32, 32, 3), np.uint8), photometric='rgb', tile=(16, 16))
    results = dict(img_path=str(path), tile_origin=(16, 16), width=32, height=32, scale=1.0)
    with pytest.raises(ValueError, match=r'slide\.tif'):
        LoadDigestPathTile()(results)


def test_unreadable_image_fails_naming_file(layout):
    (layout / 'sig-train-neg' / 'N-lv0-1.jpeg').write_bytes(b'not an image at all')
    with pytest.raises(ValueError, match=r'N-lv0-1\.jpeg: not a readable image'):
        build(layout)


def test_positive_image_without_xml_is_an_error_not_a_negative(layout):
    (layout / 'sig-train-pos' / 'P-lv0-1.xml').unlink()
    with pytest.raises(ValueError, match=r'P-lv0-1\.jpeg: positive image without VOC XML'):
        build(layout)


def test_xml_without_size(layout):
    write_voc(layout / 'sig-train-pos' / 'P-lv0-1.xml', None, [[4, 4, 20, 20]])
    with pytest.raises(ValueError, match=r'P-lv0-1\.xml: no <size>'):
        build(layout)


def test_xml_size_disagreeing_with_image(layout):
    write_voc(layout / 'sig-train-pos' / 'P-lv0-1.xml', (64, 64), [[4, 4, 20, 20]])
    with pytest.raises(ValueError, match=r'P-lv0-1\.xml: <size> 64 x 64 disagrees .* 64 x 48'):
        build(layout)


def test_box_with_xmin_above_xmax(layout):
    write_voc(layout / 'sig-train-pos' / 'P-lv0-1.xml', (64, 48), [[4, 4, 20, 20],
                                                                   [30, 4, 25, 20]])
    with pytest.raises(ValueError, match=r'P-lv0-1\.xml: object 1 has xmin > xmax'):
        build(layout)


def test_unknown_class_name(layout):
    write_voc(layout / 'sig-train-pos' / 'P-lv0-1.xml', (64, 48), [[4, 4, 20, 20]],
              names=['lymphocyte'])
    with pytest.raises(ValueError, match=r'P-lv0-1\.xml: object 0 has unknown class'):
        build(layout)


def test_empty_and_missing_folders(layout):
    (layout / 'sig-train-neg' / 'N-lv0-1.jpeg').unlink()
    with pytest.raises(ValueError, match=r'sig-train-neg holds no images'):
        build(layout)
    with pytest.raises(ValueError, match=r'sig-train-other does not exist'):
        build(layout, neg_dirs=('sig-train-other',))


def test_same_file_name_in_positive_and_negative_folders(layout):
    write_image(layout / 'sig-train-neg' / 'P-lv0-1.jpeg', 64, 48)
    with pytest.raises(ValueError, match=r"'P-lv0-1\.jpeg' appears twice"):
        build(layout)


def test_boxes_outside_clipped_and_zero_area_dropped_with_one_warning_each(tmp_path):
    root = make_layout(tmp_path, {
        'P-lv0-1': (64, 48, [[-5, 4, 20, 20], [50, 40, 70, 60], [10, 10, 10, 30]]),
        'Q-lv0-1': (64, 48, [[60, 4, 80, 20], [64, 10, 90, 20]]),
    }, {'N-lv0-1': (64, 64)})
    with pytest.warns(UserWarning) as record:
        dataset = build(root)
    messages = [str(w.message) for w in record if 'DigestPathDataset' in str(w.message)]
    assert len(messages) == 2
    # P: 2 boxes cross the border; Q: 2 (one of them entirely outside, hence zero area).
    assert '4 boxes reached outside their image and were clipped' in messages[0]
    assert 'P-lv0-1.xml (2)' in messages[0] and 'Q-lv0-1.xml (2)' in messages[0]
    assert '2 boxes had zero area' in messages[1]
    boxes = [inst['bbox'] for i in range(2) for inst in dataset.get_data_info(i)['instances']]
    np.testing.assert_allclose(boxes, [[0, 4, 20, 20], [50, 40, 64, 48], [60, 4, 64, 20]])


def test_empty_split_names_the_folder_and_the_fold(tmp_path):
    from mmdet_dghm.testing import generate_synthetic_digestpath
    generate_synthetic_digestpath(tmp_path, num_pos=1, num_neg=1, image_size=128,
                                  images_per_slide=1)
    with pytest.raises(ValueError, match=r"split='val' of fold 4/5 holds no image"):
        DigestPathDataset(data_root=str(tmp_path), split='val', fold=4, num_folds=5,
                          tile_size=128, tile_stride=128, pipeline=[])


def test_training_pipeline_dropping_partially_annotated_is_refused(layout):
    pack = dict(type='mmdet.PackDetInputs', meta_keys=('img_id', 'img_path', 'img_shape'))
    with pytest.raises(ValueError, match=r"DigestPathDataset\(.*dp\).*"
                                         r"\('partially_annotated',\) out of its meta_keys"):
        build(layout, pipeline=[pack])
    # Evaluation datasets are not checked.
    assert len(build(layout, pipeline=[pack], test_mode=True)) > 0
