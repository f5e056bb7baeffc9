"""Gradient-norm histograms of a trained detector by anchor group (paper figures 3 and 6).

For every valid classification element (anchor i, class c) with p = sigmoid(x) and binary
target t, the gradient norm of the sigmoid cross entropy w.r.t. x is g = |p - t| (paper eq. 3).
Elements fall into three groups (paper section 3.1): positives (AP_P, all from partially
annotated images), negatives of partially annotated images (AP_N, the noisy ones that hide
missed cells) and negatives of exhaustively annotated normal images (NP_N, clean).
"""
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import load_checkpoint
from torch import Tensor, nn

import mmdet_dghm  # noqa: F401  registers the plugin's modules
from mmdet_dghm.models.losses.dghm_loss import GROUP_NAMES, group_codes

#: Groups in the order of the paper's figures; each is one group of DGHM-C*'s decoupling.
GROUPS: Tuple[str, ...] = ('AP_P', 'AP_N', 'NP_N')
#: Position in :data:`GROUPS` of each group index of ``group_codes(..., 'full')``.
_FROM_LOSS_GROUP = torch.tensor([GROUPS.index(name) for name in GROUP_NAMES['full']])


def element_groups(labels: Tensor, label_weights: Tensor, partial: Tensor,
                   num_classes: int) -> Tuple[Tensor, Tensor, Tensor]:
    """Binary target, group and validity of every (anchor, class) element.

    The groups are the loss's own (:func:`~mmdet_dghm.models.losses.dghm_loss.group_codes`
    in DGHM-C*'s three-group decoupling), renumbered in the order of :data:`GROUPS`.

    Args:
        labels (Tensor): (N,) assigned labels, ``num_classes`` for background.
        label_weights (Tensor): (N,) assigner weights; 0 marks ignored anchors.
        partial (Tensor): (N,) bool, the anchor's image is partially annotated, or (N, C),
            class c is partially annotated in it (the loss's ``partial``).
        num_classes (int): Foreground classes C.

    Returns:
        tuple[Tensor, Tensor, Tensor]: (N, C) float targets t, (N, C) long group index into
        :data:`GROUPS` (0 AP_P, 1 AP_N, 2 NP_N) and (N, C) bool validity.
    """
    classes = torch.arange(num_classes, device=labels.device)
    target = (labels[:, None] == classes[None, :])
    no_outlier = torch.zeros_like(target)
    loss_group = group_codes(target.to(torch.uint8), partial, no_outlier, 'full') // 2
    group = _FROM_LOSS_GROUP.to(labels.device)[loss_group.long()]
    valid = label_weights > 0
    if valid.dim() == 1:
        valid = valid[:, None].expand(-1, num_classes)
    return target.float(), group, valid


def gradient_norms(logits: Tensor, target: Tensor) -> Tensor:
    """g = |sigmoid(x) - t| (paper eq. 3), elementwise."""
    return (logits.sigmoid() - target).abs()


def gradient_at_prior(loss_cfg: dict, prior: float = 0.01) -> Tuple[float, float]:
    """|dL/dx| of one positive and one negative element scored at ``prior`` by a loss config.

    RetinaHead starts every anchor at p = ``bias_prob`` (0.01): these two gradients say how hard
    the loss pushes a positive up against a negative down before anything is learned. Only for
    element-wise losses; GHM-C and DGHM-C weights depend on the batch's gradient density.

    Args:
        loss_cfg (dict): A sigmoid classification loss config (``MODELS``).
        prior (float): The score p both elements have. Defaults to 0.01.

    Returns:
        tuple: ``(positive, negative)`` gradient norms w.r.t. the logit, ``loss_weight``
        included, summed reduction.
    """
    loss = MODELS.build(loss_cfg)
    logit = torch.full((2, 1), float(np.log(prior / (1 - prior))), requires_grad=True)
    # One class: label 0 is the positive, label 1 (= num_classes) the background.
    out = loss(logit, torch.tensor([0, 1]), torch.ones(2), avg_factor=1.0)
    out.backward()
    grad = logit.grad.abs()[:, 0]
    return float(grad[0]), float(grad[1])


def group_histograms(g: np.ndarray, group: np.ndarray, bins: int = 10) -> np.ndarray:
    """Counts of the gradient norms of each group in ``bins`` unit regions of [0, 1].

    Args:
        g (np.ndarray): (M,) gradient norms of valid elements, in [0, 1].
        group (np.ndarray): (M,) group index in ``[0, len(GROUPS))``.
        bins (int): Unit regions of width ``1 / bins`` (g = 1 goes to the last).

    Returns:
        np.ndarray: (len(GROUPS), bins) int64 counts; they sum to M.
    """
    if g.shape != group.shape:
        raise ValueError(f'group_histograms: g {g.shape} and group {group.shape} differ')
    index = np.minimum((np.asarray(g) * bins).astype(np.int64), bins - 1)
    flat = np.asarray(group, np.int64) * bins + index
    return np.bincount(flat, minlength=len(GROUPS) * bins).reshape(len(GROUPS), bins)


class RecordingLoss(nn.Module):
    """Stands in for a head's classification loss and records what each call receives.

    It declares ``partial``, so a status-aware head passes the status
    of every element in its own layout, exactly as it would to ``DGHMCLoss``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.calls: List[Tuple[Tensor, Tensor, Tensor, Tensor]] = []

    def forward(self, pred: Tensor, target: Tensor, weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None, partial: Optional[Tensor] = None,
                **kwargs) -> Tensor:
        if weight is None:
            weight = pred.new_ones(pred.size(0))
        if partial is None:
            raise ValueError('RecordingLoss: the head passed no partial status; it must be a '
                             'status-aware head')
        self.calls.append((pred, target, weight, partial))
        return pred.sum() * 0


@contextmanager
def recorded_classification_loss(head: nn.Module) -> Iterator[List[tuple]]:
    """Within the block, ``head``'s classification loss records its calls (see
    :class:`RecordingLoss`); the head's own loss is restored afterwards."""
    stock_loss = head.loss_cls
    recorder = RecordingLoss()
    head.loss_cls = recorder
    try:
        yield recorder.calls
    finally:
        head.loss_cls = stock_loss


@torch.no_grad()
def collect_gradient_norms(model, dataloader, max_batches: Optional[int] = None
                           ) -> Tuple[np.ndarray, np.ndarray, int]:
    """Gradient norm and group of every valid element over the batches of ``dataloader``.

    The head's own ``loss_by_feat`` runs (its assigner, its flattening, its annotation status
    per element) with the classification loss replaced by a recorder, so the histogram holds
    exactly the elements, targets and partial status the loss receives in training.

    Elements the loss weights by 0 (IoU between the negative and positive thresholds,
    ignored boxes) are left out, as they are of the loss.

    Returns:
        tuple[np.ndarray, np.ndarray, int]: (M,) gradient norms and (M,) group indices of
        the valid elements, and the number of elements before that filter.
    """
    model.eval()
    head = model.bbox_head
    norms, groups = [], []
    num_elements = 0
    for index, data in enumerate(dataloader):
        if max_batches is not None and index >= max_batches:
            break
        data = model.data_preprocessor(data, False)
        outs = head(model.extract_feat(data['inputs']))
        gts, gts_ignore, metas = unpack_gt_instances(data['data_samples'])
        with recorded_classification_loss(head) as calls:
            head.loss_by_feat(*outs, gts, metas, gts_ignore)
        logits, labels, weights, partial = (torch.cat(part) for part in zip(*calls))
        target, group, valid = element_groups(labels, weights, partial, head.num_classes)
        num_elements += valid.numel()
        norms.append(gradient_norms(logits, target)[valid].cpu().numpy())
        groups.append(group[valid].cpu().numpy())
    if not norms:
        raise ValueError('collect_gradient_norms: the dataloader yielded no batch')
    return np.concatenate(norms), np.concatenate(groups), num_elements


def plot_histograms(counts: np.ndarray, title: str, path: Path) -> None:
    """Grouped bars per unit region, log-scaled counts (paper figures 3 and 6)."""
    bins = counts.shape[1]
    fig = Figure(figsize=(5.5, 3.6), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / len(GROUPS)
    centers = (np.arange(bins) + 0.5) / bins
    for k, name in enumerate(GROUPS):
        # Zero counts have no log: leave those bars out rather than clamp them.
        heights = np.where(counts[k] > 0, counts[k], np.nan)
        ax.bar(centers + (k - 1) * width / bins, heights, width=width / bins, label=name)
    ax.set_yscale('log')
    ax.set_xlim(0, 1)
    ax.set_xlabel('gradient norm g = |p - t|')
    ax.set_ylabel('number of anchors')
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def gradient_histogram(config: str, checkpoint: str, out: Path, data_root: Optional[str] = None,
                       split: str = 'train', drop_rate: Optional[float] = None,
                       tile_size: Optional[int] = None, max_tiles: int = 64, bins: int = 10,
                       seed: int = 0, title: Optional[str] = None,
                       device: str = 'cpu') -> Dict[str, object]:
    """Histogram a checkpoint's gradient norms over training tiles; write PNG and JSON.

    Args:
        config (str): Config file of the model (and of the training dataset).
        checkpoint (str): Trained weights.
        out (Path): PNG path; the counts go to the same name with ``.json``.
        data_root (str, optional): Data root replacing the config's.
        split (str): Dataset split. Defaults to 'train'.
        drop_rate (float, optional): Missing rate replacing the config's (the training one
            by default, so the groups are those the loss saw).
        tile_size (int, optional): Tile side (default: the config's training tiles).
        max_tiles (int): Tiles drawn at random (seeded) from the split. Defaults to 64.
        bins (int): Unit regions. Defaults to 10.
        seed (int): Seed of the tile draw. Defaults to 0.
        title (str, optional): Plot title (default: the config and checkpoint names).
        device (str): Torch device. Defaults to 'cpu'.

    Returns:
        dict: ``groups``, ``bins``, ``counts`` (per group), ``num_valid`` (elements in the
        loss), ``num_elements`` (all anchors x classes), ``num_tiles`` and the inputs.
    """

    model, dataset, chosen = model_and_tiles(config, checkpoint, data_root, split, drop_rate,
                                             tile_size, max_tiles, seed, device)
    # One tile per batch: padding a batch to its largest tile would add anchors.
    loader = (pseudo_collate([dataset[int(i)]]) for i in chosen)
    g, group, num_elements = collect_gradient_norms(model, loader)
    counts = group_histograms(g, group, bins)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plot_histograms(counts, title or f'{Path(config).stem}\n{Path(checkpoint).name}', out)
    record = dict(groups=list(GROUPS), bins=bins,
                  counts={name: counts[k].tolist() for k, name in enumerate(GROUPS)},
                  num_valid=int(g.size), num_elements=num_elements,
                  num_tiles=int(chosen.size), config=str(config),
                  checkpoint=str(checkpoint), split=split,
                  drop_rate=float(dataset.drop_rate))
    out.with_suffix('.json').write_text(json.dumps(record, indent=2))
    return record


def model_and_tiles(config: str, checkpoint: Optional[str], data_root: Optional[str] = None,
                    split: str = 'train', drop_rate: Optional[float] = None,
                    tile_size: Optional[int] = None, max_tiles: int = 64, seed: int = 0,
                    device: str = 'cpu') -> Tuple[nn.Module, object, np.ndarray]:
    """A trained detector and a seeded draw of tiles of its training dataset.

    Args:
        config (str): Config file of the model (and of the training dataset).
        checkpoint (str, optional): Trained weights; None: the model as initialised for
            training (backbone not pretrained unless the config loads it there).
        data_root (str, optional): Data root replacing the config's.
        split (str): Dataset split. Defaults to 'train'.
        drop_rate (float, optional): Missing rate replacing the config's.
        tile_size (int, optional): Tile side (default: the config's training tiles).
        max_tiles (int): Tiles drawn at random (seeded) from the split. Defaults to 64.
        seed (int): Seed of the tile draw. Defaults to 0.
        device (str): Torch device. Defaults to 'cpu'.

    Returns:
        tuple: ``(model, dataset, chosen)``: the model with the checkpoint's weights on
        ``device``, the dataset (test pipeline, annotations as in training) and the sorted
        indices of at most ``max_tiles`` tiles drawn without replacement.
    """
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(split=split, test_mode=True, pipeline=cfg.val_dataloader.dataset.pipeline)
    for key, value in (('data_root', data_root), ('drop_rate', drop_rate)):
        if value is not None:
            dataset_cfg[key] = value
    if tile_size is not None:
        dataset_cfg.update(tile_size=tile_size, tile_stride=tile_size)
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) == 0:
        raise ValueError(f'gradient_histogram: split {split!r} of {config} has no tiles')
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(dataset), size=min(max_tiles, len(dataset)),
                                replace=False))
    model = MODELS.build(cfg.model)
    if checkpoint is None:
        model.init_weights()  # the untrained model: RetinaHead's prior score 0.01
    else:
        load_checkpoint(model, checkpoint, map_location='cpu')
    model.to(device)
    return model, dataset, chosen


def summarize(counts: Sequence[Sequence[int]]) -> Dict[str, float]:
    """Share of each group's elements with g >= 0.5 (hard or wrong), for the report."""
    counts = np.asarray(counts)
    half = counts.shape[1] // 2
    totals = counts.sum(axis=1)
    return {name: float(counts[k, half:].sum() / totals[k]) if totals[k] else float('nan')
            for k, name in enumerate(GROUPS)}
