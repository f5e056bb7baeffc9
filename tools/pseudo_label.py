"""Offline self-training: a detector's confident detections become labels of a COCO json.

Runs a trained detector (any config; a PartialTeacher export too) over the images of a COCO
json read by the config's training dataset class (``PartialCocoDataset`` for the status),
selects detections as the in-training teacher does (``mmdet_dghm.structures.
select_pseudo_boxes``: only on the partially annotated images and classes, overlapping no
annotated box, confident ones as boxes, uncertain ones as crowd boxes that mmdet ignores) and
writes the json again with the pseudo-boxes appended, each marked ``"pseudo": true`` with its
``"score"``. Train the next round on the new file (``train_dataloader.dataset.ann_file``).

Example (two rounds)::

    python tools/train.py CONFIG --work-dir work_dirs/round0
    python tools/pseudo_label.py CONFIG work_dirs/round0/epoch_12.pth \
        --ann-file data/coco/annotations/train_partial.json --out data/round1.json
    python tools/train.py CONFIG --work-dir work_dirs/round1 \
        --cfg-options train_dataloader.dataset.ann_file=data/round1.json
    python tools/pseudo_label.py CONFIG work_dirs/round1/epoch_12.pth \
        --ann-file data/coco/annotations/train_partial.json --out data/round2.json
"""
import argparse
import copy
import json
from pathlib import Path
from typing import List, Optional

import numpy as np
import torch
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import track_iter_progress

import mmdet_dghm  # noqa: F401  registers the plugin
from mmdet_dghm.fileio.coco_pseudo_labels import add_pseudo_annotations, count_pseudo_annotations
from mmdet_dghm.structures import check_thresholds, select_pseudo_boxes
from mmdet_dghm.utils import allow_mmengine_checkpoint_globals


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a detector's confident detections "
                                     'into a COCO json as pseudo-boxes (mmdet-dghm)')
    parser.add_argument('config', help="the detector's config (its training dataset reads "
                        'the json)')
    parser.add_argument('checkpoint', help="the detector's checkpoint")
    parser.add_argument('--ann-file', required=True, help='COCO json to label (annotated '
                        "boxes and status; the original, not an earlier round's output)")
    parser.add_argument('--out', required=True, help='the json to write')
    parser.add_argument('--pos-thr', type=float, default=0.5,
                        help='lowest score of a pseudo-box (default 0.5)')
    parser.add_argument('--ignore-thr', type=float, default=None,
                        help='lowest score of an ignored (crowd) box (default: --pos-thr, '
                        'none)')
    parser.add_argument('--iou-thr', type=float, default=0.5,
                        help='IoU with an annotated box from which a detection is that box')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    if args.ignore_thr is None:
        args.ignore_thr = args.pos_thr
    try:
        check_thresholds(args.pos_thr, args.ignore_thr, args.iou_thr)
    except ValueError as error:
        parser.error(str(error))
    return args


def _dataset(cfg: Config, ann_file: str):
    """The config's training dataset over ``ann_file``: annotations and status, no pipeline."""
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    if 'ann_file' not in dataset_cfg:
        raise ValueError(f'{cfg.filename}: the training dataset {dataset_cfg.get("type")} '
                         'reads no COCO json (ann_file)')
    dataset_cfg.update(ann_file=ann_file, pipeline=[], test_mode=True, lazy_init=False)
    return DATASETS.build(dataset_cfg)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = _dataset(cfg, args.ann_file)
    allow_mmengine_checkpoint_globals()
    model = init_detector(cfg, args.checkpoint, device=args.device)
    num_classes = len(dataset.metainfo['classes'])
    cat_ids = np.asarray(dataset.cat_ids)
    image_ids, boxes, scores, categories, ignored = [], [], [], [], []
    for index in track_iter_progress(range(len(dataset))):
        info = dataset.get_data_info(index)
        status = torch.zeros(num_classes, dtype=torch.bool)
        status[list(info.get('partial_labels', []))] = True
        status |= bool(info.get('partially_annotated', False))
        if not status.any():
            continue  # exhaustively annotated: nothing is missing
        pred = inference_detector(model, info['img_path']).pred_instances.cpu()
        annotated = torch.tensor([inst['bbox'] for inst in info['instances']],
                                 dtype=torch.float32).view(-1, 4)
        chosen = select_pseudo_boxes(pred.bboxes, pred.scores, pred.labels, annotated, status,
                                     pos_thr=args.pos_thr, ignore_thr=args.ignore_thr,
                                     iou_thr=args.iou_thr)
        keep = chosen.positive | chosen.ignored
        image_ids += [info['img_id']] * int(keep.sum())
        boxes.append(pred.bboxes[keep].numpy())
        scores.append(pred.scores[keep].numpy())
        categories.append(cat_ids[pred.labels[keep].numpy()])
        ignored.append(chosen.ignored[keep].numpy())
    coco = json.loads(Path(args.ann_file).read_text())
    out = add_pseudo_annotations(
        coco, image_ids, np.concatenate(boxes) if boxes else np.zeros((0, 4)),
        np.concatenate(scores) if scores else np.zeros(0),
        np.concatenate(categories) if categories else np.zeros(0, dtype=int),
        np.concatenate(ignored) if ignored else np.zeros(0, dtype=bool))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out))
    counts = count_pseudo_annotations(out)
    print(f'{args.out}: {counts["positive"]} pseudo-boxes and {counts["ignored"]} ignored '
          f'boxes on {len(set(image_ids))} of {len(dataset)} images')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
