"""BRL against closed forms, mmdet's FocalLoss and the authors' CUDA backward formulas."""
import functools
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from test_clean_only_loss import random_batch
from test_decoupled_heads import build, retina_head
from test_dghm_loss import logit

import mmdet_dghm  # noqa: F401  (registers the losses)
from mmdet_dghm.models.losses import BackgroundRecalibrationLoss

BG = 1
# positive; noisy negative above the threshold (1 - p = 0.2 < 0.5); noisy negative below it;
# clean negative above it.
PROBS = [0.7, 0.8, 0.3, 0.8]
LABELS = [0, BG, BG, BG]
PARTIAL = [True, True, True, False]
FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)


def batch(probs=PROBS, labels=LABELS, partial=PARTIAL, requires_grad=False):
    pred = torch.tensor([[logit(p)] for p in probs], requires_grad=requires_grad)
    return pred, torch.tensor(labels), torch.tensor(partial)


def brl(**kwargs) -> BackgroundRecalibrationLoss:
    return BackgroundRecalibrationLoss(reduction='none', **kwargs)


POSITIVE = 0.25 * 0.3 ** 2 * -math.log(0.7)
EASY = 0.75 * 0.3 ** 2 * -math.log(0.7)
FOCAL_08 = 0.75 * 0.8 ** 2 * -math.log(0.2)
# beta (1 - alpha) (1 - p) ** gamma_m (-log p) with beta = 0.5, gamma_m = 1.
MIRRORED_08 = 0.5 * 0.75 * 0.2 * -math.log(0.8)


def test_defaults_are_the_authors_retinanet_config():
    loss = BackgroundRecalibrationLoss()
    # brl_retinanet_r50_fpn_coco_50p.py: MirrorFocalLoss(gamma_1=2, gamma_2=2, alpha=0.25,
    # thresh=0.5, beta=1.0, loss_weight=0.1) on the candidates.
    assert (loss.gamma, loss.mirror_gamma, loss.alpha, loss.thresh, loss.beta,
            loss.candidate_weight, loss.mode) == (2.0, None, 0.25, 0.5, 1.0, 0.1, 'partial')


def test_partial_mode_mirrors_only_the_confusing_noisy_negative():
    pred, target, partial = batch()
    terms = brl(beta=0.5, mirror_gamma=1.0)(pred, target, partial=partial)
    # The candidates (noisy negatives) carry candidate_weight = 0.1; the clean one is focal.
    assert terms.flatten().tolist() == \
        pytest.approx([POSITIVE, 0.1 * MIRRORED_08, 0.1 * EASY, FOCAL_08], rel=1e-6)


def test_all_mode_mirrors_every_confusing_negative_and_ignores_status():
    pred, target, partial = batch()
    loss = brl(mode='all', beta=0.5, mirror_gamma=1.0, candidate_weight=1.0)
    expected = [POSITIVE, MIRRORED_08, EASY, MIRRORED_08]
    assert loss(pred, target, partial=partial).flatten().tolist() == \
        pytest.approx(expected, rel=1e-6)
    assert loss(pred, target).flatten().tolist() == pytest.approx(expected, rel=1e-6)


def test_threshold_is_strict_on_the_background_confidence():
    # p = 1/2 exactly: 1 - p = 0.5 is not below t = 0.5, but below t = 0.51.
    pred, target, partial = batch([0.5], [BG], [True])
    focal = 0.75 * 0.25 * math.log(2)
    loss = functools.partial(brl, candidate_weight=1.0)
    assert loss(thresh=0.5)(pred, target, partial=partial).item() == \
        pytest.approx(focal, rel=1e-6)
    assert loss(thresh=0.5, beta=0.5)(pred, target, partial=partial).item() == \
        pytest.approx(focal, rel=1e-6)
    # Mirrored: beta (1 - alpha) (1 - p) ** gamma_m (-log p).
    assert loss(thresh=0.51, beta=0.5)(pred, target, partial=partial).item() == \
        pytest.approx(0.5 * focal, rel=1e-6)
    assert loss(thresh=0.51, mirror_gamma=1.0)(pred, target, partial=partial).item() == \
        pytest.approx(0.75 * 0.5 * math.log(2), rel=1e-6)


@pytest.mark.parametrize('mode', ['all', 'partial'])
def test_zero_threshold_and_unit_candidate_weight_is_mmdet_focal_loss(mode):
    pred, target, partial, weight = random_batch(seed=10)
    ours = BackgroundRecalibrationLoss(mode=mode, thresh=0.0, gamma=1.5, alpha=0.3,
                                       candidate_weight=1.0)
    theirs = MODELS.build(dict(FOCAL, gamma=1.5, alpha=0.3))
    for kwargs in (dict(avg_factor=6.0), dict(reduction_override='none'),
                   dict(reduction_override='sum'), {}):
        torch.testing.assert_close(ours(pred, target, weight, partial=partial, **kwargs),
                                   theirs(pred, target, weight, **kwargs))


@pytest.mark.parametrize('mode', ['all', 'partial'])
def test_candidate_weight_scales_exactly_the_candidates(mode):
    pred, target, partial, weight = random_batch(seed=14)
    negative = F.one_hot(target, 4)[:, :3] == 0
    candidate = negative if mode == 'all' else negative & partial
    assert bool(candidate.any()) and bool((~candidate).any())
    ours = BackgroundRecalibrationLoss(mode=mode, thresh=0.0, candidate_weight=0.3)
    theirs = MODELS.build(FOCAL)
    scaled = weight.view(-1, 1) * torch.where(candidate, 0.3, 1.0)
    torch.testing.assert_close(ours(pred, target, weight, partial=partial, avg_factor=5.0),
                               theirs(pred, target, scaled, avg_factor=5.0))


def test_zero_beta_silences_the_confusing_negatives():
    pred, target, partial = batch()
    terms = brl(beta=0.0)(pred, target, partial=partial)
    assert terms.flatten().tolist() == \
        pytest.approx([POSITIVE, 0.0, 0.1 * EASY, FOCAL_08], rel=1e-6)


@pytest.mark.parametrize('mode', ['all', 'partial'])
def test_gradient_matches_the_authors_backward(mode):
    pred, target, partial, weight = random_batch(seed=11)
    pred = (pred * 1.5).requires_grad_()
    gamma, gamma_m, alpha, beta, thresh, w = 2.0, 1.5, 0.25, 0.7, 0.4, 0.2
    loss = BackgroundRecalibrationLoss(mode=mode, gamma=gamma, alpha=alpha, thresh=thresh,
                                       mirror_gamma=gamma_m, beta=beta, candidate_weight=w)
    loss(pred, target, weight, partial=partial, reduction_override='sum').backward()
    p = pred.detach().sigmoid()
    t = F.one_hot(target, 4)[:, :3].float()
    # MirrorSigmoidFocalLossBackward of github.com/Dwrety/mmdetection-selective-iou, the
    # candidates' terms times the confusion loss's weight w.
    pos = -alpha * (1 - p) ** gamma * (1 - p - gamma * p * p.log())
    easy = (1 - alpha) * p ** gamma * (p - gamma * (1 - p) * (-p).log1p())
    hard = -beta * (1 - alpha) * (1 - p) ** gamma_m * (1 - p - gamma_m * p * p.log())
    candidate = (t == 0) if mode == 'all' else (t == 0) & partial
    confusing = candidate & (1 - p < thresh)
    assert bool(confusing.any()) and bool((candidate & ~confusing).any())
    per_class = torch.where(confusing, w * hard, torch.where(candidate, w * easy, easy))
    expected = torch.where(t > 0, pos, per_class) * weight.view(-1, 1)
    torch.testing.assert_close(pred.grad, expected)


def test_row_status_equals_its_per_class_broadcast():
    pred, target, _, weight = random_batch(seed=12)
    pred = pred * 3
    rows = torch.arange(60) % 2 == 0
    loss = brl()
    torch.testing.assert_close(loss(pred, target, weight, partial=rows),
                               loss(pred, target, weight, partial=rows.view(-1, 1).expand(60, 3)))
    assert not torch.equal(loss(pred, target, weight, partial=rows),
                           loss(pred, target, weight, partial=~rows))


def test_ignored_elements_change_nothing():
    pred, target, partial = batch()
    loss = BackgroundRecalibrationLoss(reduction='sum')
    base = loss(pred, target, partial=partial)
    extra, extra_t, extra_p = batch([0.99, 0.2], [BG, 0], [True, True])
    all_pred = torch.cat([pred, extra]).requires_grad_()
    got = loss(all_pred, torch.cat([target, extra_t]), torch.tensor([1.0] * 4 + [0.0] * 2),
               partial=torch.cat([partial, extra_p]))
    assert got.item() == pytest.approx(base.item(), rel=1e-6)
    got.backward()
    assert bool((all_pred.grad[4:] == 0).all())


def test_reductions_and_avg_factor():
    pred, target, partial, weight = random_batch(seed=13)
    loss = BackgroundRecalibrationLoss(loss_weight=2.0)
    terms = loss(pred, target, weight, partial=partial, reduction_override='none')
    assert loss(pred, target, weight, partial=partial).item() == \
        pytest.approx(terms.mean().item(), rel=1e-6)
    assert loss(pred, target, weight, partial=partial, avg_factor=3.0).item() == \
        pytest.approx(terms.sum().item() / 3.0, rel=1e-6)


def test_half_input_is_computed_in_float32():
    pred, target, partial, weight = random_batch(seed=15)
    half = pred.half()
    loss = BackgroundRecalibrationLoss(thresh=0.9, reduction='none')
    out = loss(half, target, weight, partial=partial)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, loss(half.float(), target, weight, partial=partial))


def test_empty_input_gives_zero_with_gradient():
    pred = torch.zeros(0, 2, requires_grad=True)
    out = BackgroundRecalibrationLoss()(pred, torch.zeros(0, dtype=torch.long),
                                        partial=torch.zeros(0, dtype=torch.bool))
    assert out.item() == 0 and out.requires_grad


def test_bad_settings_and_input_raise():
    with pytest.raises(NotImplementedError, match='BackgroundRecalibrationLoss: only use_si'):
        BackgroundRecalibrationLoss(use_sigmoid=False)
    with pytest.raises(ValueError, match="mode must be one of \\('all', 'partial'\\)"):
        BackgroundRecalibrationLoss(mode='noisy')
    with pytest.raises(ValueError, match=r'thresh must lie in \[0, 1\]'):
        BackgroundRecalibrationLoss(thresh=1.5)
    with pytest.raises(ValueError, match='beta must be >= 0'):
        BackgroundRecalibrationLoss(beta=-1.0)
    with pytest.raises(ValueError, match='candidate_weight must be >= 0'):
        BackgroundRecalibrationLoss(candidate_weight=-0.1)
    with pytest.raises(ValueError, match='mirror_gamma must be >= 0'):
        BackgroundRecalibrationLoss(mirror_gamma=-1.0)
    with pytest.raises(ValueError, match='gamma must be >= 0'):
        BackgroundRecalibrationLoss(gamma=-1.0)
    pred, target, partial = batch()
    with pytest.raises(ValueError, match='`partial`.*required'):
        BackgroundRecalibrationLoss()(pred, target)
    with pytest.raises(ValueError, match='partial must be a bool tensor'):
        BackgroundRecalibrationLoss(mode='all')(pred, target, partial=partial.long())


def test_head_refuses_it_without_sigmoid():
    with pytest.raises(ValueError,
                       match='DecoupledRetinaHead: BackgroundRecalibrationLoss needs a sigmoid'):
        build(retina_head, dict(type='BackgroundRecalibrationLoss'))
