"""tools/pseudo_label.py: hand-made detections in, the exact pseudo-boxes of each image's
status out, read back by PartialCocoDataset; a DigestPath layout written with its XML, and
with a missing rate written out (kept boxes in the XML, removed ones beside it)."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from test_train_tools import tiny_data  # noqa: F401  (fixture)

from mmdet_dghm.datasets.missing import drop_mask
from mmdet_dghm.datasets.removed_boxes import read_removed_boxes
from mmdet_dghm.datasets.voc_annotation import parse_voc_xml, sanitize_boxes
from mmdet_dghm.fileio.coco_pseudo_labels import count_pseudo_annotations
from mmdet_dghm.testing import generate_synthetic_digestpath

CONFIG = 'configs/partial_coco/retinanet_r50_fpn_dghmc_1x_partial-coco.py'
# Every image gets these (xyxy, score, label): a confident 'person' (label 0) away from the
# annotated boxes, a confident 'car' (label 1), an uncertain person, and the first annotated
# box seen again.
DETECTIONS = [((70., 4., 100., 40.), 0.9, 0), ((4., 70., 40., 110.), 0.8, 1),
              ((100., 100., 120., 120.), 0.35, 0), ((9., 10., 56., 50.), 0.95, 0)]
# Image 1: every class partial; 2: 'car' (category 3) partial; 3 and 4: exhaustive.
STATUS = [dict(partially_annotated=True), dict(partial_category_ids=[3]), {},
          dict(partially_annotated=False)]


def fake_detector(model, img_path):
    boxes, scores, labels = zip(*DETECTIONS)
    return DetDataSample(pred_instances=InstanceData(
        bboxes=torch.tensor(boxes), scores=torch.tensor(scores), labels=torch.tensor(labels)))


def test_pseudo_label_tool_follows_the_status(tiny_coco, tmp_path, load_tool, repo_root,
                                             monkeypatch):
    ann = tiny_coco(image_fields=STATUS)
    config = tmp_path / 'config.py'
    config.write_text(f"_base_ = '{repo_root / CONFIG}'\n"
                      f"train_dataloader = dict(dataset=dict(data_root='{ann.parent}', "
                      f"ann_file='{ann.name}', data_prefix=dict(img='images/'), "
                      "metainfo=dict(classes=('person', 'car'))))\n")
    tool = load_tool('pseudo_label')
    monkeypatch.setattr(tool, 'init_detector', lambda cfg, checkpoint, device: None)
    monkeypatch.setattr(tool, 'inference_detector', fake_detector)
    out = ann.parent / 'round1.json'
    assert tool.main([str(config), 'unused.pth', '--ann-file', str(ann), '--out', str(out),
                      '--pos-thr', '0.5', '--ignore-thr', '0.3']) == 0
    coco = json.loads(out.read_text())
    original = json.loads(ann.read_text())
    assert coco['annotations'][:len(original['annotations'])] == original['annotations']
    added = [(a['image_id'], a['category_id'], a['bbox'], a['iscrowd'], a['score'])
             for a in coco['annotations'][len(original['annotations']):]]
    assert all(a['pseudo'] for a in coco['annotations'][len(original['annotations']):])
    assert added == [(1, 1, [70.0, 4.0, 30.0, 36.0], 0, 0.9),
                     (1, 3, [4.0, 70.0, 36.0, 40.0], 0, 0.8),
                     (1, 1, [100.0, 100.0, 20.0, 20.0], 1, 0.35),
                     (2, 3, [4.0, 70.0, 36.0, 40.0], 0, 0.8)]
    assert count_pseudo_annotations(coco) == dict(positive=3, ignored=1)
    assert coco['images'] == original['images']

    # The plugin's dataset trains on the result: pseudo-boxes as boxes, crowd ones ignored.
    init_default_scope('mmdet')
    dataset = DATASETS.build(dict(type='PartialCocoDataset', data_root=str(ann.parent),
                                  ann_file=out.name, data_prefix=dict(img='images/'),
                                  metainfo=dict(classes=('person', 'car')), pipeline=[],
                                  test_mode=True))
    first = dataset.get_data_info(0)
    assert [(i['bbox_label'], i['ignore_flag']) for i in first['instances']] == [
        (0, 0), (1, 0), (0, 0), (1, 0), (0, 1)]
    assert first['partially_annotated'] is True


def test_pseudo_label_tool_refuses_thresholds_out_of_order(load_tool):
    with pytest.raises(SystemExit):
        load_tool('pseudo_label').parse_args(['c.py', 'k.pth', '--ann-file', 'a.json',
                                              '--out', 'o.json', '--pos-thr', '0.3',
                                              '--ignore-thr', '0.5'])


@pytest.mark.slow
def test_pseudo_label_tool_writes_a_digestpath_layout(tiny_data, tmp_path, load_tool,  # noqa: F811,E501
                                                     repo_root):
    config = repo_root / 'configs/digestpath/retinanet_r18-light_fpn_ce_digestpath.py'
    cfg = Config.fromfile(str(config))
    cfg.model.backbone.init_cfg = None
    init_default_scope('mmdet')
    checkpoint = tmp_path / 'init.pth'
    torch.manual_seed(0)
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), checkpoint)
    options = tmp_path / 'config.py'
    options.write_text(
        f"_base_ = '{config}'\nmodel = dict(backbone=dict(init_cfg=None))\n"
        f"train_dataloader = dict(dataset=dict(data_root='{tiny_data}', split='all', "
        "tile_size=128, tile_stride=128))\n"
        "val_dataloader = dict(dataset=dict(tile_size=128, tile_stride=128))\n")
    out = tmp_path / 'round1'
    tool = load_tool('pseudo_label')
    # The untrained model scores every anchor about 0.01: all of its detections qualify.
    assert tool.main([str(options), str(checkpoint), '--out', str(out), '--pos-thr', '0.001',
                      '--iou-thr', '0.5']) == 0
    originals = sorted((tiny_data / 'sig-train-pos').glob('*.xml'))
    assert sorted(p.name for p in (out / 'sig-train-neg').iterdir()) == sorted(
        p.name for p in (tiny_data / 'sig-train-neg').iterdir())
    for original in originals:
        written = out / 'sig-train-pos' / original.name
        before = parse_voc_xml(original, ('ring_cell_cancer', ))
        after = parse_voc_xml(written, ('ring_cell_cancer', ))
        assert len(after.bboxes) > len(before.bboxes)
        assert np.array_equal(after.bboxes[:len(before.bboxes)], before.bboxes)
        text = written.read_text()
        assert text.count('<pseudo>1</pseudo>') == len(after.bboxes) - len(before.bboxes)
        assert (out / 'sig-train-pos' / original.with_suffix('.jpeg').name).resolve() == \
            original.with_suffix('.jpeg').resolve()
    with pytest.raises(ValueError, match='no ignored boxes'):
        tool.main([str(options), str(checkpoint), '--out', str(out), '--pos-thr', '0.5',
                   '--ignore-thr', '0.3'])


SRC = ('ring_cell_cancer', )


@pytest.fixture(scope='module')
def dropped_data(tmp_path_factory):
    """Two positive slides of 192 px images (4 and 6 cells) and a negative one."""
    root = tmp_path_factory.mktemp('dropped_digestpath')
    generate_synthetic_digestpath(root, num_pos=2, num_neg=1, image_size=192,
                                  images_per_slide=1, seed=1)
    return root


def dropped_config(tmp_path, root, repo_root, drop_rate: float) -> str:
    """The light CE config on ``root``: fold 0 of 2 (one positive slide for training), whole
    images as tiles, ``drop_rate`` with seed 3."""
    config = tmp_path / f'config_{drop_rate}.py'
    config.write_text(
        f"_base_ = '{repo_root}/configs/digestpath/retinanet_r18-light_fpn_ce_digestpath.py'\n"
        f"train_dataloader = dict(dataset=dict(data_root='{root}', split='train', fold=0, "
        f"num_folds=2, tile_size=192, tile_stride=192, drop_rate={drop_rate}, drop_seed=3))\n"
        "val_dataloader = dict(dataset=dict(tile_size=192, tile_stride=192))\n")
    return str(config)


def expected_boxes(xml):
    """The boxes the dropped dataset keeps and removes, read independently of it."""
    annotation = parse_voc_xml(xml, SRC)
    boxes, keep, _ = sanitize_boxes(annotation.bboxes, annotation.width, annotation.height)
    dropped = drop_mask(int(keep.sum()), 0.5, 3, xml.with_suffix('.jpeg').name)
    return boxes[keep][~dropped], boxes[keep][dropped]


def free_box(boxes: np.ndarray, side: float = 10.) -> np.ndarray:
    """The first ``side`` px square on a 4 px grid that touches none of ``boxes``."""
    for y in range(0, 192, 4):
        for x in range(0, 192, 4):
            box = np.array([x, y, x + side, y + side], dtype=np.float32)
            if not bbox_overlaps(torch.tensor(box[None]), torch.tensor(boxes)).any():
                return box
    raise AssertionError('no free square')


class FixedDetector:
    """Returns, for each whole-image tile, the detections ``by_image`` gives its image."""

    def __init__(self, by_image):
        self.by_image = by_image

    def test_step(self, batch):
        samples = batch['data_samples']
        for sample in samples:
            boxes, scores = self.by_image[Path(sample.src_img_path).name]
            sample.pred_instances = InstanceData(
                bboxes=torch.tensor(boxes, dtype=torch.float32), scores=torch.tensor(scores),
                labels=torch.zeros(len(scores), dtype=torch.long))
        return samples


def test_pseudo_label_tool_materialises_a_drop(dropped_data, tmp_path, load_tool, repo_root,
                                               monkeypatch):
    xmls = sorted((dropped_data / 'sig-train-pos').glob('*.xml'))
    expected = {xml.with_suffix('.jpeg').name: expected_boxes(xml) for xml in xmls}
    # Fold 0 holds one positive slide out: the tool labels the other one.
    init_default_scope('mmdet')
    train = DATASETS.build(dict(type='DigestPathDataset', data_root=str(dropped_data),
                                split='train', fold=0, num_folds=2, tile_size=192,
                                tile_stride=192, pipeline=[], neg_dirs=[]))
    (labelled, ) = {Path(train.get_data_info(i)['src_img_path']).name
                    for i in range(len(train))}
    (held_out, ) = set(expected) - {labelled}
    kept, removed = expected[labelled]
    assert len(kept) >= 1 and len(removed) >= 2
    # A removed cell found (0.9), an empty spot (0.8), a kept cell seen again (0.95: the
    # annotation) and a removed cell below the threshold (0.1).
    empty = free_box(np.concatenate([kept, removed]))
    detections = {name: (np.zeros((0, 4)), np.zeros(0)) for name in expected}
    detections[labelled] = (np.stack([removed[0], empty, kept[0], removed[1]]),
                            np.array([0.9, 0.8, 0.95, 0.1], dtype=np.float32))
    tool = load_tool('pseudo_label')
    monkeypatch.setattr(tool, 'init_detector',
                        lambda cfg, checkpoint, device: FixedDetector(detections))
    out, summary = tmp_path / 'round1', tmp_path / 'summary.json'
    args = ['unused.pth', '--out', str(out), '--pos-thr', '0.5', '--iou-thr', '0.5']

    # The XML files hold the removed boxes: refused without the flag, which a dataset that
    # removes nothing refuses.
    with pytest.raises(ValueError, match=r'drop_rate=0\.5, drop_seed=3.*--materialise-drop'):
        tool.main([dropped_config(tmp_path, dropped_data, repo_root, 0.5), *args])
    with pytest.raises(ValueError, match='--materialise-drop, but the training dataset '
                       r'removes no boxes \(drop_rate=0\)'):
        tool.main([dropped_config(tmp_path, dropped_data, repo_root, 0.0), *args,
                   '--materialise-drop'])
    assert not out.exists()

    assert tool.main([dropped_config(tmp_path, dropped_data, repo_root, 0.5), *args,
                      '--materialise-drop', '--summary', str(summary)]) == 0
    written = read_removed_boxes(out)
    assert (written.drop_rate, written.drop_seed, written.source) == (0.5, 3, str(dropped_data))
    assert sorted(written.boxes) == sorted(expected)
    for name, (kept_boxes, removed_boxes) in expected.items():
        np.testing.assert_array_equal(written.boxes[name], removed_boxes)
        xml = parse_voc_xml(out / 'sig-train-pos' / Path(name).with_suffix('.xml'), SRC)
        np.testing.assert_array_equal(xml.bboxes[~xml.pseudo], kept_boxes)
    xml = parse_voc_xml(out / 'sig-train-pos' / Path(labelled).with_suffix('.xml'), SRC)
    pseudo = xml.bboxes[xml.pseudo]
    assert sorted(map(tuple, pseudo.tolist())) == sorted([tuple(removed[0].tolist()),
                                                          tuple(empty.tolist())])
    assert not parse_voc_xml(out / 'sig-train-pos' / Path(held_out).with_suffix('.xml'),
                             SRC).pseudo.any()
    assert sorted(p.name for p in (out / 'sig-train-neg').iterdir()) == sorted(
        p.name for p in (dropped_data / 'sig-train-neg').iterdir())
    record = json.loads(summary.read_text())
    assert (record['images'], record['pseudo_boxes'], record['pseudo_on_exhaustive']) == (1, 2, 0)
    assert record['quality'] == dict(images=1, pseudo_boxes=2, removed_boxes=len(removed),
                                     pseudo_on_removed=1, removed_found=1, precision=0.5,
                                     recall=1 / len(removed), iou_thr=0.5)

    # The dataset reads it with nothing removed again: exactly the kept and the pseudo-boxes,
    # the removed ones known.
    again = DATASETS.build(dict(type='DigestPathDataset', data_root=str(out), split='all',
                                num_folds=2, tile_size=192, tile_stride=192, pipeline=[],
                                test_mode=True))
    for index in range(len(again)):
        info = again.get_data_info(index)
        name = Path(info['src_img_path']).name
        if name not in expected:
            assert info['instances'] == [] and len(info['src_removed_bboxes']) == 0
            continue
        truth = expected[name][0] if name != labelled else np.concatenate([kept, pseudo])
        np.testing.assert_array_equal(info['src_gt_bboxes'], truth)
        assert [inst['bbox'] for inst in info['instances']] == truth.tolist()
        np.testing.assert_array_equal(info['src_removed_bboxes'], expected[name][1])
    with pytest.raises(ValueError, match=r'removed_boxes\.json: this data root has its boxes '
                       r'removed already \(drop_rate=0\.5, drop_seed=3'):
        DATASETS.build(dict(type='DigestPathDataset', data_root=str(out), split='all',
                            num_folds=2, tile_size=192, tile_stride=192, pipeline=[],
                            drop_rate=0.5))
