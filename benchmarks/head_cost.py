"""Training-step time of each detector family with DGHM-C vs its stock loss (CPU).

Usage:
    python -m benchmarks.head_cost [--repeats 21] [--threads 1] [--size 128]
        [--families retinanet fcos ...] [--out benchmarks/head_cost.md]

For each family, the stock mmdet config (its classification losses in the table) and its
``configs/dghmc_swap`` counterpart are built with the same weights (no pretrained backbone)
and run ``model.train_step`` (data preprocessing, forward, backward, optimiser step) on the
same batch of two random images with two boxes each, one image ``partially_annotated`` and one
with ``partial_labels=[1]``, so DGHM-C gets a per-class (N, C) mask. Rounds alternate the two
models in a rotated order; the table gives the median step time of each over ``--repeats``
rounds after two warm-up rounds, their ratio, and the median of the per-round ratios.
"""
from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import mmdet
import numpy as np
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmdet_dghm  # noqa: F401  (registration)

REPO = Path(__file__).resolve().parents[1]
STOCK_ROOT = Path(mmdet.__file__).parent / '.mim/configs'
# family: (swap config, the stock config it inherits, the stock classification loss)
FAMILIES = {
    'retinanet': ('retinanet_r50_fpn_dghmc_1x_coco.py', 'retinanet/retinanet_r50_fpn_1x_coco.py',
                  'FocalLoss'),
    'fcos': ('fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py',
             'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', 'FocalLoss'),
    'atss': ('atss_r50_fpn_dghmc_1x_coco.py', 'atss/atss_r50_fpn_1x_coco.py', 'FocalLoss'),
    'faster-rcnn-rpn': ('faster-rcnn_r50_fpn_dghmc-rpn_1x_coco.py',
                        'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'CrossEntropyLoss (RPN)'),
    'faster-rcnn': ('faster-rcnn_r50_fpn_dghmc_1x_coco.py',
                    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                    'CrossEntropyLoss (RPN, RoI softmax)'),
    'mask-rcnn': ('mask-rcnn_r50_fpn_dghmc_1x_coco.py', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                  'CrossEntropyLoss (RPN, RoI softmax)'),
    'cascade-rcnn': ('cascade-rcnn_r50_fpn_dghmc_1x_coco.py',
                     'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py',
                     'CrossEntropyLoss (RPN, 3 RoI stages)'),
    'dino': ('dino-4scale_r50_dghmc_8xb2-12e_coco.py', 'dino/dino-4scale_r50_8xb2-12e_coco.py',
             'FocalLoss'),
    'yolox': ('yolox_s_dghmc_8xb8-300e_coco.py', 'yolox/yolox_s_8xb8-300e_coco.py',
              'CrossEntropyLoss (objectness)'),
    'rtmdet': ('rtmdet_tiny_dghmc_8xb32-300e_coco.py', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
               'QualityFocalLoss'),
}
# DINO keeps its 900 queries: its four feature levels need more than 900 positions.
MIN_SIZE = {'dino': 256}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=21)
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    parser.add_argument('--out', type=Path, default=Path('benchmarks/head_cost.md'))
    parser.add_argument('--population', choices=('call', 'level', 'batch'), default='call',
                        help="the swapped DGHM-C losses' statistic population ('batch': heads "
                             'calling the loss more than once compute their targets twice)')
    return parser.parse_args()


def batch(size: int, with_masks: bool) -> dict:
    """Two random images, two boxes each; image 0 partial everywhere, image 1 in class 1.

    With ``with_masks`` the boxes, filled, are the instance masks (Mask R-CNN); other models
    get none (RTMDet's assigner would take them for its own mask format)."""
    gen = torch.Generator().manual_seed(0)
    boxes = torch.tensor([[0.1, 0.1, 0.45, 0.4], [0.5, 0.45, 0.9, 0.95]]) * size
    inputs, samples = [], []
    for meta in (dict(partially_annotated=True), dict(partial_labels=[1])):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen))
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             scale_factor=(1.0, 1.0), **meta))
        sample.gt_instances = InstanceData(bboxes=boxes.clone(), labels=torch.tensor([0, 1]))
        if with_masks:
            masks = np.zeros((2, size, size), dtype=np.uint8)
            for mask, (x0, y0, x1, y1) in zip(masks, boxes.int().tolist()):
                mask[y0:y1, x0:x1] = 1
            sample.gt_instances.masks = BitmapMasks(masks, size, size)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def set_population(node, population: str) -> None:
    """Set ``population`` on every DGHM-C loss of a config tree."""
    if isinstance(node, dict):
        if node.get('type') == 'DGHMCLoss':
            node['population'] = population
        for value in node.values():
            set_population(value, population)
    elif isinstance(node, list):
        for value in node:
            set_population(value, population)


def train_steps(family: str, size: int,
                population: str = 'call') -> Dict[str, Callable[[], None]]:
    """One ``train_step`` closure per model: the stock config's and the swap config's (its
    DGHM-C losses with ``population``)."""
    swap, stock, _ = FAMILIES[family]
    cfgs = dict(stock=Config.fromfile(str(STOCK_ROOT / stock)),
                dghmc=Config.fromfile(str(REPO / 'configs/dghmc_swap' / swap)))
    if population != 'call':
        set_population(cfgs['dghmc'].model, population)
    steps, state = {}, None
    for name, cfg in cfgs.items():
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.backbone.init_cfg = None
        model_cfg.data_preprocessor.pop('batch_augments', None)  # YOLOX's random resizing
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = revert_sync_batchnorm(MODELS.build(model_cfg))  # RTMDet's SyncBN, 1 CPU
            model.init_weights()
            state = state or copy.deepcopy(model.state_dict())
            # The RoI form of a status loss has C classifier channels, the softmax C + 1.
            own = model.state_dict()
            model.load_state_dict({key: value for key, value in state.items()
                                   if key in own and own[key].shape == value.shape},
                                  strict=False)
            model.train()
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        data = batch(size, with_masks='mask_head' in cfg.model.get('roi_head', {}))
        steps[name] = (lambda m=model, o=optim_wrapper, d=data: m.train_step(d, o))
    return steps


def time_rounds(steps: Dict[str, Callable[[], None]], repeats: int) -> Dict[str, List[float]]:
    """Seconds of each step in each of ``repeats`` rounds, after two warm-up rounds.

    Every round runs each step once, in a rotated order, so a load change on the machine hits
    both alike instead of whichever was being timed at that moment.
    """
    names = list(steps)
    times: Dict[str, List[float]] = {name: [] for name in names}
    for round_idx in range(repeats + 2):
        shift = round_idx % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            with DefaultScope.overwrite_default_scope('mmdet'):
                steps[name]()
            if round_idx >= 2:
                times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    load = os.getloadavg()[0]
    rows = []
    for family in args.families:
        size = max(args.size, MIN_SIZE.get(family, 0))
        times = time_rounds(train_steps(family, size, args.population), args.repeats)
        stock_ms = statistics.median(times['stock']) * 1e3
        dghmc_ms = statistics.median(times['dghmc']) * 1e3
        per_round = statistics.median(d / s for d, s in zip(times['dghmc'], times['stock']))
        rows.append(f'| {family} | {FAMILIES[family][2]} | {size} | {stock_ms:.0f} | '
                    f'{dghmc_ms:.0f} | {dghmc_ms / stock_ms:.3f} | {per_round:.3f} |')
        print(rows[-1], flush=True)
    command = 'python -m benchmarks.head_cost ' + ' '.join(sys.argv[1:])
    text = '\n'.join([
        '# Training-step cost of DGHM-C per detector family (CPU)',
        '',
        f'Command: `{command.strip()}`',
        '',
        '- `model.train_step` (preprocess, forward, backward, optimiser step), batch of 2 '
        'random images with 2 boxes each, one `partially_annotated`, one `partial_labels=[1]` '
        "(per-class mask); the stock configs' models (ResNet-50; YOLOX-s, RTMDet-tiny), no "
        "pretrained weights; DGHM-C as the swap file sets it (`normalize='mass'`), "
        f"population `'{args.population}'`",
        f'- Median of {args.repeats} interleaved rounds after 2 warm-up rounds; torch threads: '
        f'{args.threads}',
        f'- Machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} logical '
        f'CPUs, load average at start {load:.1f}',
        f'- Python {platform.python_version()}, torch {torch.__version__}, mmdet '
        f'{mmdet.__version__}',
        '- Target: DGHM-C adds at most 5% to the step (ratio <= 1.05).',
        '',
        '| Family | Stock classification loss | Image px | Stock ms | DGHM-C ms | '
        'Ratio of medians | Median per-round ratio |',
        '|---|---|---:|---:|---:|---:|---:|',
        *rows,
        '',
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f'written {args.out}')


if __name__ == '__main__':
    main()
