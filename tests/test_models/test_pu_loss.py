"""nnPU / PNU loss against closed forms of L_c = (1 + k) sum_P l+ + max(0, r) + sum_N l-."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from test_clean_only_loss import random_batch
from test_decoupled_heads import build, retina_head
from test_dghm_loss import logit

import mmdet_dghm  # noqa: F401  (registers the losses)
from mmdet_dghm.models.losses import PULoss, prior_from_missing_rate

BG = 1
# P: two labeled positives; U: three noisy negatives; N: one clean negative.
PROBS = [0.8, 0.6, 0.3, 0.1, 0.5, 0.2]
LABELS = [0, 0, BG, BG, BG, BG]
PARTIAL = [True, False, True, True, True, False]


def batch(probs=PROBS, labels=LABELS, partial=PARTIAL):
    pred = torch.tensor([[logit(p)] for p in probs], requires_grad=True)
    return pred, torch.tensor(labels), torch.tensor(partial)


def ce_pos(p: float) -> float:
    return -math.log(p)


def ce_neg(p: float) -> float:
    return -math.log(1 - p)


POS_SUM = ce_pos(0.8) + ce_pos(0.6)
POS_NEG_SUM = ce_neg(0.8) + ce_neg(0.6)
UNL_SUM = ce_neg(0.3) + ce_neg(0.1) + ce_neg(0.5)


def pu(**kwargs) -> PULoss:
    return PULoss(base='ce', reduction='sum', **kwargs)


def test_pnu_value_on_hand_elements():
    pred, target, partial = batch()
    # W_P = 2, W_U = 3, k = 0.2 * 3 / 2 = 0.3; r > 0.
    r = UNL_SUM - 0.3 * POS_NEG_SUM
    assert r > 0
    expected = 1.3 * POS_SUM + r + ce_neg(0.2)
    assert pu(prior=0.2)(pred, target, partial=partial).item() == \
        pytest.approx(expected, rel=1e-6)


def test_pu_mode_takes_the_clean_negative_as_unlabeled_and_needs_no_status():
    pred, target, partial = batch()
    # W_U = 4, k = 0.2 * 4 / 2 = 0.4.
    expected = 1.4 * POS_SUM + UNL_SUM + ce_neg(0.2) - 0.4 * POS_NEG_SUM
    loss = pu(prior=0.2, mode='pu')
    assert loss(pred, target).item() == pytest.approx(expected, rel=1e-6)
    assert loss(pred, target, partial=partial).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('mode', ['pu', 'pnu'])
@pytest.mark.parametrize('base, mmdet_loss', [
    ('focal', dict(type='FocalLoss', use_sigmoid=True)),
    ('ce', dict(type='CrossEntropyLoss', use_sigmoid=True))])
def test_zero_prior_is_the_base_loss_with_its_gradient(mode, base, mmdet_loss):
    pred, target, partial, weight = random_batch(seed=5)
    ours_pred = pred.clone().requires_grad_()
    theirs_pred = pred.clone().requires_grad_()
    ours = PULoss(prior=0.0, mode=mode, base=base)(ours_pred, target, weight, avg_factor=9.0,
                                                  partial=partial)
    theirs = MODELS.build(mmdet_loss)(theirs_pred, F.one_hot(target, 4)[:, :3].float(),
                                      weight.view(-1, 1).expand(-1, 3), avg_factor=9.0)
    torch.testing.assert_close(ours, theirs)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(ours_pred.grad, theirs_pred.grad)


def test_negative_risk_is_clipped_and_stops_its_gradient():
    pred, target, partial = batch()
    # k = 0.9 * 3 / 2 = 1.35: r = sum_U l- - 1.35 sum_P l- < 0.
    assert UNL_SUM - 1.35 * POS_NEG_SUM < 0
    loss = pu(prior=0.9)(pred, target, partial=partial)
    assert loss.item() == pytest.approx(2.35 * POS_SUM + ce_neg(0.2), rel=1e-6)
    loss.backward()
    # CE: d l+/dx = p - 1, d l-/dx = p. U gets nothing, P only its (1 + k) l+.
    expected = [2.35 * -0.2, 2.35 * -0.4, 0.0, 0.0, 0.0, 0.2]
    assert pred.grad.flatten().tolist() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize('nn_beta, nn_gamma', [(0.0, 1.0), (0.5, 2.0)])
def test_ascent_steps_up_the_negative_risk_as_in_kiryo(nn_beta, nn_gamma):
    pred, target, partial = batch()
    # r / W_U = (UNL_SUM - 1.35 POS_NEG_SUM) / 3 = -0.75 < -beta: value (1 + k) sum_P l+
    # - beta W_U + sum_N l-, gradient that of -gamma r + sum_N l-.
    loss = pu(prior=0.9, correction='ascent', nn_beta=nn_beta, nn_gamma=nn_gamma)
    out = loss(pred, target, partial=partial)
    assert out.item() == pytest.approx(2.35 * POS_SUM - 3 * nn_beta + ce_neg(0.2), rel=1e-6)
    out.backward()
    expected = [nn_gamma * 1.35 * 0.8, nn_gamma * 1.35 * 0.6, -nn_gamma * 0.3,
                -nn_gamma * 0.1, -nn_gamma * 0.5, 0.2]
    assert pred.grad.flatten().tolist() == pytest.approx(expected, abs=1e-6)


def test_ascent_within_beta_keeps_the_unclipped_risk():
    pred, target, partial = batch()
    out = pu(prior=0.9, correction='ascent', nn_beta=1.0)(pred, target, partial=partial)
    r = UNL_SUM - 1.35 * POS_NEG_SUM  # -0.75 W_U, above -beta W_U
    assert out.item() == pytest.approx(2.35 * POS_SUM + r + ce_neg(0.2), rel=1e-6)
    out.backward()
    # P: (1 + k) l+ - k l-; U: l-; N: l-.
    expected = [2.35 * -0.2 - 1.35 * 0.8, 2.35 * -0.4 - 1.35 * 0.6, 0.3, 0.1, 0.5, 0.2]
    assert pred.grad.flatten().tolist() == pytest.approx(expected, abs=1e-6)


def test_class_without_labeled_positive_keeps_its_negatives():
    pred, target, partial = batch(labels=[BG] * 6)
    assert pu(prior=0.5)(pred, target, partial=partial).item() == \
        pytest.approx(sum(ce_neg(p) for p in PROBS), rel=1e-6)


def test_per_class_prior_and_independent_columns():
    pred, target, partial, weight = random_batch(seed=6)
    terms = PULoss(prior=[0.0, 0.3, 0.0], reduction='none')(pred, target, weight,
                                                             partial=partial)
    focal = MODELS.build(dict(type='FocalLoss', reduction='none'))(pred, target, weight)
    torch.testing.assert_close(terms[:, [0, 2]], focal[:, [0, 2]])
    single = PULoss(prior=0.3, reduction='none')(pred[:, 1:2], (target != 1).long(),
                                                 weight, partial=partial[:, 1:2])
    torch.testing.assert_close(terms[:, 1:2], single)


def test_missing_rate_sets_each_calls_prior_from_its_counts():
    pred, target, partial, weight = random_batch(seed=7)
    onehot = F.one_hot(target, 4)[:, :3].bool()
    w = weight.view(-1, 1)
    labeled_partial = (w * (onehot & partial)).sum(0)
    unlabeled = (w * (~onehot & partial)).sum(0)
    prior = (0.6 / 0.4 * labeled_partial / unlabeled).tolist()
    assert all(0 < value < 1 for value in prior)
    got = PULoss(missing_rate=0.6, reduction='none')(pred, target, weight, partial=partial)
    want = PULoss(prior=prior, reduction='none')(pred, target, weight, partial=partial)
    torch.testing.assert_close(got, want)


def test_prior_from_missing_rate():
    got = prior_from_missing_rate(torch.tensor([0.5, 0.75, 0.5, 0.9]),
                                  torch.tensor([10.0, 10.0, 3.0, 200.0]),
                                  torch.tensor([1000.0, 1000.0, 0.0, 100.0]))
    # m / (1 - m) * n_P / n_U; no unlabeled element: 0; clamped to 1.
    assert got.tolist() == pytest.approx([0.01, 0.03, 0.0, 1.0], rel=1e-6)


def test_weights_count_like_duplicated_elements_and_zero_ignores():
    pred, target, partial = batch()
    loss = pu(prior=0.2)
    doubled = loss(pred, target, torch.tensor([2.0, 1, 1, 2.0, 1, 1]), partial=partial)
    rows = [0, 0, 1, 2, 3, 3, 4, 5]
    duplicated = loss(pred[rows], target[rows], partial=partial[rows])
    assert doubled.item() == pytest.approx(duplicated.item(), rel=1e-6)
    base = loss(pred, target, partial=partial)
    extra = torch.tensor([[logit(0.999)], [logit(0.95)]])
    got = loss(torch.cat([pred, extra]), torch.cat([target, torch.tensor([0, BG])]),
               torch.tensor([1.0] * 6 + [0.0, 0.0]),
               partial=torch.cat([partial, torch.tensor([True, True])]))
    assert got.item() == pytest.approx(base.item(), rel=1e-6)


def test_row_status_equals_its_per_class_broadcast():
    pred, target, _, weight = random_batch(seed=8)
    rows = torch.arange(60) % 3 == 0
    loss = PULoss(prior=0.1, reduction='none')
    torch.testing.assert_close(loss(pred, target, weight, partial=rows),
                               loss(pred, target, weight, partial=rows.view(-1, 1).expand(60, 3)))


def test_reductions_sum_the_per_element_terms():
    pred, target, partial, weight = random_batch(seed=9)
    loss = PULoss(prior=0.2, loss_weight=2.0)
    terms = loss(pred, target, weight, partial=partial, reduction_override='none')
    assert terms.shape == (60, 3)
    assert loss(pred, target, weight, partial=partial, reduction_override='sum').item() == \
        pytest.approx(terms.sum().item(), rel=1e-6)
    assert loss(pred, target, weight, partial=partial, avg_factor=4.0).item() == \
        pytest.approx(terms.sum().item() / 4.0, rel=1e-6)
    assert loss(pred, target, weight, partial=partial).item() == \
        pytest.approx(terms.mean().item(), rel=1e-6)


def test_half_input_is_computed_in_float32():
    pred, target, partial, weight = random_batch(seed=15)
    half = pred.half()
    loss = PULoss(prior=0.2, reduction='none')
    out = loss(half, target, weight, partial=partial)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, loss(half.float(), target, weight, partial=partial))


def test_empty_input_gives_zero_with_gradient():
    pred = torch.zeros(0, 2, requires_grad=True)
    out = PULoss(prior=0.1)(pred, torch.zeros(0, dtype=torch.long),
                            partial=torch.zeros(0, dtype=torch.bool))
    assert out.item() == 0 and out.requires_grad


def test_bad_settings_and_input_raise():
    with pytest.raises(NotImplementedError, match='PULoss: only use_sigmoid=True'):
        PULoss(use_sigmoid=False, prior=0.1)
    with pytest.raises(ValueError, match='exactly one of prior and missing_rate'):
        PULoss()
    with pytest.raises(ValueError, match='exactly one of prior and missing_rate'):
        PULoss(prior=0.1, missing_rate=0.5)
    with pytest.raises(ValueError, match=r'prior must lie in \[0, 1.0\]'):
        PULoss(prior=[0.1, 1.5])
    with pytest.raises(ValueError, match=r'missing_rate must lie in \[0, 1.0\)'):
        PULoss(missing_rate=1.0)
    with pytest.raises(ValueError, match="mode must be one of \\('pu', 'pnu'\\)"):
        PULoss(prior=0.1, mode='nu')
    with pytest.raises(ValueError, match='correction must be one of'):
        PULoss(prior=0.1, correction='abs')
    with pytest.raises(ValueError, match="nn_beta and nn_gamma belong to correction='ascent'"):
        PULoss(prior=0.1, nn_beta=0.1)
    with pytest.raises(ValueError, match="gamma and alpha belong to base='focal'"):
        PULoss(prior=0.1, base='ce', alpha=0.5)
    pred, target, partial = batch()
    with pytest.raises(ValueError, match='prior has 2 values for 1 classes'):
        PULoss(prior=[0.1, 0.2])(pred, target, partial=partial)
    with pytest.raises(ValueError, match='`partial`.*required'):
        PULoss(prior=0.1)(pred, target)
    with pytest.raises(ValueError, match='`partial`.*required'):
        PULoss(missing_rate=0.5, mode='pu')(pred, target)


def test_head_refuses_it_without_sigmoid():
    with pytest.raises(ValueError, match='DecoupledRetinaHead: PULoss needs a sigmoid'):
        build(retina_head, dict(type='PULoss', prior=0.01))
