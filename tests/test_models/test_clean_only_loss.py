"""Clean-only loss (paper section 3.3) against closed forms and mmdet's own losses."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from test_decoupled_heads import build, retina_head
from test_dghm_loss import logit

import mmdet_dghm  # noqa: F401  (registers the losses)
from mmdet_dghm.models.losses import CleanOnlyLoss

BG = 1  # background index for one class
# positive (partial image), noisy negative, clean negative, positive (exhaustive image)
PROBS = [0.8, 0.3, 0.2, 0.6]
LABELS = [0, BG, BG, 0]
PARTIAL = [True, True, False, False]


def batch(probs=PROBS, labels=LABELS, partial=PARTIAL, requires_grad=False):
    pred = torch.tensor([[logit(p)] for p in probs], requires_grad=requires_grad)
    return pred, torch.tensor(labels), torch.tensor(partial)


def test_ce_value_drops_only_the_noisy_negative():
    pred, target, partial = batch()
    terms = CleanOnlyLoss(base='ce')(pred, target, partial=partial, reduction_override='none')
    expected = [-math.log(0.8), 0.0, -math.log(0.8), -math.log(0.6)]
    assert terms.flatten().tolist() == pytest.approx(expected, rel=1e-6)


def test_focal_value_on_hand_elements():
    pred, target, partial = batch()
    loss = CleanOnlyLoss(gamma=2.0, alpha=0.25)(pred, target, partial=partial,
                                                 reduction_override='sum')
    # alpha (1 - p)^2 (-log p) for positives, (1 - alpha) p^2 (-log(1 - p)) for the clean
    # negative, nothing for the noisy one.
    expected = (0.25 * 0.2 ** 2 * -math.log(0.8) + 0.75 * 0.2 ** 2 * -math.log(0.8)
                + 0.25 * 0.4 ** 2 * -math.log(0.6))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def random_batch(num=60, num_classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    pred = torch.randn(num, num_classes, generator=gen) * 2
    target = torch.randint(0, num_classes + 1, (num, ), generator=gen)
    partial = torch.rand(num, num_classes, generator=gen) < 0.5
    weight = torch.rand(num, generator=gen) * (torch.rand(num, generator=gen) > 0.2)
    return pred, target, partial, weight


@pytest.mark.parametrize('base, mmdet_loss', [
    ('focal', dict(type='FocalLoss', use_sigmoid=True, gamma=1.5, alpha=0.4)),
    ('ce', dict(type='CrossEntropyLoss', use_sigmoid=True))])
def test_equals_mmdet_base_loss_with_noisy_negatives_weighted_zero(base, mmdet_loss):
    pred, target, partial, weight = random_batch()
    onehot = F.one_hot(target, 4)[:, :3].float()
    noisy = (onehot == 0) & partial
    extra = dict(gamma=1.5, alpha=0.4) if base == 'focal' else {}
    ours = CleanOnlyLoss(base=base, loss_weight=2.0, **extra)
    theirs = MODELS.build(dict(mmdet_loss, loss_weight=2.0))
    masked = weight.view(-1, 1) * ~noisy
    for kwargs in (dict(avg_factor=7.0), dict(reduction_override='sum'),
                   dict(reduction_override='none'), {}):
        torch.testing.assert_close(ours(pred, target, weight, partial=partial, **kwargs),
                                   theirs(pred, onehot, masked, **kwargs))


def test_gradient_is_closed_form_and_zero_on_noisy_negatives():
    pred, target, partial, weight = random_batch(seed=1)
    pred.requires_grad_()
    gamma, alpha = 2.0, 0.25
    CleanOnlyLoss()(pred, target, weight, partial=partial, reduction_override='sum').backward()
    p = pred.detach().sigmoid()
    t = F.one_hot(target, 4)[:, :3].float()
    # d/dx of -alpha (1-p)^g log p and of -(1-alpha) p^g log(1-p).
    grad_pos = alpha * (gamma * p * (1 - p) ** gamma * p.log() - (1 - p) ** (gamma + 1))
    grad_neg = (1 - alpha) * (p ** (gamma + 1) - gamma * (1 - p) * p ** gamma * (-p).log1p())
    clean = ~((t == 0) & partial)
    expected = torch.where(t > 0, grad_pos, grad_neg) * weight.view(-1, 1) * clean
    torch.testing.assert_close(pred.grad, expected)
    assert bool((pred.grad[~clean] == 0).all())


def test_ce_gradient_is_p_minus_t_on_clean_elements():
    pred, target, partial = batch(requires_grad=True)
    CleanOnlyLoss(base='ce')(pred, target, partial=partial, reduction_override='sum').backward()
    assert pred.grad.flatten().tolist() == pytest.approx([-0.2, 0.0, 0.2, -0.4], abs=1e-6)


def test_ignored_elements_change_nothing():
    pred, target, partial = batch()
    loss = CleanOnlyLoss()
    base = loss(pred, target, partial=partial, reduction_override='sum')
    extra, extra_t, extra_p = batch([0.999, 0.9, 0.01], [0, BG, BG], [False, False, True],
                                    requires_grad=False)
    all_pred = torch.cat([pred, extra]).requires_grad_()
    weight = torch.tensor([1.0] * 4 + [0.0] * 3)
    got = loss(all_pred, torch.cat([target, extra_t]), weight,
               partial=torch.cat([partial, extra_p]), reduction_override='sum')
    assert got.item() == pytest.approx(base.item(), rel=1e-6)
    got.backward()
    assert bool((all_pred.grad[4:] == 0).all())


def test_row_status_equals_its_per_class_broadcast_and_columns_are_independent():
    pred, target, _, weight = random_batch(seed=2)
    rows = torch.rand(60, generator=torch.Generator().manual_seed(3)) < 0.5
    loss = CleanOnlyLoss(reduction='none')
    torch.testing.assert_close(loss(pred, target, weight, partial=rows),
                               loss(pred, target, weight, partial=rows.view(-1, 1).expand(60, 3)))
    # Only class 1 partial: columns 0 and 2 are the focal loss, column 1 drops its negatives.
    column = torch.zeros(60, 3, dtype=torch.bool)
    column[:, 1] = True
    focal = MODELS.build(dict(type='FocalLoss', reduction='none'))(pred, target, weight)
    terms = loss(pred, target, weight, partial=column)
    torch.testing.assert_close(terms[:, [0, 2]], focal[:, [0, 2]])
    positives = target == 1
    torch.testing.assert_close(terms[positives, 1], focal[positives, 1])
    assert bool((terms[~positives, 1] == 0).all())


def test_reductions_and_avg_factor():
    pred, target, partial, weight = random_batch(seed=4)
    loss = CleanOnlyLoss(loss_weight=3.0)
    terms = loss(pred, target, weight, partial=partial, reduction_override='none')
    assert loss(pred, target, weight, partial=partial).item() == \
        pytest.approx(terms.mean().item(), rel=1e-6)
    assert loss(pred, target, weight, partial=partial, avg_factor=5.0).item() == \
        pytest.approx(terms.sum().item() / 5.0, rel=1e-6)
    assert loss(pred, target, weight, partial=partial, reduction_override='sum').item() == \
        pytest.approx(terms.sum().item(), rel=1e-6)


def test_half_input_is_computed_in_float32():
    pred, target, partial, weight = random_batch(seed=15)
    half = pred.half()
    loss = CleanOnlyLoss(reduction='none')
    out = loss(half, target, weight, partial=partial)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, loss(half.float(), target, weight, partial=partial))


def test_empty_input_gives_zero_with_gradient():
    pred = torch.zeros(0, 2, requires_grad=True)
    out = CleanOnlyLoss()(pred, torch.zeros(0, dtype=torch.long),
                          partial=torch.zeros(0, dtype=torch.bool), avg_factor=1.0)
    assert out.item() == 0 and out.requires_grad


def test_bad_settings_and_input_raise():
    with pytest.raises(NotImplementedError, match='CleanOnlyLoss: only use_sigmoid=True'):
        CleanOnlyLoss(use_sigmoid=False)
    with pytest.raises(ValueError, match="base must be one of \\('ce', 'focal'\\)"):
        CleanOnlyLoss(base='softmax')
    with pytest.raises(ValueError, match="gamma and alpha belong to base='focal'"):
        CleanOnlyLoss(base='ce', gamma=2.0)
    with pytest.raises(ValueError, match='alpha must lie in'):
        CleanOnlyLoss(alpha=1.5)
    with pytest.raises(ValueError, match='reduction'):
        CleanOnlyLoss(reduction='max')
    pred, target, partial = batch()
    loss = CleanOnlyLoss()
    with pytest.raises(ValueError, match='`partial`.*required.*status-aware head'):
        loss(pred, target)
    with pytest.raises(ValueError, match=r'partial must have shape \(4,\) or \(4, 1\)'):
        loss(pred, target, partial=partial[:3])
    with pytest.raises(ValueError, match='partial must be a bool tensor'):
        loss(pred, target, partial=partial.float())
    with pytest.raises(ValueError, match='target labels'):
        loss(pred, torch.tensor([0, 1, 2, 1]), partial=partial)


def test_head_refuses_it_without_sigmoid():
    with pytest.raises(ValueError, match='DecoupledRetinaHead: CleanOnlyLoss needs a sigmoid'):
        build(retina_head, dict(type='CleanOnlyLoss'))
