"""Offline self-training: a detector's confident detections become labels.

Runs a trained detector (any config; a PartialTeacher's too) over its training images and
selects detections as the in-training teacher does (``mmdet_dghm.structures.
select_pseudo_boxes``: only on the partially annotated images and classes, overlapping no
annotated box, confident ones as boxes, uncertain ones as ignored boxes). Two layouts:

- a COCO json (the config's training dataset reads ``--ann-file``, ``PartialCocoDataset`` for
  the status): the json is written again with the pseudo-boxes appended, each marked
  ``"pseudo": true`` with its ``"score"``, uncertain ones as crowd boxes that mmdet ignores;
  train the next round on the new file (``train_dataloader.dataset.ann_file``);
- DigestPath (the config's training dataset is ``DigestPathDataset``): whole images are
  detected tile by tile as the held-out evaluation does, and ``--out`` becomes a data root of
  the same layout: the images linked, each positive image's XML written with its pseudo-boxes
  as ``<object>`` s marked ``<pseudo>1</pseudo>`` with their ``<score>``. VOC XML has no
  ignored boxes: there ``--ignore-thr`` must equal ``--pos-thr``. Train the next round with
  ``data_root=OUT``.

A DigestPath training dataset with ``drop_rate > 0`` (a controlled missing rate) removes
boxes as it loads the XML files, which hold them all; labelling it needs
``--materialise-drop``, which writes what that dataset yields: OUT's XML files hold the kept
boxes only (and the pseudo-boxes), and ``OUT/removed_boxes.json`` the removed ones
(``mmdet_dghm.datasets.removed_boxes``), against which ``--summary`` scores the pseudo-boxes.
Train the next round with ``data_root=OUT, drop_rate=0`` (the dataset refuses to remove boxes
from such a root twice). Every positive image is written so, the held-out fold's too: score a
model on the original data root.

Example (two rounds on a COCO json)::

    python tools/train.py CONFIG --work-dir work_dirs/round0
    python tools/pseudo_label.py CONFIG work_dirs/round0/epoch_12.pth \
        --ann-file data/coco/annotations/train_partial.json --out data/round1.json
    python tools/train.py CONFIG --work-dir work_dirs/round1 \
        --cfg-options train_dataloader.dataset.ann_file=data/round1.json
    python tools/pseudo_label.py CONFIG work_dirs/round1/epoch_12.pth \
        --ann-file data/coco/annotations/train_partial.json --out data/round2.json

One round on DigestPath with 70% of the boxes removed (the training dataset's
``drop_rate=0.7``)::

    python tools/pseudo_label.py CONFIG work_dirs/round0/iter_5000.pth --out data/round1 \
        --pos-thr 0.4 --iou-thr 0.3 --max-per-annotated 2.33 --materialise-drop \
        --summary data/round1/pseudo_labels.json
    python tools/train.py CONFIG --work-dir work_dirs/round1 --cfg-options \
        train_dataloader.dataset.data_root=data/round1 train_dataloader.dataset.drop_rate=0
"""
import argparse
import copy
import dataclasses
import json
import os
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
from mmdet.apis import inference_detector, init_detector
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from mmengine.utils import ProgressBar, track_iter_progress

import mmdet_dghm  # noqa: F401  registers the plugin
from mmdet_dghm.datasets.removed_boxes import (
    REMOVED_BOXES_FILE,
    RemovedBoxes,
    write_removed_boxes,
)
from mmdet_dghm.datasets.voc_annotation import add_voc_pseudo_boxes, parse_voc_xml
from mmdet_dghm.fileio.coco_pseudo_labels import add_pseudo_annotations, count_pseudo_annotations
from mmdet_dghm.structures import (
    check_thresholds,
    merge_tile_predictions,
    pseudo_box_quality,
    select_pseudo_boxes,
)
from mmdet_dghm.structures.annotation_status import image_class_status
from mmdet_dghm.utils import allow_mmengine_checkpoint_globals

DIGESTPATH = 'DigestPathDataset'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Write a detector's confident detections "
                                     'into its training annotations as pseudo-boxes '
                                     '(mmdet-dghm)')
    parser.add_argument('config', help="the detector's config (its training dataset says "
                        'which images and which layout)')
    parser.add_argument('checkpoint', help="the detector's checkpoint")
    parser.add_argument('--out', required=True, help='the json to write (COCO), or the data '
                        'root to make (DigestPath)')
    parser.add_argument('--ann-file', help="COCO json to label (annotated boxes and status; "
                        "the original, not an earlier round's output); COCO layout only")
    parser.add_argument('--pos-thr', type=float, default=0.5,
                        help='lowest score of a pseudo-box (default 0.5)')
    parser.add_argument('--ignore-thr', type=float, default=None,
                        help='lowest score of an ignored (crowd) box (default: --pos-thr, '
                        'none)')
    parser.add_argument('--iou-thr', type=float, default=0.5,
                        help='IoU with an annotated box from which a detection is that box')
    parser.add_argument('--max-per-annotated', type=float, default=None,
                        help='at most this many pseudo-boxes per annotated box of a class in '
                        'an image (m / (1 - m) for a missing rate m; default: no bound)')
    parser.add_argument('--materialise-drop', action='store_true',
                        help='DigestPath with drop_rate > 0: write the kept boxes only into '
                        "OUT's XML and the removed ones into OUT/removed_boxes.json (train on "
                        'OUT with drop_rate=0); refused without it')
    parser.add_argument('--summary', help='write the counts to this json, and where the '
                        "removed boxes are known (DigestPath), the pseudo-boxes' precision "
                        'and recall against them')
    parser.add_argument('--match-iou-thr', type=float, default=0.5,
                        help='IoU from which a pseudo-box is on a removed box (--summary)')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='tiles per forward pass (DigestPath)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    args = parser.parse_args(argv)
    if args.ignore_thr is None:
        args.ignore_thr = args.pos_thr
    try:
        check_thresholds(args.pos_thr, args.ignore_thr, args.iou_thr)
    except ValueError as error:
        parser.error(str(error))
    return args


def _status_row(meta: dict, annotated: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(C,) bool: the classes that may have unboxed instances in the image (its metainfo or
    data info read as the heads read it)."""
    return image_class_status([meta], [InstanceData(bboxes=annotated)], num_classes,
                              torch.device('cpu'))[0]


def label_coco(args: argparse.Namespace, cfg: Config, model) -> Tuple[str, dict]:
    """Pseudo-boxes of a COCO json (see the module doc); returns the summary line and the
    counts."""
    if not args.ann_file:
        raise ValueError(f'{cfg.filename}: a COCO-layout dataset needs --ann-file')
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    if 'ann_file' not in dataset_cfg:
        raise ValueError(f'{cfg.filename}: the training dataset {dataset_cfg.get("type")} '
                         'reads no COCO json (ann_file)')
    dataset_cfg.update(ann_file=args.ann_file, pipeline=[], test_mode=True, lazy_init=False)
    dataset = DATASETS.build(dataset_cfg)
    num_classes = len(dataset.metainfo['classes'])
    cat_ids = np.asarray(dataset.cat_ids)
    image_ids, boxes, scores, categories, ignored = [], [], [], [], []
    for index in track_iter_progress(range(len(dataset))):
        info = dataset.get_data_info(index)
        annotated = torch.tensor([inst['bbox'] for inst in info['instances']],
                                 dtype=torch.float32).view(-1, 4)
        status = _status_row(info, annotated, num_classes)
        if not status.any():
            continue  # exhaustively annotated: nothing is missing
        pred = inference_detector(model, info['img_path']).pred_instances.cpu()
        annotated_labels = torch.tensor([inst['bbox_label'] for inst in info['instances']
                                         if not inst.get('ignore_flag')], dtype=torch.long)
        chosen = select_pseudo_boxes(pred.bboxes, pred.scores, pred.labels, annotated, status,
                                     pos_thr=args.pos_thr, ignore_thr=args.ignore_thr,
                                     iou_thr=args.iou_thr, annotated_labels=annotated_labels,
                                     max_per_annotated=args.max_per_annotated)
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
    return (f'{args.out}: {counts["positive"]} pseudo-boxes and {counts["ignored"]} ignored '
            f'boxes on {len(set(image_ids))} of {len(dataset)} images',
            dict(layout='coco', images_with_pseudo_boxes=len(set(image_ids)),
                 pseudo_boxes=counts['positive'], pseudo_ignored=counts['ignored']))


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    os.symlink(source.resolve(), target)


def _check_drop(args: argparse.Namespace, cfg: Config, train: dict) -> float:
    """The training dataset's drop rate, refused unless ``--materialise-drop`` matches it."""
    drop_rate = train.get('drop_rate', 0)
    if drop_rate > 0 and not args.materialise_drop:
        raise ValueError(
            f'{cfg.filename}: the training dataset removes {drop_rate:.0%} of the boxes of '
            f'each positive image as it loads them (drop_rate={drop_rate}, drop_seed='
            f'{train.get("drop_seed", 0)}); the XML files hold them all, and pseudo-boxes '
            'written beside them would hand the next round the removed boxes. Pass '
            "--materialise-drop to write OUT's XML with the kept boxes only (the removed ones "
            'into OUT/removed_boxes.json), then train on OUT with drop_rate=0')
    if args.materialise_drop and not drop_rate > 0:
        raise ValueError(f'{cfg.filename}: --materialise-drop, but the training dataset '
                         'removes no boxes (drop_rate=0)')
    return drop_rate


def _pseudo_boxes_of(xml: Path, classes) -> np.ndarray:
    """(P, 4) the pseudo-boxes an XML file holds."""
    annotation = parse_voc_xml(xml, classes)
    return annotation.bboxes[annotation.pseudo]


def _pseudo_on_negatives(out: Path, neg_dirs: List[str], classes) -> int:
    """Pseudo-boxes in the XML files of OUT's negative (exhaustively annotated) folders, where
    the dataset reads none; counted from the written files."""
    files = [xml for folder in neg_dirs
             for xml_dir in (out / folder, out / f'{folder}-xml') if xml_dir.is_dir()
             for xml in sorted(xml_dir.glob('*.xml'))]
    return sum(len(_pseudo_boxes_of(xml, classes)) for xml in files)


def label_digestpath(args: argparse.Namespace, cfg: Config, model) -> Tuple[str, dict]:
    """Pseudo-boxes of a DigestPath layout (see the module doc); returns the summary line and
    the counts."""
    if args.ignore_thr != args.pos_thr:
        raise ValueError('DigestPath VOC XML has no ignored boxes: give --ignore-thr equal to '
                         '--pos-thr (uncertain detections then stay unlabelled)')
    train = copy.deepcopy(cfg.train_dataloader.dataset)
    drop_rate = _check_drop(args, cfg, train)
    val = cfg.val_dataloader.dataset
    # The positive training images (negatives are exhaustive), tiled whole as the held-out
    # evaluation tiles them.
    neg_dirs = list(train.get('neg_dirs', ['sig-train-neg']))
    train.update(test_mode=True, pipeline=val.pipeline, tile_size=val.tile_size,
                 tile_stride=val.tile_stride, neg_dirs=[], lazy_init=False)
    dataset = DATASETS.build(train)
    root = Path(dataset.data_root)
    tiles: Dict[str, list] = defaultdict(list)
    progress = ProgressBar(len(dataset))
    for start in range(0, len(dataset), args.batch_size):
        batch = pseudo_collate([dataset[i] for i in range(start, min(start + args.batch_size,
                                                                       len(dataset)))])
        with torch.no_grad():
            for sample in model.test_step(batch):
                pred = sample.pred_instances.cpu()
                tiles[str(sample.src_img_path)].append((sample, pred))
                progress.update()
    out = Path(args.out)
    for folder in neg_dirs:
        for image in sorted((root / folder).iterdir()):
            _link(image, out / image.relative_to(root))
    # A root whose removal is written already (an earlier --materialise-drop) passes it on.
    earlier = dataset.written_removal
    removed: Dict[str, np.ndarray] = {}
    labelled: List[Tuple[str, Path]] = []
    total = 0
    for source in dataset.scan_sources():
        relative = source.path.relative_to(root)
        _link(source.path, out / relative)
        target = out / relative.with_suffix('.xml')
        boxes = dataset.source_boxes(source)
        removed[source.path.name] = boxes.removed
        parts = tiles.get(str(source.path))
        if not parts:  # another fold's image: its XML as the dataset reads it
            add_voc_pseudo_boxes(source.xml_path, target, np.zeros((0, 4)), np.zeros(0), [],
                                 remove_objects=boxes.removed_objects)
            continue
        meta = parts[0][0].metainfo
        bboxes, scores = merge_tile_predictions([p.bboxes.numpy() for _, p in parts],
                                                [p.scores.numpy() for _, p in parts],
                                                [s.tile_origin for s, _ in parts])
        annotated = torch.as_tensor(np.asarray(meta['src_gt_bboxes'],
                                               dtype=np.float32)).view(-1, 4)
        chosen = select_pseudo_boxes(torch.as_tensor(bboxes), torch.as_tensor(scores),
                                     torch.zeros(len(scores), dtype=torch.long),
                                     annotated,
                                     _status_row(meta, annotated, 1),
                                     pos_thr=args.pos_thr, ignore_thr=args.ignore_thr,
                                     iou_thr=args.iou_thr,
                                     annotated_labels=torch.zeros(len(annotated), dtype=torch.long),
                                     max_per_annotated=args.max_per_annotated)
        keep = chosen.positive.numpy()
        # Tiles are in the dataset's scaled pixels; the XML in the image's own.
        total += add_voc_pseudo_boxes(
            source.xml_path, target, bboxes[keep] / dataset.scale, scores[keep],
            [dataset.metainfo['classes'][0]] * int(keep.sum()),
            remove_objects=boxes.removed_objects)
        labelled.append((source.path.name, target))
    classes = dataset.metainfo['classes']
    summary = dict(layout='digestpath', images=len(labelled), pseudo_boxes=total,
                   pseudo_on_exhaustive=_pseudo_on_negatives(out, neg_dirs, classes),
                   materialised_drop=bool(args.materialise_drop), quality=None)
    text = f'{out}: {total} pseudo-boxes on {len(tiles)} positive images'
    if args.materialise_drop or earlier is not None:
        # A root removed from earlier passes on where the boxes were removed first.
        removal = dataclasses.replace(earlier, boxes=removed) if earlier is not None else \
            RemovedBoxes(boxes=removed, drop_rate=drop_rate,
                         drop_seed=train.get('drop_seed', 0), source=str(root))
        written = write_removed_boxes(out, removal)
        summary['quality'] = pseudo_box_quality(
            [_pseudo_boxes_of(xml, classes) for _, xml in labelled],
            [removed[name] for name, _ in labelled], iou_thr=args.match_iou_thr)
        text += (f'; {sum(map(len, removed.values()))} boxes removed (drop_rate '
                 f'{removal.drop_rate}, drop_seed {removal.drop_seed}) are left out of its XML '
                 f'files and listed in {written}: train on {out} with drop_rate=0')
    elif (out / REMOVED_BOXES_FILE).is_file():
        (out / REMOVED_BOXES_FILE).unlink()  # an earlier run's into the same folder
    return text, summary


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    allow_mmengine_checkpoint_globals()
    model = init_detector(cfg, args.checkpoint, device=args.device)
    digestpath = cfg.train_dataloader.dataset.get('type') == DIGESTPATH
    if args.materialise_drop and not digestpath:
        raise ValueError(f'{cfg.filename}: --materialise-drop is for a DigestPathDataset '
                         'training dataset (drop_rate)')
    text, summary = (label_digestpath if digestpath else label_coco)(args, cfg, model)
    if args.summary:
        summary.update(config=cfg.filename, checkpoint=args.checkpoint, out=args.out,
                       pos_thr=args.pos_thr, ignore_thr=args.ignore_thr, iou_thr=args.iou_thr,
                       max_per_annotated=args.max_per_annotated)
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(json.dumps(summary, indent=2))
    print(text)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
