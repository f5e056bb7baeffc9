"""RoIAlign with average pooling in torch, sampling as mmcv's ``roi_align`` kernel does."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

# Sample indices gathered at once (bounds the memory of huge RoIs with adaptive sampling).
SAMPLES_PER_CHUNK = 1 << 22


def _axis_samples(start: Tensor, bin_size: Tensor, pooled: int, grid: int,
                  size: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Sample positions of one axis for ``R`` RoIs, as the kernel computes them.

    Returns:
        tuple[Tensor]: ``(R, pooled * grid)`` tensors: in-range mask, low and high indices,
        weights of the low and the high index.
    """
    bins = torch.arange(pooled, dtype=start.dtype, device=start.device)
    steps = torch.arange(grid, dtype=start.dtype, device=start.device) + 0.5
    pos = (start[:, None, None] + bins[None, :, None] * bin_size[:, None, None]
           + steps[None, None, :] * bin_size[:, None, None] / grid).flatten(1)
    valid = (pos >= -1.0) & (pos <= size)
    pos = pos.clamp(min=0)
    low = pos.floor().long()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    high = torch.where(at_edge, low, low + 1)
    pos = torch.where(at_edge, low.to(pos.dtype), pos)
    frac = pos - low
    return valid, low, high, 1 - frac, frac


def _pool_group(features: Tensor, rois: Tensor, start_y: Tensor, start_x: Tensor,
                bin_h: Tensor, bin_w: Tensor, output_size: Tuple[int, int], grid_h: int,
                grid_w: int, size: Tuple[int, int]) -> Tensor:
    """Pooled ``(R, PH * PW, C)`` features of RoIs sharing one sampling grid.

    ``features`` is the ``(N * H * W, C)`` channels-last feature map: every output cell is a
    weighted sum of its samples' four neighbours (``embedding_bag``), divided by the count.
    """
    (ph, pw), (height, width) = output_size, size
    count = max(grid_h * grid_w, 1)
    vy, y0, y1, wy0, wy1 = _axis_samples(start_y, bin_h, ph, grid_h, height)
    vx, x0, x1, wx0, wx1 = _axis_samples(start_x, bin_w, pw, grid_w, width)
    base = rois[:, 0].long() * (height * width)
    rows = torch.stack([y0, y0, y1, y1], -1) * width          # (R, PH*gh, 4)
    cols = torch.stack([x0, x1, x0, x1], -1)                  # (R, PW*gw, 4)
    wy = torch.stack([wy0, wy0, wy1, wy1], -1) * vy[..., None]
    wx = torch.stack([wx0, wx1, wx0, wx1], -1) * vx[..., None]
    index = base[:, None, None, None] + rows[:, :, None] + cols[:, None]
    weight = wy[:, :, None] * wx[:, None] / count             # (R, PH*gh, PW*gw, 4)
    r = len(rois)
    # (R, PH, gh, PW, gw, 4) -> (R, PH, PW, gh, gw, 4): one bag per output cell.
    index = index.view(r, ph, grid_h, pw, grid_w, 4).permute(0, 1, 3, 2, 4, 5)
    weight = weight.view(r, ph, grid_h, pw, grid_w, 4).permute(0, 1, 3, 2, 4, 5)
    bag = grid_h * grid_w * 4
    pooled = F.embedding_bag(index.reshape(-1, bag), features, mode='sum',
                             per_sample_weights=weight.reshape(-1, bag).to(features.dtype))
    return pooled.view(r, ph * pw, -1)


def roi_align(features: Tensor, rois: Tensor, output_size: Tuple[int, int],
              spatial_scale: float, sampling_ratio: int, aligned: bool) -> Tensor:
    """RoIAlign with average pooling, differentiable with respect to ``features``.

    Args:
        features (Tensor): ``(N, C, H, W)`` feature map.
        rois (Tensor): ``(R, 5)`` RoIs ``(batch index, x1, y1, x2, y2)`` in image coordinates.
        output_size (tuple[int, int]): ``(PH, PW)`` bins.
        spatial_scale (float): Feature-map size over image size.
        sampling_ratio (int): Samples per bin along each axis; ``0`` for ``ceil(roi size / bins)``
            per RoI.
        aligned (bool): Shift the RoI by half a pixel (pixel centres at ``.5``); otherwise RoIs
            smaller than one pixel are enlarged to one pixel.

    Returns:
        Tensor: ``(R, C, PH, PW)`` pooled features.
    """
    n, c, height, width = features.shape
    ph, pw = output_size
    if len(rois) == 0:
        return features.new_zeros(0, c, ph, pw)
    offset = 0.5 if aligned else 0.0
    coords = rois[:, 1:].to(features.dtype) * spatial_scale - offset
    start_x, start_y = coords[:, 0], coords[:, 1]
    roi_w, roi_h = coords[:, 2] - start_x, coords[:, 3] - start_y
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_w, bin_h = roi_w / pw, roi_h / ph
    if sampling_ratio > 0:
        grids = torch.full((len(rois), 2), sampling_ratio, dtype=torch.long, device=rois.device)
    else:
        grids = torch.stack([torch.ceil(roi_h / ph), torch.ceil(roi_w / pw)], 1).long()
    flat = features.permute(0, 2, 3, 1).reshape(n * height * width, c)
    parts, order = [], []
    for grid_h, grid_w in torch.unique(grids, dim=0).tolist():
        members = ((grids[:, 0] == grid_h) & (grids[:, 1] == grid_w)).nonzero().flatten()
        per_roi = ph * pw * max(grid_h * grid_w, 1) * 4
        step = max(1, SAMPLES_PER_CHUNK // per_roi)
        for chunk in members.split(step):
            if grid_h * grid_w == 0:  # an empty RoI (aligned): no samples, zeros
                parts.append(flat.new_zeros(len(chunk), ph * pw, c))
            else:
                parts.append(_pool_group(flat, rois[chunk], start_y[chunk], start_x[chunk],
                                         bin_h[chunk], bin_w[chunk], (ph, pw), grid_h, grid_w,
                                         (height, width)))
            order.append(chunk)
    pooled = torch.cat(parts)[torch.cat(order).argsort()]
    return pooled.transpose(1, 2).reshape(len(rois), c, ph, pw)
