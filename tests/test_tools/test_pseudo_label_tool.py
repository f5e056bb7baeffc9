"""tools/pseudo_label.py: hand-made detections in, the exact pseudo-boxes of each image's
status out, read back by PartialCocoDataset; a DigestPath layout written with its XML."""
import json

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from test_train_tools import tiny_data  # noqa: F401  (fixture)

from mmdet_dghm.datasets.voc_annotation import parse_voc_xml
from mmdet_dghm.fileio.coco_pseudo_labels import count_pseudo_annotations

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
