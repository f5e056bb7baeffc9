"""Greedy non-maximum suppression in torch, returning the indices mmcv's kernel returns.

mmcv's kernel visits the boxes in descending score and suppresses every later box whose IoU with
a kept one exceeds the threshold. Here that happens in two exact phases:

1. Blocks of the best-scoring undecided boxes are resolved among themselves, and their kept boxes
   suppress the rest at once. This pays off while boxes crowd (one kept box removes many) and
   stops when a block suppresses fewer boxes than its size.
2. On the boxes left, the overlapping pairs are found by a sweep along x (only boxes intersecting
   in x and y are compared) and the greedy decisions are resolved over that sparse graph in
   rounds: a box is kept once no undecided higher-scoring box overlaps it, suppressed once a kept
   one does.

IoUs use the kernel's float formula, and boxes are ordered by ``scores.sort(descending=True)`` as
in the kernel, so equal scores are broken the same way and the kept indices are identical.
"""
from typing import Iterator, List, Tuple

import torch
from torch import Tensor

# Candidate pairs handled at once by the sweep (bounds its memory: ~40 bytes a pair).
PAIRS_PER_CHUNK = 1 << 22
# Boxes resolved together in the first phase.
BLOCK = 64


def _areas(boxes: Tensor) -> Tensor:
    """Box areas as the kernel computes them (no clamping)."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _iou(box_a: Tensor, area_a: Tensor, box_b: Tensor, area_b: Tensor) -> Tensor:
    """IoU of boxes ``a`` and ``b`` (broadcast) with the kernel's operation order."""
    lt = torch.maximum(box_a[..., :2], box_b[..., :2])
    rb = torch.minimum(box_a[..., 2:], box_b[..., 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (area_a + area_b - inter)


def _candidate_pairs(boxes: Tensor) -> Iterator[Tuple[Tensor, Tensor]]:
    """Chunks of index pairs ``(a, b)`` whose boxes intersect in x and in y, each pair once.

    Boxes sorted by ``x1``: box ``p`` is paired with the later boxes whose ``x1`` lies before its
    ``x2``, and those pairs are kept where the y-intervals intersect too. Other pairs have no
    positive intersection.
    """
    x1, perm = boxes[:, 0].sort()
    y1, x2, y2 = (boxes[perm, k].contiguous() for k in (1, 2, 3))
    ends = torch.searchsorted(x1, x2, side='left')
    positions = torch.arange(len(x1), device=boxes.device)
    counts = (ends - positions - 1).clamp(min=0)
    cum = counts.cumsum(0)
    start = 0
    while start < len(x1):
        # Whole positions up to about PAIRS_PER_CHUNK pairs (at least one position).
        base = int(cum[start - 1]) if start > 0 else 0
        stop = int(torch.searchsorted(cum, base + PAIRS_PER_CHUNK, side='right'))
        stop = min(max(stop, start + 1), len(x1))
        chunk_counts = counts[start:stop]
        total = int(chunk_counts.sum())
        if total > 0:
            src = torch.repeat_interleave(positions[start:stop], chunk_counts)
            first_of_run = torch.repeat_interleave(chunk_counts.cumsum(0) - chunk_counts,
                                                   chunk_counts)
            dst = src + 1 + torch.arange(total, device=boxes.device) - first_of_run
            hit = torch.maximum(y1[src], y1[dst]) < torch.minimum(y2[src], y2[dst])
            yield perm[src[hit]], perm[dst[hit]]
        start = stop


def _overlap_edges(boxes: Tensor, iou_threshold: float) -> Tuple[Tensor, Tensor]:
    """Edges ``higher -> lower`` (positions in score order) of pairs with IoU above threshold."""
    areas = _areas(boxes)
    if iou_threshold < 0:  # every pair with a defined IoU suppresses: compare all of them
        pairs = [torch.triu_indices(len(boxes), len(boxes), 1, device=boxes.device).unbind()]
    else:
        pairs = _candidate_pairs(boxes)
    srcs, dsts = [], []
    for a, b in pairs:
        hit = _iou(boxes[a], areas[a], boxes[b], areas[b]) > iou_threshold
        a, b = a[hit], b[hit]
        srcs.append(torch.minimum(a, b))
        dsts.append(torch.maximum(a, b))
    empty = torch.zeros(0, dtype=torch.long, device=boxes.device)
    return (torch.cat(srcs) if srcs else empty), (torch.cat(dsts) if dsts else empty)


def _resolve_greedy(num: int, src: Tensor, dst: Tensor) -> Tensor:
    """Greedy keep mask over boxes in score order, given the suppression edges ``src -> dst``."""
    device = src.device
    undecided = torch.ones(num, dtype=torch.bool, device=device)
    keep = torch.zeros(num, dtype=torch.bool, device=device)
    while True:
        # Kept: undecided boxes that no undecided higher-scoring box overlaps.
        blocked = torch.zeros(num, dtype=torch.bool, device=device)
        blocked[dst[undecided[src]]] = True
        new_keep = undecided & ~blocked
        keep |= new_keep
        undecided &= ~new_keep
        # Suppressed: undecided boxes overlapped by a kept one.
        suppressed = torch.zeros(num, dtype=torch.bool, device=device)
        suppressed[dst[keep[src]]] = True
        undecided &= ~suppressed
        if not bool(undecided.any()):
            return keep
        live = undecided[src] & undecided[dst]
        src, dst = src[live], dst[live]


def _greedy_blocks(boxes: Tensor, areas: Tensor,
                   iou_threshold: float) -> Tuple[List[Tensor], Tensor]:
    """First phase: the kept positions so far, and the undecided positions left (ascending)."""
    kept = []
    left = torch.arange(len(boxes), device=boxes.device)
    while len(left) > 0:
        block, rest = left[:BLOCK], left[BLOCK:]
        box, area = boxes[block], areas[block]
        over = _iou(box[:, None], area[:, None], box[None], area[None]) > iou_threshold
        src, dst = over.triu(1).nonzero().unbind(1)
        block = block[_resolve_greedy(len(block), src, dst)]
        kept.append(block)
        suppressed = (_iou(boxes[block][:, None], areas[block][:, None], boxes[rest][None],
                           areas[rest][None]) > iou_threshold).any(0)
        left = rest[~suppressed]
        if int(suppressed.sum()) < BLOCK:
            break
    return kept, left


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float) -> Tensor:
    """Indices of the boxes kept by greedy NMS, in descending score.

    Args:
        boxes (Tensor): ``(N, 4)`` boxes ``(x1, y1, x2, y2)``.
        scores (Tensor): ``(N,)`` scores.
        iou_threshold (float): A box is suppressed by a kept higher-scoring box whose IoU with it
            is strictly above this.

    Returns:
        Tensor: ``(K,)`` long indices into ``boxes``, as mmcv's ``nms`` kernel returns them
        (``offset=0``).
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = scores.sort(0, descending=True)[1]
    # The kernel compares a float IoU with a float threshold.
    threshold = float(torch.tensor(iou_threshold, dtype=torch.float32))
    boxes = boxes[order].contiguous()
    kept, left = _greedy_blocks(boxes, _areas(boxes), threshold)
    if len(left) > 0:
        src, dst = _overlap_edges(boxes[left], threshold)
        kept.append(left[_resolve_greedy(len(left), src, dst)])
    return order[torch.cat(kept)]
