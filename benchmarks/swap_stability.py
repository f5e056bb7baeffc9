"""Does each one-line swap train under its stock config's own optimizer? Stock loss beside it.

Usage::

    python -m benchmarks.swap_stability --families retinanet fcos atss faster-rcnn \
        --losses stock dghmc dghmc-paper pu brl --work-dir work_dirs/swap_stability \
        --out benchmarks/swap_stability.md
    python -m benchmarks.swap_stability --report-only --families retinanet fcos atss \
        faster-rcnn mask-rcnn cascade-rcnn yolox rtmdet dino --losses stock dghmc dghmc-paper pu \
        --out benchmarks/swap_stability.md

Each run is a stock mmdet config of ``configs/dghmc_swap`` (``stock``: mmdet's own file; any
other loss: the swap file, its ``loss_cls`` replaced by :data:`LOSSES`), trained by mmengine's
``Runner`` under the config's own ``optim_wrapper`` (SGD 0.01 for these families, FCOS with its
stock gradient clipping, the others with none), reduced only in

- backbone depth: ResNet-18 from scratch (no weights can be loaded here), the neck fed its
  widths (YOLOX keeps its small CSPDarknet, from scratch as in its config);
- image size: ``--size`` px, batch ``--batch-size``;
- schedule length: ``--iters`` iterations, the linear warm-up shortened to ``--warmup``;
- the learning rate scaled to the batch by mmdet's own ``auto_scale_lr`` rule (the config's
  rate times batch / ``base_batch_size``, as ``tools/train.py --auto-scale-lr`` does), or kept
  at the 16-image batch's rate with ``--no-lr-scaling`` (``--records`` elsewhere), where a
  2-image batch can diverge with the stock loss as well.

The data is synthetic H&E with two cell types (:mod:`mmdet_dghm.testing.synthetic`) as a
partial COCO json (:class:`~mmdet_dghm.datasets.PartialCocoDataset`): half the images keep
every box and are exhaustively annotated, the other half lose ``--drop`` of their boxes at
random and are marked ``partially_annotated``. Every run of a family starts from the same
seed. Records (``RECORDS/<family>_<loss>.json``) make the script resumable; the table gives
the classification loss at the start and at the end of training and the first iteration with
a non-finite loss.
"""
import argparse
import json
import math
import multiprocessing
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path
from typing import Dict, List, Optional

import mmdet
import numpy as np
import torch
from mmengine.config import Config, ConfigDict

SWAP_DIR = Path(__file__).resolve().parents[1] / 'configs' / 'dghmc_swap'
STOCK_DIR = Path(mmdet.__file__).parent / '.mim' / 'configs'
#: family: (swap config, stock config, the model key of the swapped dense head, the log keys
#: of its classification losses: summed, every stage and decoder layer included)
FAMILIES = {
    'retinanet': ('retinanet_r50_fpn_dghmc_1x_coco.py', 'retinanet/retinanet_r50_fpn_1x_coco.py',
                  'bbox_head', ('loss_cls', )),
    'fcos': ('fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py',
             'fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py', 'bbox_head', ('loss_cls', )),
    'atss': ('atss_r50_fpn_dghmc_1x_coco.py', 'atss/atss_r50_fpn_1x_coco.py', 'bbox_head',
             ('loss_cls', )),
    'faster-rcnn': ('faster-rcnn_r50_fpn_dghmc_1x_coco.py',
                    'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'rpn_head',
                    ('loss_rpn_cls', 'loss_cls')),
    'faster-rcnn-rpn': ('faster-rcnn_r50_fpn_dghmc-rpn_1x_coco.py',
                        'faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', 'rpn_head',
                        ('loss_rpn_cls', 'loss_cls')),
    'mask-rcnn': ('mask-rcnn_r50_fpn_dghmc_1x_coco.py', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py',
                  'rpn_head', ('loss_rpn_cls', 'loss_cls')),
    'cascade-rcnn': ('cascade-rcnn_r50_fpn_dghmc_1x_coco.py',
                     'cascade_rcnn/cascade-rcnn_r50_fpn_1x_coco.py', 'rpn_head',
                     ('loss_rpn_cls', 'loss_cls')),
    'yolox': ('yolox_s_dghmc_8xb8-300e_coco.py', 'yolox/yolox_s_8xb8-300e_coco.py', 'bbox_head',
              ('loss_obj', )),
    'rtmdet': ('rtmdet_tiny_dghmc_8xb32-300e_coco.py', 'rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
               'bbox_head', ('loss_cls', )),
    'dino': ('dino-4scale_r50_dghmc_8xb2-12e_coco.py', 'dino/dino-4scale_r50_8xb2-12e_coco.py',
             'bbox_head', ('loss_cls', 'enc_loss_cls', 'dn_loss_cls')),
}
#: Families whose model trains on instance masks too.
MASK_FAMILIES = ('mask-rcnn', )
#: The classification loss of each compared method; ``stock`` keeps the stock config's.
LOSSES = {
    'stock': None,
    'dghmc': 'swap',  # the swap file's own line
    'dghmc-paper': dict(type='DGHMCLoss', use_sigmoid=True, normalize='paper'),
    'pu': dict(type='PULoss', use_sigmoid=True, missing_rate=0.7),
    'brl': dict(type='BackgroundRecalibrationLoss', use_sigmoid=True),
}
#: The swapped loss's attribute where it is not ``loss_cls``: YOLOX's negatives are in its
#: objectness.
LOSS_ATTR = {'yolox': 'loss_obj'}
CLASSES = ('signet_ring_cell', 'eosinophil')
META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'partially_annotated', 'partial_labels')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--families', nargs='+', default=list(FAMILIES), choices=list(FAMILIES))
    p.add_argument('--losses', nargs='+', default=['stock', 'dghmc', 'dghmc-paper', 'pu'],
                   choices=list(LOSSES))
    p.add_argument('--iters', type=int, default=300)
    p.add_argument('--warmup', type=int, default=50, help='linear warm-up iterations')
    p.add_argument('--size', type=int, default=256, help='image side in px')
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--num-images', type=int, default=48)
    p.add_argument('--drop', type=float, default=0.7,
                   help='share of boxes removed from the partially annotated images')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--no-lr-scaling', action='store_true',
                   help="keep the config's learning rate (that of its 16-image batch)")
    p.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    p.add_argument('--work-dir', type=Path, default=Path('work_dirs/swap_stability'))
    p.add_argument('--records', type=Path, default=Path('benchmarks/swap_stability_runs'),
                   help='one small json per run: the resumable results')
    p.add_argument('--out', type=Path, default=None, help='markdown table (default: print)')
    p.add_argument('--report-only', action='store_true', help='table from the records only')
    return p.parse_args(argv)


def ellipse_polygon(x0: float, y0: float, x1: float, y1: float,
                    vertices: int = 16) -> List[float]:
    """The polygon ``[x, y, x, y, ...]`` of the ellipse inscribed in a box (a cell's mask)."""
    angle = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    x = (x0 + x1) / 2 + (x1 - x0) / 2 * np.cos(angle)
    y = (y0 + y1) / 2 + (y1 - y0) / 2 * np.sin(angle)
    return np.round(np.stack([x, y], 1), 2).flatten().tolist()


def write_partial_coco(out_dir: Path, num_images: int, size: int, drop: float,
                       seed: int) -> Path:
    """Synthetic two-class images, even ones exhaustively annotated, odd ones partially; each
    box with the inscribed ellipse as its mask."""
    from mmdet_dghm.testing.synthetic import render_cell_types, sample_stain
    from mmdet_dghm.testing.synthetic.writing import write_jpeg
    ann_file = out_dir / 'train.json'
    if ann_file.exists():
        return ann_file
    (out_dir / 'images').mkdir(parents=True, exist_ok=True)
    data = dict(images=[], annotations=[],
                categories=[dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)])
    for img_id in range(1, num_images + 1):
        rng = np.random.default_rng([seed, img_id])
        rgb, boxes, labels = render_cell_types(rng, (size, size), sample_stain(rng), True,
                                               eosinophil_coverage=(0.04, 0.15))
        partial = img_id % 2 == 1
        keep = rng.random(len(boxes)) >= drop if partial else np.ones(len(boxes), bool)
        name = f'{img_id:04d}.jpeg'
        write_jpeg(out_dir / 'images' / name, rgb, 90)
        data['images'].append(dict(id=img_id, file_name=name, height=size, width=size,
                                   partially_annotated=partial))
        for (x0, y0, x1, y1), label in zip(np.round(boxes[keep]).tolist(),
                                           labels[keep].tolist()):
            if x1 > x0 and y1 > y0:
                data['annotations'].append(dict(
                    id=len(data['annotations']) + 1, image_id=img_id, category_id=label + 1,
                    bbox=[x0, y0, x1 - x0, y1 - y0], area=(x1 - x0) * (y1 - y0), iscrowd=0,
                    segmentation=[ellipse_polygon(x0, y0, x1, y1)]))
    ann_file.write_text(json.dumps(data))
    return ann_file


def reduced_config(family: str, loss: str, args: argparse.Namespace, data_dir: Path,
                   work_dir: Path) -> Config:
    """The family's stock or swap config, reduced in depth, image size and schedule only."""
    swap_file, stock_file, head_key, _ = FAMILIES[family]
    cfg = Config.fromfile(str(STOCK_DIR / stock_file if loss == 'stock'
                              else SWAP_DIR / swap_file))
    if isinstance(LOSSES[loss], dict):
        cfg.model[head_key][LOSS_ATTR.get(family, 'loss_cls')] = ConfigDict(LOSSES[loss])
    cfg.custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
    cfg.model.backbone.init_cfg = None
    if cfg.model.backbone.type == 'ResNet':
        cfg.model.backbone.depth = 18
        cfg.model.neck.in_channels = [64 * 2 ** i for i in cfg.model.backbone.out_indices]
    # YOLOX: no multi-scale batch resizing; its mode-switch, sync-norm and EMA hooks belong
    # to the 300-epoch schedule.
    cfg.model.data_preprocessor.pop('batch_augments', None)
    cfg.custom_hooks = []
    classifiers = cfg.model.roi_head.bbox_head if 'roi_head' in cfg.model else cfg.model.bbox_head
    for classifier in classifiers if isinstance(classifiers, list) else [classifiers]:
        classifier.num_classes = len(CLASSES)
    if family in MASK_FAMILIES:
        cfg.model.roi_head.mask_head.num_classes = len(CLASSES)
    size = args.size
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=family in MASK_FAMILIES),
        dict(type='Resize', scale=(size, size), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs', meta_keys=META_KEYS),
    ]
    cfg.train_dataloader = dict(
        batch_size=args.batch_size, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        batch_sampler=dict(type='AspectRatioBatchSampler'),
        dataset=dict(type='PartialCocoDataset', data_root=str(data_dir), ann_file='train.json',
                     data_prefix=dict(img='images/'), metainfo=dict(classes=CLASSES),
                     filter_cfg=dict(filter_empty_gt=False), pipeline=pipeline))
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters, val_interval=10**9)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
                                end=args.warmup)]
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, by_epoch=False,
                                        save_last=False)
    cfg.default_hooks.visualization = dict(type='DetVisualizationHook', draw=False)
    cfg.log_processor = dict(type='LogProcessor', window_size=1, by_epoch=False)
    cfg.auto_scale_lr = dict(enable=not args.no_lr_scaling,
                             base_batch_size=cfg.auto_scale_lr.base_batch_size)
    cfg.randomness = dict(seed=args.seed)
    cfg.work_dir = str(work_dir)
    cfg.launcher = 'none'
    return cfg


def cls_losses(work_dir: Path, log_keys: tuple) -> List[float]:
    """The classification loss of every logged iteration, summed over its log keys (and each
    key's stages and layers: ``s0.loss_cls``, ``d0.loss_cls``)."""
    scalars = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1]
    values = []
    for line in scalars.read_text().splitlines():
        entry = json.loads(line)
        keys = [k for k in entry if k.split('.')[-1] in log_keys]
        if 'iter' in entry and keys:
            values.append(sum(float(entry[k]) for k in keys))
    return values


def train_one(family: str, loss: str, args: argparse.Namespace, data_dir: Path,
              command: str) -> None:
    """Train one run and write its record (in a process of its own: mmengine's visualizer
    and message hub are process-wide singletons)."""
    from mmengine.runner import Runner

    import mmdet_dghm  # noqa: F401  (registration in this process)
    torch.set_num_threads(args.threads)
    record_path = args.records / f'{family}_{loss}.json'
    run_dir = args.work_dir / f'{family}_{loss}'
    cfg = reduced_config(family, loss, args, data_dir, run_dir)
    runner = Runner.from_cfg(cfg)
    runner.build_train_loop(cfg.train_cfg)  # a config error raises here, not as a failed run
    try:
        runner.train()
        error = None
    except Exception as exc:  # a diverged run may raise inside the assigner
        error = f'{type(exc).__name__}: {exc}'[:300]
        print(f'{family} / {loss}: {error}', file=sys.stderr)
    values = cls_losses(run_dir, FAMILIES[family][3])
    optimizer = cfg.optim_wrapper.optimizer
    base = cfg.auto_scale_lr.base_batch_size
    scale = f'{args.batch_size}/{base}'
    lr = optimizer.lr if args.no_lr_scaling else optimizer.lr * args.batch_size / base
    record = dict(family=family, loss=loss, loss_cls=values, error=error,
                  optimizer=f'{optimizer.type} lr={lr:g}' + (
                      ' (unscaled)' if args.no_lr_scaling else f' ({optimizer.lr:g} x {scale})'),
                  clip_grad=(cfg.optim_wrapper.get('clip_grad') or {}).get('max_norm'),
                  cls_loss_cfg=(None if LOSSES[loss] is None else cfg.model[FAMILIES[family][2]][
                      LOSS_ATTR.get(family, 'loss_cls')].to_dict()),
                  iters=args.iters, size=args.size, batch_size=args.batch_size,
                  warmup=args.warmup, seed=args.seed, drop=args.drop, command=command)
    record_path.write_text(json.dumps(record))


def run_one(family: str, loss: str, args: argparse.Namespace, data_dir: Path,
            command: str) -> dict:
    """The run's record, training it first unless a record exists."""
    record_path = args.records / f'{family}_{loss}.json'
    if not record_path.exists():
        process = multiprocessing.get_context('spawn').Process(
            target=train_one, args=(family, loss, args, data_dir, command))
        process.start()
        process.join()
        if not record_path.exists():
            raise RuntimeError(f'{family} / {loss}: the training process exited with code '
                               f'{process.exitcode} and wrote no record')
    return json.loads(record_path.read_text())


def trains(record: dict) -> bool:
    """Finite at every logged iteration, all of them logged, and the loss falls."""
    values = record['loss_cls']
    return (len(values) >= record['iters'] and all(math.isfinite(v) for v in values)
            and statistics.fmean(values[-50:]) < statistics.fmean(values[:10]))


def summary(record: dict) -> Dict[str, str]:
    values = record['loss_cls']
    bad = next((i + 1 for i, v in enumerate(values) if not math.isfinite(v)), None)
    start = statistics.fmean(values[:10]) if values else math.nan
    end = statistics.fmean(values[-50:]) if values else math.nan
    finite = (f'yes ({len(values)})' if bad is None and len(values) >= record['iters']
              else f'no: {"non-finite at " + str(bad) if bad else record["error"]}')
    return dict(start=f'{start:.3g}', end=f'{end:.3g}', ratio=f'{end / start:.2f}',
                finite=finite)


def table(records: List[dict]) -> str:
    first = records[0]
    failing = [f"{r['family']} / {r['loss']}" for r in records if not trains(r)]
    verdict = (f'**{len(records) - len(failing)} of {len(records)} runs stay finite with a '
               f'falling classification loss**' +
               (f'; not: {", ".join(failing)}.' if failing else '.'))
    lines = [
        '# One-line swaps under their stock optimizers',
        '',
        verdict,
        '',
        f"On {platform.machine()} ({os.cpu_count()} CPUs), torch {torch.__version__}, mmdet "
        f"{mmdet.__version__}. Each run: its stock config's "
        f"optimizer and gradient clipping, ResNet-18 from scratch, {first['size']} px, batch "
        f"{first['batch_size']}, {first['iters']} iterations after a {first['warmup']}-iteration "
        f"linear warm-up, seed {first['seed']}; synthetic partial COCO (half the images lose "
        f"{first['drop']:.0%} of their boxes and are marked partially annotated).",
        '',
        '`start`: mean classification loss of iterations 1-10; `end`: of the last 50; '
        '`finite`: whether every logged iteration had a finite loss (and how many were logged).',
        '',
        'The commands that made the runs (each skips the runs whose record exists):',
        '',
        *[f'- `{command}`' for command in dict.fromkeys(r['command'] for r in records)],
        '',
        '| family | loss | optimizer | clip | start | end | end / start | finite |',
        '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ]
    for record in records:
        s = summary(record)
        loss = record['loss'] if record['cls_loss_cfg'] is None else \
            f"{record['loss']} `{json.dumps(record['cls_loss_cfg'])}`"
        lines.append(f"| {record['family']} | {loss} | {record['optimizer']} | "
                     f"{record['clip_grad'] or 'none'} | {s['start']} | {s['end']} | "
                     f"{s['ratio']} | {s['finite']} |")
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    args.records.mkdir(parents=True, exist_ok=True)
    data_dir = args.work_dir / 'data'
    if not args.report_only:
        write_partial_coco(data_dir, args.num_images, args.size, args.drop, args.seed)
    command = ' '.join(['python -m benchmarks.swap_stability'] +
                       [shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)])
    records = []
    for family in args.families:
        for loss in args.losses:
            path = args.records / f'{family}_{loss}.json'
            if args.report_only:
                if path.exists():
                    records.append(json.loads(path.read_text()))
                continue
            records.append(run_one(family, loss, args, data_dir, command))
    text = table(records)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == '__main__':
    main()
