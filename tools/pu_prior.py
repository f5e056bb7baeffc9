"""Measure PU's class prior for an anchor head whose targets are sampled (the RPN).

``PULoss(missing_rate=m)`` derives the prior from the counts of each loss call; an RPN's
sampler keeps 256 of tens of thousands of anchors per image, half of them positive where it
can, so those counts overstate the labeled positives many times over (see
``mmdet_dghm.apis.pu_prior``). This tool counts, with the head's own anchors and assigner and
before its sampler, the labeled positive and the background anchors of the partially
annotated images of the config's training data, and prints pi = m / (1 - m) * n_P / n_U to
set as a fixed ``prior``.

Example (the RPN of a Faster R-CNN on DigestPath, 70% of the cells unannotated)::

    python tools/pu_prior.py configs/digestpath/faster-rcnn_r18-light_fpn_pu_digestpath.py \
        --missing-rate 0.7 --num-samples 200
    # then: model.rpn_head.loss_cls: prior=<printed value> in place of missing_rate
"""
import argparse
from typing import List, Optional

import numpy as np
import torch
from mmdet.registry import DATASETS, MODELS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.utils import track_iter_progress

import mmdet_dghm  # noqa: F401  registers the plugin
from mmdet_dghm.apis.pu_prior import measure_anchor_prior

HEAD_KEYS = ('rpn_head', 'bbox_head')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a detector config with a status-aware anchor head')
    parser.add_argument('--missing-rate', type=float, required=True,
                        help='m: the share of objects left unannotated in the partially '
                        'annotated images')
    parser.add_argument('--head', choices=HEAD_KEYS, default=None,
                        help='the head to measure (default: rpn_head if the model has one)')
    parser.add_argument('--num-samples', type=int, default=200,
                        help='training samples drawn (with the training pipeline)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as in tools/train.py')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if not 0 <= args.missing_rate < 1:
        raise SystemExit(f'pu_prior: --missing-rate must be in [0, 1), got {args.missing_rate}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    head_key = args.head or next((k for k in HEAD_KEYS if cfg.model.get(k)), None)
    if head_key is None or not cfg.model.get(head_key):
        raise SystemExit(f'pu_prior: {args.config} has no {args.head or " or ".join(HEAD_KEYS)}')
    if cfg.model.get('backbone'):
        cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    head = getattr(model, head_key)
    for attr in ('prior_generator', 'assigner', 'annotation_status'):
        if not hasattr(head, attr):
            raise SystemExit(f'pu_prior: {args.config}: {head_key} ({type(head).__name__}) has '
                             f'no {attr}; the tool measures status-aware anchor heads built '
                             'with their train_cfg (DecoupledRPNHead, DecoupledRetinaHead)')
    num_classes = 1 if getattr(head, 'class_agnostic', False) else head.num_classes
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    indices = rng.choice(len(dataset), size=min(args.num_samples, len(dataset)), replace=False)
    divisor = model.data_preprocessor.pad_size_divisor
    samples = (dataset[int(i)] for i in indices)
    counts = measure_anchor_prior(head, track_iter_progress((samples, len(indices))),
                                  num_classes, divisor)
    prior = counts.prior(args.missing_rate)
    print(f'\n{args.config}: {head_key} ({type(head).__name__}), {counts.num_images} training '
          f'samples, missing rate {args.missing_rate}')
    classes = (['objectness'] if num_classes == 1
               else list(dataset.metainfo.get('classes', range(num_classes))))
    for name, n_pos, n_unl, pi in zip(classes, counts.num_positive.tolist(),
                                      counts.num_unlabeled.tolist(), prior.tolist()):
        print(f'  {name}: labeled positive anchors {n_pos:.0f}, background anchors {n_unl:.0f} '
              f'in partial images -> prior {pi:.4g}')
    rounded = [float(f'{pi:.4g}') for pi in prior.tolist()]
    print(f'set: model.{head_key}.loss_cls: prior={rounded[0] if num_classes == 1 else rounded} '
          '(in place of missing_rate)')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
