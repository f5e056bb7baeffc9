"""Mixed label sets, measured: two sources that each box one of two cell types, trained together.

Synthetic H&E images hold signet ring cells and eosinophil-like cells. Source ``source_src``
boxes every SRC and no eosinophil, ``source_eos`` the reverse; ``ClassUnionConcatDataset``
trains RetinaNet light on their union, where each source's unannotated class is partial in
its images (``partial_labels``). The held-out images box both types. For each loss and seed
the driver trains from scratch, predicts the held-out images and writes per-class recall and
FROC to ``RUN/result.json``; finished runs are skipped, so rerunning resumes. ``--report``
collects every result of the work directory into a markdown file.

Per class, a prediction is a true positive when it greedily matches a box of its class at
IoU >= 0.3 (the DigestPath rule); recall is taken at score 0.5, and FROC is the mean recall
at ``FPS`` false positives per held-out image (the test images are fully annotated, so
every unmatched prediction is a false positive).

Example::

    OMP_NUM_THREADS=1 python -m benchmarks.mixed_labels --work-dir work_dirs/mixed \\
        --losses ce focal dghmc --seeds 0 1 --report benchmarks/mixed_labels.md
"""
import argparse
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.utils import ProgressBar

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.evaluation.metrics.digestpath_eval import (
    froc_curve,
    froc_score,
    greedy_match,
    recall_at,
)
from mmdet_dghm.testing import CELL_CLASSES, generate_mixed_label_sets

from .harness.runs import REPO, set_iter_schedule

LOSSES = ('ce', 'focal', 'dghmc', 'dghmc-clean')
#: Runs whose data samples lose ``partial_labels``: every element clean (a control).
NO_STATUS = ('dghmc-clean', )
#: False positives per held-out image averaged by FROC: a 256 px image is about 1/60 of a
#: DigestPath image, so the challenge's 1..32 per normal image would saturate at once.
FPS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
IOU_THR = 0.3
SCORE_THR = 0.5
RESULT_FILE = 'result.json'
DATA_DONE = '.complete'
META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'partially_annotated', 'partial_labels')

#: (pred boxes (P, 4), pred scores (P,), pred labels (P,), gt boxes (K, 4), gt labels (K,))
ImageResult = Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', type=Path, required=True)
    p.add_argument('--losses', nargs='+', choices=LOSSES, default=list(LOSSES))
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    p.add_argument('--iters', type=int, default=320)
    p.add_argument('--batch-size', type=int, default=4)
    p.add_argument('--lr', type=float, default=1e-3)
    p.add_argument('--num-per-source', type=int, default=64)
    p.add_argument('--num-test', type=int, default=24)
    p.add_argument('--image-size', type=int, default=256)
    p.add_argument('--data-seed', type=int, default=0)
    p.add_argument('--report', type=Path, help='write the markdown report of every result')
    p.add_argument('--report-only', action='store_true', help='only rebuild --report')
    return p.parse_args(argv)


def prepare_data(args: argparse.Namespace) -> Dict[str, Path]:
    """The synthetic sets under ``WORK/data``, generated once."""
    data_dir = args.work_dir / 'data'
    paths = {name: data_dir / f'{name}.json' for name in ('source_src', 'source_eos', 'test')}
    paths['images'] = data_dir / 'images'
    if not (data_dir / DATA_DONE).is_file():
        paths = generate_mixed_label_sets(data_dir, num_per_source=args.num_per_source,
                                          num_test=args.num_test,
                                          image_size=args.image_size, seed=args.data_seed,
                                          progress=True)
        (data_dir / DATA_DONE).write_text('')
    return paths


def _pipelines(size: int, meta_keys: Sequence[str] = META_KEYS) -> Tuple[list, list]:
    """Train (flips) and test pipelines; the no-op Resize gives the meta a scale_factor."""
    load = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(size, size), keep_ratio=True)]
    train = [*load, dict(type='RandomFlip', prob=[0.25, 0.25],
                         direction=['horizontal', 'vertical']),
             dict(type='PackDetInputs', meta_keys=meta_keys)]
    return train, [*load, dict(type='PackDetInputs', meta_keys=meta_keys)]


def build_config(loss: str, seed: int, data: Dict[str, Path], run_dir: Path,
                 args: argparse.Namespace) -> Config:
    """RetinaNet light with ``loss`` on the union of the two sources, 2 classes.

    ``dghmc-clean`` is DGHM-C without ``partial_labels`` in the data samples: with
    ``partially_annotated=False`` every element is clean, which isolates what the status adds.
    """
    config = loss.split('-')[0]
    cfg = Config.fromfile(str(REPO / 'configs' / 'digestpath'
                              / f'retinanet_r18-light_fpn_{config}_digestpath.py'))
    cfg.work_dir = str(run_dir)
    cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.model.bbox_head.num_classes = len(CELL_CLASSES)
    # FROC needs the whole ranking: keep every box down to a tiny score.
    cfg.model.test_cfg.update(score_thr=1e-3, max_per_img=300)
    set_iter_schedule(cfg, iters=args.iters, lr=args.lr, warmup_iters=min(50, args.iters),
                      warmup_start=1e-3, milestones=[max(int(0.8 * args.iters), 1)],
                      grad_clip=35.0, log_interval=10, log_window=10)
    meta_keys = [k for k in META_KEYS if loss not in NO_STATUS or k != 'partial_labels']
    train_pipeline, _ = _pipelines(args.image_size, meta_keys)
    sources = [dict(type='PartialCocoDataset', ann_file=str(data[name]),
                    data_prefix=dict(img=str(data['images'])),
                    metainfo=dict(classes=(CELL_CLASSES[label], )))
               for label, name in enumerate(('source_src', 'source_eos'))]
    cfg.train_dataloader = dict(
        batch_size=args.batch_size, num_workers=0, persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(type='ClassUnionConcatDataset', classes=CELL_CLASSES, datasets=sources,
                     pipeline=train_pipeline))
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    return cfg


def heldout_loader_config(data: Dict[str, Path], image_size: int) -> dict:
    """The fully annotated held-out images, both classes."""
    return dict(batch_size=1, num_workers=0, persistent_workers=False,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dict(type='CocoDataset', ann_file=str(data['test']),
                             data_prefix=dict(img=str(data['images'])),
                             metainfo=dict(classes=CELL_CLASSES), test_mode=True,
                             pipeline=_pipelines(image_size)[1]))


def predict(model: torch.nn.Module, loader_cfg: dict) -> List[ImageResult]:
    """Predictions and ground truth of every held-out image, in original coordinates."""
    loader = Runner.build_dataloader(loader_cfg)
    model.eval()
    results = []
    bar = ProgressBar(len(loader))
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                pred, gt = sample.pred_instances, sample.gt_instances
                results.append((pred.bboxes.numpy(), pred.scores.numpy(), pred.labels.numpy(),
                                gt.bboxes.numpy(), gt.labels.numpy()))
            bar.update()
    return results


def class_measures(images: Sequence[ImageResult], label: int, fps: Sequence[float] = FPS,
                   iou_thr: float = IOU_THR, score_thr: float = SCORE_THR) -> Dict[str, float]:
    """Recall at ``score_thr`` and FROC of one class over fully annotated images.

    Args:
        images (Sequence[ImageResult]): Predictions and ground truth of each image.
        label (int): The class.
        fps (Sequence[float]): False positives per image averaged by FROC.
        iou_thr (float): Lowest IoU of a match. Defaults to 0.3.
        score_thr (float): Threshold of the recall. Defaults to 0.5.

    Returns:
        Dict[str, float]: ``recall``, ``froc`` and ``num_gt`` of the class.
    """
    scores, is_tp, num_gt = [], [], 0
    for boxes, pred_scores, labels, gt_boxes, gt_labels in images:
        mine = labels == label
        gt = gt_boxes[gt_labels == label]
        is_tp.append(greedy_match(boxes[mine], pred_scores[mine], gt, iou_thr) >= 0)
        scores.append(pred_scores[mine])
        num_gt += len(gt)
    scores, is_tp = np.concatenate(scores), np.concatenate(is_tp)
    _, fp_per_image, recall = froc_curve(scores, is_tp, num_gt, scores[~is_tp], len(images))
    return dict(recall=recall_at(scores, is_tp, num_gt, score_thr),
                froc=froc_score(fp_per_image, recall, fps), num_gt=num_gt)


def run_one(loss: str, seed: int, data: Dict[str, Path], args: argparse.Namespace,
            command: str) -> dict:
    """Train one loss and seed, measure it, write ``result.json``."""
    run_dir = args.work_dir / f'{loss}_seed{seed}'
    cfg = build_config(loss, seed, data, run_dir, args)
    runner = Runner.from_cfg(cfg)
    start = time.perf_counter()
    runner.train()
    train_time = time.perf_counter() - start
    images = predict(runner.model, heldout_loader_config(data, args.image_size))
    result = dict(loss=loss, seed=seed, command=command, iters=args.iters,
                  batch_size=args.batch_size, train_time_s=round(train_time, 1),
                  classes={name: class_measures(images, label)
                           for label, name in enumerate(CELL_CLASSES)},
                  finished=time.strftime('%Y-%m-%d %H:%M:%S'))
    (run_dir / RESULT_FILE).write_text(json.dumps(result, indent=2, allow_nan=True))
    return result


def load_results(work_dir: Path) -> List[dict]:
    """Every finished run's result under ``work_dir``, by loss then seed."""
    results = [json.loads(p.read_text()) for p in work_dir.glob(f'*/{RESULT_FILE}')]
    return sorted(results, key=lambda r: (LOSSES.index(r['loss']), r['seed']))


def report(results: Sequence[dict], report_command: str) -> str:
    """Markdown: the setup, every run, the mean over seeds of each loss, the commands."""
    setup = sorted({(r['iters'], r['batch_size']) for r in results})
    head = ['loss', 'seed'] + [f'{m} {c}' for c in CELL_CLASSES for m in ('recall', 'FROC')]
    lines = ['# Mixed label sets: two sources, one cell type each', '',
             'RetinaNet R-18 light from scratch on the union of `source_src` (every signet ring '
             'cell boxed, no eosinophil) and `source_eos` (the reverse), both cell types in '
             "every image; each source's unannotated class is partial in its images "
             '(`ClassUnionConcatDataset`), which only DGHM-C uses. Held-out images box both '
             f'types. Iterations x batch: {setup}. Per class: recall at score {SCORE_THR}, '
             f'FROC = mean recall at {FPS} false positives per held-out image, IoU >= '
             f'{IOU_THR}.', '',
             '| ' + ' | '.join(head) + ' | train s |', '|' + '---|' * (len(head) + 1)]
    for r in results:
        cells = [f'{r["classes"][c][m]:.3f}' for c in CELL_CLASSES for m in ('recall', 'froc')]
        lines.append(f'| {r["loss"]} | {r["seed"]} | ' + ' | '.join(cells)
                     + f' | {r["train_time_s"]:.0f} |')
    lines += ['', '| loss | runs | ' + ' | '.join(head[2:]) + ' | mean FROC |',
              '|' + '---|' * (len(head) + 1)]
    for loss in LOSSES:
        runs = [r for r in results if r['loss'] == loss]
        if not runs:
            continue
        means = [np.mean([r['classes'][c][m] for r in runs])
                 for c in CELL_CLASSES for m in ('recall', 'froc')]
        lines.append(f'| {loss} | {len(runs)} | ' + ' | '.join(f'{v:.3f}' for v in means)
                     + f' | {np.mean(means[1::2]):.3f} |')
    commands = sorted({r['command'] for r in results}) + [report_command]
    lines += ['', 'Made by:', '', '```', *commands, '```']
    return '\n'.join(lines) + '\n'


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    command = 'python -m benchmarks.mixed_labels ' + shlex.join(
        sys.argv[1:] if argv is None else argv)
    if not args.report_only:
        data = prepare_data(args)
        for loss in args.losses:
            for seed in args.seeds:
                if (args.work_dir / f'{loss}_seed{seed}' / RESULT_FILE).is_file():
                    print(f'mixed_labels: {loss} seed {seed} done, skipped')
                    continue
                run_one(loss, seed, data, args, command)
    if args.report:
        args.report.write_text(report(load_results(args.work_dir), command))
    return 0


if __name__ == '__main__':
    sys.exit(main())
