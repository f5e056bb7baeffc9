"""FROC sees the whole ranking: invariant to strictly increasing score maps, through the metric
and through every DigestPath config's test-time post-processing (RetinaNet's dense head, Faster
R-CNN's RoI head); truncation is never silent."""
import copy
import logging
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.evaluation.metrics import (
    DigestPathMetric,
    froc_complete,
    froc_curve,
    froc_score,
    recall_at_fps,
)

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted((REPO / 'configs' / 'digestpath').glob('*.py'))
#: Two-stage configs: their detections come from the RoI head, the others' from a dense head.
TWO_STAGE_CONFIGS = [path for path in CONFIGS if path.name.startswith('faster-rcnn_')]
DENSE_CONFIGS = [path for path in CONFIGS if path not in TWO_STAGE_CONFIGS]
NUM_PROPOSALS = 1000  # the two-stage configs' test-time RPN max_per_img
IMG = 64  # one tile per image; FPN levels of 8, 4, 2, 1, 1 cells
NUM_POS, NUM_NORMAL = 3, 3


def s_pow8(scores: np.ndarray) -> np.ndarray:
    """A strictly increasing map that puts every score in (0, 1) below 0.01 when s < 0.56."""
    return np.asarray(scores, np.float64) ** 8


class WarningRecorder(logging.Handler):

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def evaluate(samples: List[dict], **kwargs):
    """The metric's results and the warnings it logged."""
    metric = DigestPathMetric(**kwargs)
    metric.dataset_meta = dict(classes=('ring_cell_cancer', ))
    recorder = WarningRecorder()
    logger = MMLogger.get_current_instance()
    logger.addHandler(recorder)
    try:
        metric.process({}, copy.deepcopy(samples))
        results = metric.evaluate(len(samples))
    finally:
        logger.removeHandler(recorder)
    return results, recorder.messages


def test_recall_at_fps_and_completeness_closed_form():
    # Thresholds ascending: NRFP 40, 8, 2, 0.5 with recall 0.9, 0.7, 0.4, 0.1.
    nrfp, recall = np.array([40.0, 8.0, 2.0, 0.5]), np.array([0.9, 0.7, 0.4, 0.1])
    np.testing.assert_allclose(recall_at_fps(nrfp, recall, (1, 8, 32)), [0.1, 0.7, 0.7])
    assert froc_complete(nrfp) and not froc_complete(nrfp[1:])
    assert not froc_complete(np.zeros(0))


def test_froc_of_a_pooled_set_is_invariant_to_increasing_score_maps():
    rng = np.random.default_rng(0)
    pos, normal = rng.uniform(0.05, 0.55, 40), rng.uniform(0.05, 0.55, 70)
    is_tp = rng.uniform(size=40) < 0.5
    curves = [froc_curve(f(pos), is_tp, 25, f(normal), 2) for f in (np.asarray, s_pow8)]
    assert s_pow8(pos).max() < 0.01
    (_, nrfp_a, recall_a), (_, nrfp_b, recall_b) = curves
    np.testing.assert_array_equal(nrfp_a, nrfp_b)
    np.testing.assert_array_equal(recall_a, recall_b)
    assert froc_score(nrfp_a, recall_a) == froc_score(nrfp_b, recall_b) > 0


def box(x: float, y: float = 0.0) -> list:
    return [x, y, x + 10, y + 10]


def metric_sample(path: str, bboxes, scores, gt, partial: bool) -> dict:
    return dict(img_path=path, partially_annotated=partial,
                pred_instances=dict(bboxes=torch.as_tensor(bboxes, dtype=torch.float32),
                                    scores=torch.as_tensor(scores, dtype=torch.float32)),
                gt_instances=dict(bboxes=torch.as_tensor(gt, dtype=torch.float32).reshape(-1, 4)))


def hand_made_samples(transform=np.asarray) -> List[dict]:
    """One positive image (cells at 0, 20, 40; predictions on 0 and 40 and one FP) and one
    normal image with 40 predictions, scores in (0.1, 0.55)."""
    pos_scores = transform([0.5, 0.45, 0.3])
    normal_scores = transform(np.linspace(0.11, 0.54, 40))
    return [metric_sample('pos.png', [box(0), box(40), box(0, 50)], pos_scores,
                          [box(0), box(20), box(40)], True),
            metric_sample('normal.png', [box(12 * i) for i in range(40)], normal_scores,
                          [], False)]


def test_metric_alone_is_invariant_to_increasing_score_maps():
    plain, warnings = evaluate(hand_made_samples())
    mapped, _ = evaluate(hand_made_samples(s_pow8), score_thr=0.5 ** 8)
    assert not warnings
    # Normal scores above 0.5 (4 of 40) and 0.45 (9) and 0.3 (22): recall 1/3 from NRFP 4,
    # 2/3 from NRFP 9 on; NRFP 1 and 2 admit no prediction of the positive image.
    expected_froc = (0 + 0 + 1 / 3 + 1 / 3 + 2 / 3 + 2 / 3) / 6
    for results in (plain, mapped):
        assert results['digestpath/froc'] == pytest.approx(expected_froc)
        assert results['digestpath/recall@1fp'] == 0.0
        assert results['digestpath/recall@8fp'] == pytest.approx(1 / 3)
        assert results['digestpath/froc_complete'] == 1.0
    for key in ('froc', 'recall@1fp', 'recall@8fp', 'recall', 'precision', 'nfps'):
        assert mapped[f'digestpath/{key}'] == plain[f'digestpath/{key}']
    assert mapped['digestpath/score_thr'] == 0.5 ** 8 and plain['digestpath/score_thr'] == 0.5


def test_a_truncated_curve_warns_and_names_the_setting():
    samples = hand_made_samples()
    # What a test_cfg.score_thr of 0.3 would have let through: 22 of the 40 normal boxes.
    kept = samples[1]['pred_instances']['scores'] >= 0.3
    samples[1]['pred_instances'] = {k: v[kept] for k, v in samples[1]['pred_instances'].items()}
    results, warnings = evaluate(samples)
    assert results['digestpath/froc_complete'] == 0.0
    assert len(warnings) == 1
    assert 'model.test_cfg.score_thr' in warnings[0] and 'max_per_img' in warnings[0]


def detector(cfg: Config):
    """The config's detector (a PartialTeacher's student and teacher are one)."""
    return cfg.model.get('detector', cfg.model)


def build_head(cfg: Config):
    head_cfg = copy.deepcopy(detector(cfg).bbox_head)
    head_cfg.update(test_cfg=detector(cfg).test_cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        return MODELS.build(head_cfg)


def head_outputs(head, seed: int):
    """Distinct logits in [-8, 0.2] (scores up to 0.55) on every anchor, zero box deltas: the
    boxes are the anchors, the scores a random ranking."""
    sizes = [IMG // stride[0] for stride in head.prior_generator.strides]
    sizes = [max(s, 1) for s in sizes]
    anchors = head.num_base_priors
    total = sum(s * s * anchors for s in sizes)
    gen = torch.Generator().manual_seed(seed)
    logits = torch.linspace(-8.0, 0.2, total, dtype=torch.float64)[
        torch.randperm(total, generator=gen)]
    cls, reg, start = [], [], 0
    for size in sizes:
        n = size * size * anchors
        cls.append(logits[start:start + n].view(anchors, size, size))
        reg.append(torch.zeros(4 * anchors, size, size))
        start += n
    return cls, reg


def pow8_logits(logits: torch.Tensor) -> torch.Tensor:
    """Logits whose sigmoid is sigmoid(logits) ** 8 (computed in float64)."""
    log_p = 8 * torch.nn.functional.logsigmoid(logits)
    return log_p - torch.log1p(-log_p.exp())


def predicted_sample(index: int, pred) -> dict:
    """Image ``index``'s metric sample: positive (three annotated cells) for the first
    NUM_POS, normal after; its predictions ``pred``."""
    positive = index < NUM_POS
    gt = [[4.0, 4.0, 20.0, 20.0], [30.0, 8.0, 46.0, 24.0], [10.0, 36.0, 42.0, 60.0]]
    return metric_sample(f'{index}.png', pred.bboxes, pred.scores, gt if positive else [],
                         positive)


def predict(head, cfg_test, transform=None) -> List[dict]:
    """Metric samples of NUM_POS positive and NUM_NORMAL normal images through the head's
    ``predict_by_feat`` under ``cfg_test``; ground truth: three anchors of each positive."""
    samples = []
    meta = dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG), scale_factor=(1.0, 1.0))
    for index in range(NUM_POS + NUM_NORMAL):
        cls, reg = head_outputs(head, seed=index)
        if transform is not None:
            cls = [transform(c) for c in cls]
        cls = [c.float()[None] for c in cls]
        reg = [r[None] for r in reg]
        with torch.no_grad():
            pred = head.predict_by_feat(cls, reg, batch_img_metas=[meta], cfg=cfg_test,
                                        rescale=False)[0]
        samples.append(predicted_sample(index, pred))
    return samples


def test_configs_of_both_kinds_are_found():
    assert len(TWO_STAGE_CONFIGS) == 4 and len(DENSE_CONFIGS) >= 20


def check_full_ranking(samples_of) -> None:
    """The FROC of the predictions equals the FROC of the same ranking mapped to scores below
    2 ** -8 (``samples_of(transform)``), every operating point reached, nothing warned."""
    plain, _ = evaluate(samples_of(None))
    mapped, warnings = evaluate(samples_of(pow8_logits), score_thr=0.5 ** 8)
    assert not warnings
    assert plain['digestpath/froc_complete'] == mapped['digestpath/froc_complete'] == 1.0
    for key in ('froc', 'recall@1fp', 'recall@8fp'):
        assert mapped[f'digestpath/{key}'] == pytest.approx(plain[f'digestpath/{key}'],
                                                            abs=1e-12)
    assert plain['digestpath/froc'] > 0


@pytest.mark.parametrize('config', DENSE_CONFIGS, ids=lambda p: p.stem)
def test_every_config_lets_froc_see_the_full_ranking(config):
    cfg = Config.fromfile(str(config))
    test_cfg = detector(cfg).test_cfg
    assert test_cfg.score_thr < 1e-4
    assert test_cfg.max_per_img >= 32 and test_cfg.nms_pre >= test_cfg.max_per_img
    head = build_head(cfg)
    check_full_ranking(lambda transform: predict(head, test_cfg, transform))


def test_the_old_threshold_fails_the_same_check_and_warns():
    cfg = Config.fromfile(str(DENSE_CONFIGS[0]))
    head = build_head(cfg)
    old = copy.deepcopy(cfg.model.test_cfg)
    old.score_thr = 0.05
    plain, _ = evaluate(predict(head, old))
    mapped, warnings = evaluate(predict(head, old, pow8_logits), score_thr=0.5 ** 8)
    assert plain['digestpath/froc'] > 0
    # Every mapped score is below 0.01: nothing passes 0.05, the curve is empty.
    assert mapped['digestpath/froc'] == 0.0
    assert mapped['digestpath/froc_complete'] == 0.0
    assert len(warnings) == 1 and 'model.test_cfg.score_thr' in warnings[0]


def roi_predict(bbox_head, cfg_test, transform=None) -> List[dict]:
    """Metric samples as :func:`predict`'s, through the RoI box head's ``predict_by_feat``:
    NUM_PROPOSALS random proposals per image, distinct logits in [-8, 0.2] for the class (a
    softmax classifier gets a background logit of 0, so its score is the sigmoid too), zero
    box deltas."""
    samples = []
    meta = dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG), scale_factor=(1.0, 1.0))
    sigmoid_form = bbox_head.custom_cls_channels
    for index in range(NUM_POS + NUM_NORMAL):
        gen = torch.Generator().manual_seed(index)
        corner = torch.rand(NUM_PROPOSALS, 2, generator=gen) * (IMG - 20)
        size = 8 + torch.rand(NUM_PROPOSALS, 2, generator=gen) * 12
        rois = torch.cat([torch.zeros(NUM_PROPOSALS, 1), corner, corner + size], dim=1)
        logits = torch.linspace(-8.0, 0.2, NUM_PROPOSALS, dtype=torch.float64)[
            torch.randperm(NUM_PROPOSALS, generator=gen)]
        if transform is not None:
            logits = transform(logits)
        logits = logits.float()[:, None]
        cls = logits if sigmoid_form else torch.cat([logits, torch.zeros_like(logits)], dim=1)
        reg = torch.zeros(NUM_PROPOSALS, 4 * bbox_head.num_classes)
        with torch.no_grad():
            pred = bbox_head.predict_by_feat((rois, ), (cls, ), (reg, ), batch_img_metas=[meta],
                                             rcnn_test_cfg=cfg_test, rescale=False)[0]
        samples.append(predicted_sample(index, pred))
    return samples


@pytest.mark.parametrize('config', TWO_STAGE_CONFIGS, ids=lambda p: p.stem)
def test_every_two_stage_config_lets_froc_see_the_full_ranking(config):
    cfg = Config.fromfile(str(config))
    rpn, rcnn = cfg.model.test_cfg.rpn, cfg.model.test_cfg.rcnn
    assert rcnn.score_thr < 1e-4
    assert rcnn.max_per_img >= 32 and rpn.max_per_img == NUM_PROPOSALS >= rcnn.max_per_img
    with DefaultScope.overwrite_default_scope('mmdet'):
        bbox_head = MODELS.build(copy.deepcopy(cfg.model.roi_head.bbox_head))
    check_full_ranking(lambda transform: roi_predict(bbox_head, rcnn, transform))
    # The same proposals under the old threshold lose the mapped ranking.
    old = copy.deepcopy(rcnn)
    old.score_thr = 0.05
    assert evaluate(roi_predict(bbox_head, old, pow8_logits),
                    score_thr=0.5 ** 8)[0]['digestpath/froc_complete'] == 0.0
