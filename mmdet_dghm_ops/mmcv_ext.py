"""mmcv's compiled-op contract (``mmcv._ext``) on the torch ops of :mod:`mmdet_dghm_ops`.

Loaded as ``mmcv._ext`` by :mod:`mmdet_dghm_ops.finder` where mmcv has no compiled extension
(``mmcv-lite``). Each function takes the arguments mmcv's Python wrappers pass to the kernel of
the same name and, like it, returns the result or writes it into the given output tensors:

- ``nms``: :func:`mmdet_dghm_ops.nms.nms` (``offset=0``, what mmdet passes);
- ``sigmoid_focal_loss_forward`` / ``_backward``: mmdet's ``FocalLoss`` on CUDA tensors;
- ``roi_align_forward`` / ``_backward``: ``pool_mode`` avg (mmdet's ``RoIAlign``); the backward
  pass is the autograd gradient of the forward, which is linear in the features;
- ``ms_deform_attn_forward`` / ``_backward``: mmcv's own torch
  ``multi_scale_deformable_attn_pytorch`` (mmcv calls the kernel for CUDA tensors only).

Any other op, or an implemented one with arguments outside these, raises :class:`MissingOpError`
naming it, when called (mmcv only checks at import that every name exists).
"""
from typing import Callable

import torch
from torch import Tensor

from mmdet_dghm_ops.focal_loss import sigmoid_focal_loss, sigmoid_focal_loss_grad
from mmdet_dghm_ops.nms import nms as torch_nms
from mmdet_dghm_ops.roi_align import roi_align

__all__ = [
    'MissingOpError', 'nms', 'sigmoid_focal_loss_forward', 'sigmoid_focal_loss_backward',
    'roi_align_forward', 'roi_align_backward', 'ms_deform_attn_forward',
    'ms_deform_attn_backward'
]

IMPLEMENTED = tuple(__all__[1:])
HOW_TO_COMPILE = ('install mmcv 2.1.0 with its compiled ops instead of mmcv-lite: '
                  'MMCV_OPS=compiled bash tools/setup_env.sh')


class MissingOpError(NotImplementedError):
    """A compiled mmcv op (or an argument of one) that has no torch implementation here."""

    def __init__(self, op: str, detail: str = '') -> None:
        what = f'mmcv op {op!r}' + (f' with {detail}' if detail else '')
        super().__init__(
            f'{what} is not available: this mmcv has no compiled ops (mmcv-lite) and '
            f'mmdet_dghm_ops implements only {", ".join(IMPLEMENTED)}; {HOW_TO_COMPILE}')
        self.op = op


def nms(bboxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0) -> Tensor:
    """Kept indices in descending score (mmcv's ``nms`` kernel)."""
    if offset != 0:
        raise MissingOpError('nms', f'offset={offset}')
    return torch_nms(bboxes, scores, iou_threshold)


def sigmoid_focal_loss_forward(input: Tensor, target: Tensor, weight: Tensor, output: Tensor,
                               gamma: float, alpha: float) -> None:
    """Write the elementwise sigmoid focal loss into ``output``."""
    output.copy_(sigmoid_focal_loss(input.detach(), target, weight, gamma, alpha))


def sigmoid_focal_loss_backward(input: Tensor, target: Tensor, weight: Tensor,
                                grad_input: Tensor, gamma: float, alpha: float) -> None:
    """Write d(elementwise loss summed)/d(input) into ``grad_input``."""
    grad_input.copy_(sigmoid_focal_loss_grad(input, target, weight, gamma, alpha))


def _check_roi_align(pool_mode: int) -> None:
    if pool_mode != 1:
        raise MissingOpError('roi_align', "pool_mode='max'")


def roi_align_forward(input: Tensor, rois: Tensor, output: Tensor, argmax_y: Tensor,
                      argmax_x: Tensor, aligned_height: int, aligned_width: int,
                      spatial_scale: float, sampling_ratio: int, pool_mode: int,
                      aligned: bool) -> None:
    """Write the average-pooled RoI features into ``output``."""
    _check_roi_align(pool_mode)
    output.copy_(roi_align(input.detach(), rois, (aligned_height, aligned_width), spatial_scale,
                           sampling_ratio, aligned))


def roi_align_backward(grad_output: Tensor, rois: Tensor, argmax_y: Tensor, argmax_x: Tensor,
                       grad_input: Tensor, aligned_height: int, aligned_width: int,
                       spatial_scale: float, sampling_ratio: int, pool_mode: int,
                       aligned: bool) -> None:
    """Write the gradient with respect to the features into ``grad_input``."""
    _check_roi_align(pool_mode)
    with torch.enable_grad():
        # The output is linear in the features: its gradient does not depend on their values.
        features = grad_input.new_zeros(grad_input.shape, requires_grad=True)
        output = roi_align(features, rois, (aligned_height, aligned_width), spatial_scale,
                           sampling_ratio, aligned)
        grad, = torch.autograd.grad(output, features, grad_output, allow_unused=True)
    if grad is not None:
        grad_input.copy_(grad)


def _ms_deform_attn(value: Tensor, spatial_shapes: Tensor, sampling_locations: Tensor,
                    attention_weights: Tensor) -> Tensor:
    # Imported when called: mmcv.ops is still importing when it loads this module.
    from mmcv.ops.multi_scale_deform_attn import multi_scale_deformable_attn_pytorch
    return multi_scale_deformable_attn_pytorch(value, spatial_shapes, sampling_locations,
                                               attention_weights)


def ms_deform_attn_forward(value: Tensor, spatial_shapes: Tensor, level_start_index: Tensor,
                           sampling_locations: Tensor, attention_weights: Tensor,
                           im2col_step: int) -> Tensor:
    """Multi-scale deformable attention ``(bs, num_queries, embed_dims)``."""
    return _ms_deform_attn(value, spatial_shapes, sampling_locations, attention_weights)


def ms_deform_attn_backward(value: Tensor, spatial_shapes: Tensor, level_start_index: Tensor,
                            sampling_locations: Tensor, attention_weights: Tensor,
                            grad_output: Tensor, grad_value: Tensor, grad_sampling_loc: Tensor,
                            grad_attn_weight: Tensor, im2col_step: int) -> None:
    """Write the gradients of value, sampling locations and attention weights."""
    with torch.enable_grad():
        inputs = [t.detach().requires_grad_(True)
                  for t in (value, sampling_locations, attention_weights)]
        output = _ms_deform_attn(inputs[0], spatial_shapes, inputs[1], inputs[2])
        grads = torch.autograd.grad(output, inputs, grad_output)
    for target, grad in zip((grad_value, grad_sampling_loc, grad_attn_weight), grads):
        target.copy_(grad)


def _missing(name: str) -> Callable:
    """A stand-in for an op without a torch implementation: raises when called."""

    def op(*args, **kwargs):
        raise MissingOpError(name)

    op.__name__ = op.__qualname__ = name
    return op


def __getattr__(name: str) -> Callable:
    # mmcv's ``load_ext`` asserts ``hasattr`` for every op name when ``mmcv.ops`` is imported.
    if name.startswith('__'):
        raise AttributeError(name)
    return _missing(name)
