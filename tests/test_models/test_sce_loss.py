"""Symmetric cross entropy (paper eq. 8, sigmoid form) against closed forms."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS

import mmdet_dghm  # noqa: F401  (registers the losses)
from mmdet_dghm.models.losses import SymmetricCELoss
from mmdet_dghm.models.losses.sce_loss import reverse_cross_entropy


def test_value_at_known_probability():
    # x = 0: p = 1/2. t = 1: CE = log 2, RCE = -A (1 - p) = 2.
    loss = SymmetricCELoss()(torch.zeros(1, 1), torch.tensor([0]))
    assert loss.item() == pytest.approx(0.01 * math.log(2) + 2.0, rel=1e-6)
    # x = log 3: p = 3/4. t = 0 (background): CE = log 4, RCE = 4 * 3/4 = 3.
    loss = SymmetricCELoss(alpha=0.5, beta=2.0)(torch.full((1, 1), math.log(3)),
                                                 torch.tensor([1]))
    assert loss.item() == pytest.approx(0.5 * math.log(4) + 2.0 * 3.0, rel=1e-6)


def test_log_zero_is_clamped_to_a():
    pred = torch.tensor([[-30.0], [30.0], [0.0], [0.0]])
    target = torch.tensor([[0.0], [0.0], [1.0], [0.0]])
    # RCE = -A |p - t| for binary t: log 1 = 0 is untouched, log 0 becomes A.
    torch.testing.assert_close(reverse_cross_entropy(pred, target),
                               torch.tensor([[0.0], [4.0], [2.0], [2.0]]))
    torch.testing.assert_close(reverse_cross_entropy(pred, target, log_clamp=-2.0),
                               torch.tensor([[0.0], [2.0], [1.0], [1.0]]))
    # A soft label above e^A is not clamped: -[p log 0.5 + (1 - p) log 0.5] = log 2.
    assert reverse_cross_entropy(torch.zeros(1), torch.full((1,), 0.5)).item() == \
        pytest.approx(math.log(2), rel=1e-6)


def test_gradient():
    pred = torch.tensor([[-1.0, 0.5], [2.0, -0.3]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    SymmetricCELoss(alpha=0.3, beta=1.5, reduction='sum')(pred, target).backward()
    p = pred.detach().sigmoid()
    # d/dx [alpha BCE - beta A |p - t|] = alpha (p - t) - beta A sign(p - t) p (1 - p).
    expected = 0.3 * (p - target) + 1.5 * 4.0 * torch.sign(p - target) * p * (1 - p)
    torch.testing.assert_close(pred.grad, expected)


def test_reduction_weight_and_avg_factor_follow_mmdet():
    torch.manual_seed(0)
    pred = torch.randn(6, 3)
    target = torch.randint(0, 4, (6,))
    weight = torch.tensor([1.0, 0.0, 2.0, 1.0, 0.5, 1.0])
    loss = SymmetricCELoss(loss_weight=3.0)
    terms = loss(pred, target, weight, reduction_override='none')
    onehot = F.one_hot(target, 4)[:, :3].float()
    expected = 3.0 * (0.01 * F.binary_cross_entropy_with_logits(pred, onehot, reduction='none')
                      + 4.0 * (pred.sigmoid() - onehot).abs()) * weight.view(-1, 1)
    torch.testing.assert_close(terms, expected)
    assert loss(pred, target, weight).item() == pytest.approx(expected.mean().item(), rel=1e-6)
    assert loss(pred, target, weight, avg_factor=4.0).item() == \
        pytest.approx(expected.sum().item() / 4.0, rel=1e-6)
    assert loss(pred, target, weight, reduction_override='sum').item() == \
        pytest.approx(expected.sum().item(), rel=1e-6)
    torch.testing.assert_close(loss(pred, onehot, weight), loss(pred, target, weight))


def test_half_input_is_computed_in_float32():
    pred = torch.randn(8, 2).half()
    target = torch.randint(0, 3, (8,))
    loss = SymmetricCELoss()
    out = loss(pred, target)
    assert out.dtype == torch.float32
    assert out.item() == loss(pred.float(), target).item()


def test_bad_input_raises():
    with pytest.raises(NotImplementedError, match='use_sigmoid'):
        SymmetricCELoss(use_sigmoid=False)
    with pytest.raises(ValueError, match='log_clamp'):
        SymmetricCELoss(log_clamp=0.0)
    with pytest.raises(ValueError, match='alpha'):
        SymmetricCELoss(alpha=-1.0)
    loss = SymmetricCELoss()
    with pytest.raises(ValueError, match='target'):
        loss(torch.zeros(3, 2), torch.tensor([0, 1, 5]))
    with pytest.raises(ValueError, match='weight'):
        loss(torch.zeros(3, 2), torch.tensor([0, 1, 2]), torch.ones(2))


def test_registry_build_uses_paper_settings():
    loss = MODELS.build(dict(type='SymmetricCELoss'))
    assert isinstance(loss, SymmetricCELoss)
    assert (loss.alpha, loss.beta, loss.log_clamp) == (0.01, 1.0, -4.0)
