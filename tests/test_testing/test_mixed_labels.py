"""Two-cell-type synthetic images and the two-source COCO sets written from them."""
import json

import cv2
import numpy as np

from mmdet_dghm.testing import (
    CATEGORY_IDS,
    CELL_CLASSES,
    generate_mixed_label_sets,
    render_cell_types,
    render_image,
    sample_stain,
)


def render(seed: int, **kwargs) -> tuple:
    rng = np.random.default_rng(seed)
    return render_cell_types(rng, (256, 256), sample_stain(rng), True, **kwargs)


def test_without_eosinophils_the_image_is_render_image():
    rgb, boxes, labels = render(4)
    rng = np.random.default_rng(4)
    ref_rgb, ref_boxes = render_image(rng, (256, 256), sample_stain(rng), True)
    assert np.array_equal(rgb, ref_rgb) and np.array_equal(boxes, ref_boxes)
    assert labels.tolist() == [0] * len(boxes)


def test_eosinophils_are_boxed_pink_cells_apart_from_src():
    rgb, boxes, labels = render(4, eosinophil_coverage=(0.1, 0.1))
    eos = boxes[labels == 1]
    # 10 % of 256^2 / 28^2 px: about 8 boxes asked, a few may find no room.
    assert 5 <= len(eos) <= 9 and (labels == 0).sum() > 0
    assert labels.tolist() == sorted(labels.tolist())
    # Eosin-dominated cytoplasm: red clearly above green inside the boxes' centre rows.
    x0, y0, x1, y1 = np.round(eos[0]).astype(int)
    patch = rgb[y0:y1, x0:x1].reshape(-1, 3).astype(float)
    assert patch[:, 0].mean() - patch[:, 1].mean() > 40


def test_sources_box_one_type_each_and_test_boxes_both(tmp_path):
    paths = generate_mixed_label_sets(tmp_path, num_per_source=2, num_test=2, image_size=128)
    data = {split: json.loads(paths[split].read_text())
            for split in ('source_src', 'source_eos', 'test')}
    assert [c['name'] for c in data['source_src']['categories']] == [CELL_CLASSES[0]]
    assert [c['id'] for c in data['source_eos']['categories']] == [CATEGORY_IDS[1]]
    assert {a['category_id'] for a in data['source_src']['annotations']} == {CATEGORY_IDS[0]}
    assert {a['category_id'] for a in data['source_eos']['annotations']} == {CATEGORY_IDS[1]}
    assert {a['category_id'] for a in data['test']['annotations']} == set(CATEGORY_IDS)
    for split in data.values():
        for img in split['images']:
            assert cv2.imread(str(paths['images'] / img['file_name'])).shape == (128, 128, 3)
        for ann in split['annotations']:
            assert ann['area'] == ann['bbox'][2] * ann['bbox'][3] > 0
