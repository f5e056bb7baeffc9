"""Multi-scale deformable attention kernels (mmcv's contract) against a direct computation."""
import pytest
import torch
from mmcv.ops.multi_scale_deform_attn import MultiScaleDeformableAttnFunction

from mmdet_dghm_ops import mmcv_ext

pytestmark = pytest.mark.torch_ops

SHAPES = torch.tensor([[4, 5], [2, 3]])
STARTS = torch.tensor([0, 20])


def _inputs(seed: int) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    value = torch.randn(2, 26, 2, 4, generator=gen)  # bs, keys, heads, dims
    # Locations a little beyond [0, 1] too: samples outside the map read zeros.
    loc = torch.rand(2, 3, 2, 2, 2, 2, generator=gen) * 1.2 - 0.1
    attn = torch.rand(2, 3, 2, 2, 2, generator=gen)
    return value, loc, attn / attn.sum((-1, -2), keepdim=True)


def _direct(value: torch.Tensor, loc: torch.Tensor, attn: torch.Tensor) -> torch.Tensor:
    """The kernel's definition, one sample at a time (bilinear, zeros outside, pixel centres
    at ``(i + 0.5) / size``)."""
    bs, queries, heads, levels, points, _ = loc.shape
    out = value.new_zeros(bs, queries, heads, value.size(-1))
    for b in range(bs):
        for q in range(queries):
            for h in range(heads):
                for lvl, ((height, width), start) in enumerate(zip(SHAPES.tolist(),
                                                                   STARTS.tolist())):
                    fmap = value[b, start:start + height * width, h].view(height, width, -1)
                    for p in range(points):
                        x = loc[b, q, h, lvl, p, 0] * width - 0.5
                        y = loc[b, q, h, lvl, p, 1] * height - 0.5
                        x0, y0 = int(torch.floor(x)), int(torch.floor(y))
                        for yi, xi in ((y0, x0), (y0, x0 + 1), (y0 + 1, x0), (y0 + 1, x0 + 1)):
                            if 0 <= yi < height and 0 <= xi < width:
                                w = (1 - (x - xi).abs()) * (1 - (y - yi).abs())
                                out[b, q, h] += attn[b, q, h, lvl, p] * w * fmap[yi, xi]
    return out.flatten(2)


def test_forward_matches_the_direct_computation():
    value, loc, attn = _inputs(0)
    out = mmcv_ext.ms_deform_attn_forward(value, SHAPES, STARTS, loc, attn, im2col_step=64)
    assert out.shape == (2, 3, 8)
    torch.testing.assert_close(out, _direct(value, loc, attn), rtol=1e-5, atol=1e-5)


def test_mmcv_function_forward_and_gradients_match_the_direct_computation(torch_ext):
    value, loc, attn = _inputs(1)
    inputs = [t.clone().requires_grad_(True) for t in (value, loc, attn)]
    out = MultiScaleDeformableAttnFunction.apply(inputs[0], SHAPES, STARTS, inputs[1],
                                                 inputs[2], 64)
    grad_output = torch.randn(out.shape, generator=torch.Generator().manual_seed(2))
    out.backward(grad_output)
    expected_inputs = [t.clone().requires_grad_(True) for t in (value, loc, attn)]
    expected = _direct(*expected_inputs)
    expected.backward(grad_output)
    torch.testing.assert_close(out.detach(), expected.detach(), rtol=1e-5, atol=1e-5)
    for got, want in zip(inputs, expected_inputs):
        assert want.grad.abs().max() > 0
        torch.testing.assert_close(got.grad, want.grad, rtol=1e-5, atol=1e-5)
