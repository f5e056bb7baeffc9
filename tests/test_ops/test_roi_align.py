"""RoIAlign in torch: closed forms, mmcv's wrapper on the torch ops, and compiled mmcv."""
import pytest
import torch
from mmcv.ops import RoIAlign

from mmdet_dghm_ops import mmcv_ext
from mmdet_dghm_ops.roi_align import roi_align

pytestmark = pytest.mark.torch_ops


def _ramp(channels: int = 1, size: int = 16) -> torch.Tensor:
    """Features ``2x + 3y + 1`` (bilinear sampling of it is exact)."""
    y, x = torch.meshgrid(torch.arange(size, dtype=torch.float32),
                          torch.arange(size, dtype=torch.float32), indexing='ij')
    return (2 * x + 3 * y + 1).expand(1, channels, size, size).contiguous()


@pytest.mark.parametrize('aligned, expected', [
    # aligned: the RoI starts at 1.5 (half-pixel shift), bins of 4: centres 3.5 and 7.5.
    (True, [[18.5, 26.5], [30.5, 38.5]]),
    # not aligned: starts at 2, centres 4 and 8.
    (False, [[21.0, 29.0], [33.0, 41.0]]),
])
@pytest.mark.parametrize('sampling_ratio', [0, 2, 3])
def test_linear_features_pool_to_bin_centres(aligned, expected, sampling_ratio):
    rois = torch.tensor([[0., 2., 2., 10., 10.]])
    out = roi_align(_ramp(), rois, (2, 2), 1.0, sampling_ratio, aligned)
    assert out.shape == (1, 1, 2, 2)
    torch.testing.assert_close(out[0, 0], torch.tensor(expected))


def test_gradient_mass_and_rois_outside_the_map():
    features = _ramp(channels=3).requires_grad_(True)
    rois = torch.tensor([[0., 2., 2., 10., 10.], [0., -100., -100., -50., -50.]])
    out = roi_align(features, rois, (7, 7), 1.0, 0, True)
    assert out[1].abs().max().item() == 0.0  # every sample outside: zeros
    out.sum().backward()
    # Each in-map output cell spreads a gradient of exactly 1 over its samples' neighbours.
    assert features.grad.sum().item() == pytest.approx(3 * 49, rel=1e-6)


def test_empty_rois_and_empty_aligned_roi():
    features = _ramp(channels=2)
    assert roi_align(features, torch.zeros(0, 5), (7, 7), 0.5, 0, True).shape == (0, 2, 7, 7)
    point = torch.tensor([[0., 4., 4., 4., 4.]])  # zero size: no samples when aligned
    assert roi_align(features, point, (2, 2), 1.0, 0, True).abs().max().item() == 0.0


def test_max_pooling_raises_naming_the_op(torch_ext):
    layer = RoIAlign((7, 7), 1.0, 0, pool_mode='max', aligned=True)
    with pytest.raises(mmcv_ext.MissingOpError, match="'roi_align' with pool_mode='max'"):
        layer(_ramp(), torch.tensor([[0., 2., 2., 10., 10.]]))


def _random_case(seed: int) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(2, 8, 25, 31, generator=gen)
    xy = torch.rand(60, 2, generator=gen) * torch.tensor([124., 100.]) - 8
    wh = torch.rand(60, 2, generator=gen) * 90
    index = torch.randint(0, 2, (60, 1), generator=gen).float()
    return features, torch.cat([index, xy, xy + wh], 1), gen


def _forward_backward(layer: RoIAlign, features: torch.Tensor, rois: torch.Tensor,
                      grad_output: torch.Tensor) -> tuple:
    x = features.clone().requires_grad_(True)
    out = layer(x, rois)
    out.backward(grad_output)
    return out.detach(), x.grad


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
def test_mmcv_wrapper_matches_the_functional_op(torch_ext, aligned, sampling_ratio):
    features, rois, gen = _random_case(int(aligned) + 2 * sampling_ratio)
    layer = RoIAlign((7, 7), 0.25, sampling_ratio, aligned=aligned)
    grad_output = torch.randn(60, 8, 7, 7, generator=gen)
    out, grad = _forward_backward(layer, features, rois, grad_output)
    x = features.clone().requires_grad_(True)
    expected = roi_align(x, rois, (7, 7), 0.25, sampling_ratio, aligned)
    expected.backward(grad_output)
    torch.testing.assert_close(out, expected.detach())
    torch.testing.assert_close(grad, x.grad)


@pytest.mark.parametrize('aligned', [True, False])
@pytest.mark.parametrize('sampling_ratio', [0, 2])
@pytest.mark.parametrize('scale', [0.25, 1 / 32])
def test_forward_and_grad_match_compiled_mmcv(compiled_mmcv, aligned, sampling_ratio, scale):
    features, rois, gen = _random_case(int(aligned) + 2 * sampling_ratio + int(scale * 4))
    rois[:, 1:] /= scale * 4
    layer = RoIAlign((7, 7), scale, sampling_ratio, aligned=aligned)
    grad_output = torch.randn(60, 8, 7, 7, generator=gen)
    expected, expected_grad = _forward_backward(layer, features, rois, grad_output)
    x = features.clone().requires_grad_(True)
    out = roi_align(x, rois, (7, 7), scale, sampling_ratio, aligned)
    out.backward(grad_output)
    assert expected.abs().max() > 0.1
    torch.testing.assert_close(out.detach(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, expected_grad, rtol=1e-5, atol=1e-5)
