"""DigestPathMetric: grouping, tile merging, ground-truth sources, outputs, mmengine plumbing."""
import json
import math
import pickle
import random

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmdet.structures import DetDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

from mmdet_dghm.evaluation.metrics import DigestPathMetric
from mmdet_dghm.structures import merge_tile_predictions


def make_sample(img_path: str, bboxes, scores, partially_annotated: bool = True,
                **metainfo) -> DetDataSample:
    sample = DetDataSample(metainfo=dict(img_path=img_path,
                                         partially_annotated=partially_annotated, **metainfo))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor(bboxes, dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor(scores, dtype=torch.float32),
        labels=torch.zeros(len(scores), dtype=torch.long))
    return sample


def evaluate(samples, **kwargs) -> dict:
    metric = DigestPathMetric(**kwargs)
    metric.dataset_meta = dict(classes=('ring_cell_cancer',))
    metric.process({}, [s.to_dict() for s in samples])
    return metric.evaluate(len(samples))


def box(x: float, y: float = 0.0) -> list:
    return [x, y, x + 10, y + 10]


# Source image 100 x 20 with five cells; the tiles cover x in [0, 60) and [40, 100).
GT = np.array([box(5), box(25), box(45), box(65), box(85)], dtype=np.float32)
# Whole-image predictions: three cells found (one in the tile overlap) plus one false positive.
PREDS = [box(5), box(45), box(85), box(28, 8)]
SCORES = [0.9, 0.8, 0.7, 0.6]
NORMAL = make_sample('normal.jpg', [box(0), box(30), box(60)], [0.95, 0.75, 0.4],
                     partially_annotated=False)
EXPECTED = dict(recall=3 / 5, precision=3 / 4, nfps=100.0 - 2,
                # One normal image: NRFP <= 1 stops at t=0.8 (recall 2/5), NRFP <= 2 at t=0.6
                # (recall 3/5), and NRFP 3 adds no recall.
                froc=(2 / 5 + 5 * 3 / 5) / 6, num_pos_images=1, num_normal_images=1,
                # Three predictions on the one normal image: the curve stops at NRFP 3 < 32.
                froc_complete=0.0, score_thr=0.5,
                **{'recall@1fp': 2 / 5, 'recall@8fp': 3 / 5})


def tiled_samples(src_gt: np.ndarray) -> list:
    """The same predictions over two tiles; the overlap cell is predicted by both tiles."""
    common = dict(src_img_path='pos.jpg', src_gt_bboxes=src_gt,
                  src_removed_bboxes=np.zeros((0, 4), np.float32))
    left = make_sample('pos_tile0.jpg', [box(5), box(45), box(28, 8)], [0.9, 0.8, 0.6],
                       tile_origin=(0, 0), **common)
    right = make_sample('pos_tile1.jpg', [box(5), box(45)], [0.8, 0.7], tile_origin=(40, 0),
                        **common)
    return [left, right]


def test_whole_image_and_two_tiles_give_the_same_metrics():
    whole = make_sample('pos.jpg', PREDS, SCORES, src_gt_bboxes=GT)
    assert evaluate([whole, NORMAL]) == pytest.approx(
        {f'digestpath/{k}': v for k, v in EXPECTED.items()})
    assert evaluate(tiled_samples(GT) + [NORMAL]) == evaluate([whole, NORMAL])


def test_tile_duplicates_would_be_false_positives_without_nms():
    # An NMS threshold above the duplicates' IoU (1.0 is not above) keeps both copies.
    samples = tiled_samples(GT) + [NORMAL]
    assert evaluate(samples, nms_iou_thr=1.0)['digestpath/precision'] == pytest.approx(3 / 5)


def test_merge_tile_predictions_shifts_and_suppresses():
    bboxes, scores = merge_tile_predictions(
        [np.array([box(5), box(45)]), np.array([box(5)])], [np.array([0.9, 0.5]), [0.7]],
        [(0, 0), (40, 0)])
    np.testing.assert_allclose(bboxes, [box(5), box(45)])
    np.testing.assert_allclose(scores, [0.9, 0.7])
    # A whole image is returned as predicted, overlapping boxes included.
    bboxes, scores = merge_tile_predictions([np.array([box(5), box(5)])], [[0.9, 0.5]],
                                            [(3, 4)])
    np.testing.assert_allclose(bboxes, [box(8, 4), box(8, 4)])
    with pytest.raises(ValueError, match='one \\(bboxes, scores, origin\\) per tile'):
        merge_tile_predictions([], [], [])


def test_ground_truth_from_gt_instances_shifted_and_without_ignored_boxes():
    sample = make_sample('crop.jpg', [box(0), box(20)], [0.9, 0.8], tile_origin=(100, 50))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([box(0)]),
                                       labels=torch.zeros(1, dtype=torch.long))
    sample.ignored_instances = InstanceData(bboxes=torch.tensor([box(20)]),
                                            labels=torch.zeros(1, dtype=torch.long))
    metric = DigestPathMetric()
    metric.process({}, [sample.to_dict()])
    np.testing.assert_allclose(metric.results[0]['gt_bboxes'], [box(100, 50)])
    # Only the annotated box is ground truth: recall 1/1, the other prediction is an FP.
    results = metric.evaluate(1)
    assert results['digestpath/recall'] == 1.0
    assert results['digestpath/precision'] == 0.5


def test_removed_boxes_give_r_and_t_recall():
    whole = make_sample('pos.jpg', PREDS, SCORES, src_gt_bboxes=GT[[0, 1, 2]],
                        src_removed_bboxes=GT[[3, 4]])
    results = evaluate([whole, NORMAL])
    assert results['digestpath/recall'] == pytest.approx(3 / 5)
    assert results['digestpath/t_recall'] == pytest.approx(2 / 3)  # box(5), box(45)
    assert results['digestpath/r_recall'] == pytest.approx(1 / 2)  # box(85)


def test_no_r_t_recall_without_removed_boxes():
    whole = make_sample('pos.jpg', PREDS, SCORES, src_gt_bboxes=GT,
                        src_removed_bboxes=np.zeros((0, 4), np.float32))
    assert set(evaluate([whole, NORMAL])) == {f'digestpath/{k}' for k in EXPECTED}


def test_result_order_and_pickling_do_not_matter():
    """Distributed collection pickles results and interleaves the ranks' samples."""
    samples = tiled_samples(GT) + [NORMAL]
    metric = DigestPathMetric()
    metric.process({}, [s.to_dict() for s in samples])
    results = pickle.loads(pickle.dumps(metric.results))
    assert all(isinstance(v, (np.ndarray, str, bool)) for r in results for v in r.values())
    random.Random(0).shuffle(results)
    results.reverse()
    assert metric.compute_metrics(results) == pytest.approx(EXPECTED)


def test_outputs_written(tmp_path):
    prefix = str(tmp_path / 'out' / 'val_')
    whole = make_sample('pos.jpg', PREDS, SCORES, src_gt_bboxes=GT)
    evaluate([whole, NORMAL], outfile_prefix=prefix)
    with open(prefix + 'froc.png', 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    with open(prefix + 'predictions.json', encoding='utf-8') as f:
        records = json.load(f)
    assert [r['img_path'] for r in records] == ['pos.jpg', 'normal.jpg']
    assert records[0]['bboxes'] == PREDS and records[0]['num_gt'] == 5
    assert records[1]['scores'] == pytest.approx([0.95, 0.75, 0.4])
    assert records[1]['partially_annotated'] is False


def test_written_scores_keep_the_ranking_of_tiny_scores(tmp_path):
    """Scores far below 1e-5 (a loss that ranks well but scores low) are written as the
    model's float32 values, so FROC re-scored from the file is the reported one."""
    prefix = str(tmp_path / 'val_')
    scores = np.float32([SCORES]) * np.float32(1e-6)
    whole = make_sample('pos.jpg', PREDS, scores[0].tolist(), src_gt_bboxes=GT)
    normal = make_sample('normal.jpg', [box(0), box(30), box(60)],
                         [9.5e-7, 7.5e-7, 4e-7], partially_annotated=False)
    evaluate([whole, normal], outfile_prefix=prefix)
    with open(prefix + 'predictions.json', encoding='utf-8') as f:
        records = json.load(f)
    assert np.float32(records[0]['scores']).tolist() == scores[0].tolist()
    assert len(set(records[0]['scores'])) == len(set(SCORES))


def test_no_normal_images_leaves_froc_undefined_and_no_curve(tmp_path):
    whole = make_sample('pos.jpg', PREDS, SCORES, src_gt_bboxes=GT)
    results = evaluate([whole], outfile_prefix=str(tmp_path / 'a_'))
    assert math.isnan(results['digestpath/froc']) and math.isnan(results['digestpath/nfps'])
    assert (tmp_path / 'a_predictions.json').exists()
    assert not (tmp_path / 'a_froc.png').exists()


def test_bad_input_raises_clear_errors():
    no_src = [make_sample('a.jpg', [box(0)], [0.9], src_img_path='src.jpg', tile_origin=(0, 0)),
              make_sample('b.jpg', [box(0)], [0.9], src_img_path='src.jpg', tile_origin=(9, 0))]
    with pytest.raises(ValueError, match='src.jpg is split over 2 samples'):
        evaluate(no_src)
    sample = DetDataSample(metainfo=dict(img_path='x.jpg'))
    sample.pred_instances = InstanceData(bboxes=torch.zeros(0, 4), scores=torch.zeros(0))
    with pytest.raises(KeyError, match='x.jpg lacks the `partially_annotated`'):
        evaluate([sample])
    mixed = [make_sample('a.jpg', [], [], src_img_path='s.jpg', src_gt_bboxes=GT),
             make_sample('b.jpg', [], [], False, src_img_path='s.jpg', src_gt_bboxes=GT)]
    with pytest.raises(ValueError, match='disagree on `partially_annotated`'):
        evaluate(mixed)
    with pytest.raises(ValueError, match='nms_iou_thr must be in'):
        DigestPathMetric(nms_iou_thr=0)


def test_through_registry_and_mmengine_evaluator():
    evaluator = Evaluator(METRICS.build(dict(type='DigestPathMetric', score_thr=0.65)))
    evaluator.dataset_meta = dict(classes=('ring_cell_cancer',))
    samples = tiled_samples(GT) + [NORMAL]
    evaluator.process(data_samples=samples[:2])
    evaluator.process(data_samples=samples[2:])
    results = evaluator.evaluate(len(samples))
    # At 0.65 the false positive (0.6) drops out; the normal image keeps two predictions.
    assert results == pytest.approx({f'digestpath/{k}': v for k, v in dict(
        EXPECTED, precision=1.0, score_thr=0.65).items()})
