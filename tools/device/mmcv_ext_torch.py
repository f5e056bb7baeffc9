"""Pure-torch stand-in for mmcv's compiled ``mmcv._ext``, for a machine without an mmcv build.

The lent GPU machine (``tools/device/run_gpu_benchmark.sh``) has a CUDA torch but cannot
reach a package index, and building mmcv's CUDA ops there costs most of its 15 minutes. The
run installs ``mmcv-lite`` (mmcv's Python code, no compiled ops) and this file as
``mmcv/_ext.py``. Importing ``mmcv.ops`` only checks that every op name exists; the ops a
RetinaNet benchmark calls are real here:

- ``nms``: torchvision's kernel (CUDA or CPU) when torchvision is installed, else a
  reference implementation in torch;
- ``sigmoid_focal_loss_forward`` / ``_backward``: mmdet's ``FocalLoss`` calls them for CUDA
  tensors (the ``focal`` baseline), computed elementwise as mmcv's kernels do.

Any other op raises ``NotImplementedError`` naming it when called. Never used by the package
itself or by CI (which has mmcv with compiled ops);
``tests/test_tools/test_mmcv_ext_torch.py`` checks these ops against the compiled ones.
"""
from typing import Callable

import torch
import torch.nn.functional as F

__all__ = ['nms', 'sigmoid_focal_loss_forward', 'sigmoid_focal_loss_backward']


def _nms_reference(boxes: torch.Tensor, scores: torch.Tensor,
                   iou_threshold: float) -> torch.Tensor:
    """Greedy NMS in torch (only where torchvision is missing): one pass over the boxes in
    descending score, each suppressing the later ones it overlaps by more than the threshold."""
    order = scores.argsort(descending=True, stable=True)
    boxes = boxes[order]
    area = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    lt = torch.maximum(boxes[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    iou = inter / (area[:, None] + area[None, :] - inter).clamp(min=1e-12)
    over = (iou > iou_threshold).cpu()
    keep = torch.ones(len(order), dtype=torch.bool)
    for i in range(len(order)):
        if keep[i]:
            keep[i + 1:] &= ~over[i, i + 1:]
    return order[keep.to(order.device)]


def nms(bboxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float,
        offset: int = 0) -> torch.Tensor:
    """Indices of the boxes kept by NMS, in descending score (mmcv's ``ext_module.nms``).

    Raises:
        NotImplementedError: For ``offset`` other than 0 (mmdet 3 always passes 0).
    """
    if offset != 0:
        raise NotImplementedError('mmcv_ext_torch.nms supports offset=0 only')
    if bboxes.numel() == 0:
        return bboxes.new_zeros(0, dtype=torch.long)
    try:
        from torchvision.ops import nms as tv_nms
    except ImportError:
        return _nms_reference(bboxes, scores, iou_threshold)
    return tv_nms(bboxes.float(), scores.float(), float(iou_threshold))


def _focal_elementwise(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor,
                       gamma: float, alpha: float) -> torch.Tensor:
    """Per-element sigmoid focal loss of integer targets (``target == C``: background)."""
    num_classes = logits.size(1)
    one_hot = F.one_hot(target.clamp(max=num_classes), num_classes + 1)[:, :num_classes]
    one_hot = one_hot.to(logits.dtype)
    p = logits.sigmoid()
    pos = -alpha * (1 - p).pow(gamma) * F.logsigmoid(logits)
    neg = -(1 - alpha) * p.pow(gamma) * F.logsigmoid(-logits)
    loss = one_hot * pos + (1 - one_hot) * neg
    if weight.numel() > 0:
        if bool((target >= num_classes).any()):
            raise NotImplementedError('class weights with background targets')
        loss = loss * weight[target][:, None]
    return loss


def sigmoid_focal_loss_forward(input: torch.Tensor, target: torch.Tensor,
                               weight: torch.Tensor, output: torch.Tensor, gamma: float,
                               alpha: float) -> None:
    """Write the elementwise sigmoid focal loss into ``output`` (mmcv's kernel contract)."""
    output.copy_(_focal_elementwise(input.detach(), target, weight, gamma, alpha))


def sigmoid_focal_loss_backward(input: torch.Tensor, target: torch.Tensor,
                                weight: torch.Tensor, grad_input: torch.Tensor,
                                gamma: float, alpha: float) -> None:
    """Write d(elementwise loss)/d(input) into ``grad_input`` (mmcv's kernel contract)."""
    with torch.enable_grad():
        logits = input.detach().requires_grad_(True)
        loss = _focal_elementwise(logits, target, weight, gamma, alpha)
        grad, = torch.autograd.grad(loss.sum(), logits)
    grad_input.copy_(grad)


def _missing(name: str) -> Callable:
    def op(*args, **kwargs):
        raise NotImplementedError(
            f'mmcv op {name!r} is not available: this mmcv has no compiled ops and '
            f'{__name__} implements only {", ".join(__all__)}')
    op.__name__ = name
    return op


def __getattr__(name: str) -> Callable:
    # ``mmcv.utils.ext_loader.load_ext`` asserts ``hasattr`` for every op at import time.
    if name.startswith('__'):
        raise AttributeError(name)
    return _missing(name)
