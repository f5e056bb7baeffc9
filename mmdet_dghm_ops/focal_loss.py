"""Elementwise sigmoid focal loss of integer targets, as mmcv's ``sigmoid_focal_loss`` kernels."""
import torch
import torch.nn.functional as F
from torch import Tensor


def sigmoid_focal_loss(logits: Tensor, target: Tensor, weight: Tensor, gamma: float,
                       alpha: float) -> Tensor:
    """Per-element sigmoid focal loss (no reduction), differentiable in ``logits``.

    Uses ``logsigmoid`` (as mmdet's ``py_sigmoid_focal_loss``) where mmcv's CUDA kernel takes
    ``log(max(p, FLT_MIN))``; the two differ only where ``|logit| > 87``.

    Args:
        logits (Tensor): ``(N, C)`` logits.
        target (Tensor): ``(N,)`` class indices; ``C`` means background.
        weight (Tensor): ``(C,)`` per-class weights indexed by ``target``, or empty for none.
        gamma (float): Focusing exponent.
        alpha (float): Weight of the positive term (``1 - alpha`` for the negative one).

    Returns:
        Tensor: ``(N, C)`` losses.

    Raises:
        NotImplementedError: For class weights with background targets (mmcv's kernel would read
            past the weight vector).
    """
    num_classes = logits.size(1)
    one_hot = F.one_hot(target.clamp(max=num_classes), num_classes + 1)[:, :num_classes]
    one_hot = one_hot.to(logits.dtype)
    p = logits.sigmoid()
    pos = -alpha * (1 - p).pow(gamma) * F.logsigmoid(logits)
    neg = -(1 - alpha) * p.pow(gamma) * F.logsigmoid(-logits)
    loss = one_hot * pos + (1 - one_hot) * neg
    if weight.numel() > 0:
        if bool((target >= num_classes).any()):
            raise NotImplementedError(
                'sigmoid_focal_loss: class weights with background targets')
        loss = loss * weight[target][:, None]
    return loss


def sigmoid_focal_loss_grad(logits: Tensor, target: Tensor, weight: Tensor, gamma: float,
                            alpha: float) -> Tensor:
    """Gradient of the summed :func:`sigmoid_focal_loss` with respect to ``logits``."""
    with torch.enable_grad():
        x = logits.detach().requires_grad_(True)
        grad, = torch.autograd.grad(sigmoid_focal_loss(x, target, weight, gamma, alpha).sum(), x)
    return grad
