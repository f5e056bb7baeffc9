"""Sigmoid focal loss kernels (mmcv's contract) against mmdet's torch focal loss."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss

from mmdet_dghm_ops import mmcv_ext

pytestmark = pytest.mark.torch_ops


def _inputs(seed: int = 0) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(50, 3, generator=gen) * 3
    target = torch.randint(0, 4, (50, ), generator=gen)  # 3 is background
    return logits, target


@pytest.mark.parametrize('gamma, alpha', [(2.0, 0.25), (1.5, 0.5), (0.0, 0.75)])
def test_forward_and_backward_match_mmdet(gamma, alpha):
    logits, target = _inputs()
    output = torch.empty_like(logits)
    mmcv_ext.sigmoid_focal_loss_forward(logits, target, logits.new_empty(0), output,
                                        gamma=gamma, alpha=alpha)
    one_hot = F.one_hot(target, 4)[:, :3].float()
    x = logits.clone().requires_grad_(True)
    expected = py_sigmoid_focal_loss(x, one_hot, gamma=gamma, alpha=alpha, reduction='none')
    torch.testing.assert_close(output, expected.detach(), rtol=1e-6, atol=1e-6)
    grad = torch.empty_like(logits)
    mmcv_ext.sigmoid_focal_loss_backward(logits, target, logits.new_empty(0), grad,
                                         gamma=gamma, alpha=alpha)
    expected_grad, = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-6, atol=1e-6)


def test_zero_gamma_positive_is_alpha_weighted_bce():
    logits = torch.tensor([[2.0, -1.0]])
    output = torch.empty_like(logits)
    mmcv_ext.sigmoid_focal_loss_forward(logits, torch.tensor([0]), logits.new_empty(0), output,
                                        gamma=0.0, alpha=0.25)
    # Class 0 is the target: 0.25 * -log(sigmoid(2)); class 1 is not: 0.75 * -log(1 - sigmoid(-1)).
    assert output[0, 0].item() == pytest.approx(0.25 * 0.126928, rel=1e-5)
    assert output[0, 1].item() == pytest.approx(0.75 * 0.313262, rel=1e-5)


def test_class_weights_scale_each_row_and_refuse_background():
    logits, target = _inputs(1)
    target = target.clamp(max=2)
    weight = torch.tensor([1.0, 2.0, 3.0])
    plain, weighted = torch.empty_like(logits), torch.empty_like(logits)
    mmcv_ext.sigmoid_focal_loss_forward(logits, target, logits.new_empty(0), plain, 2.0, 0.25)
    mmcv_ext.sigmoid_focal_loss_forward(logits, target, weight, weighted, 2.0, 0.25)
    torch.testing.assert_close(weighted, plain * weight[target][:, None])
    with pytest.raises(NotImplementedError, match='background'):
        mmcv_ext.sigmoid_focal_loss_forward(logits, torch.full_like(target, 3), weight, plain,
                                            2.0, 0.25)
