"""Two optimiser steps of each Decoupled family's whole detector with given classification losses.

Each family is its one-line swap config of ``configs/dghmc_swap`` (the stock mmdet detector with
its Decoupled heads), the swapped losses replaced by the losses under test and the network
shrunk (ResNet-18 at 8 base channels, or YOLOX's and RTMDet's backbones at an eighth of their
width, 32-channel neck and heads, one encoder and two decoder layers for DINO, 64 sampled RoIs)
so that a step takes a fraction of a second on one CPU thread. The
model is built through mmdet's registry and trained through its own data preprocessor,
``loss`` and ``parse_losses`` on the boxes of ``test_decoupled_heads`` (three 64 px images,
two boxes each; statuses: every class partial, class 1 partial, exhaustive), so a loss
declaring ``partial`` sees noisy, clean and positive elements in every family.
"""
import copy
import functools
import json
import warnings
from pathlib import Path
from typing import List

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from test_decoupled_heads import BOXES, IMG, METAS, NUM_CLASSES
from torch import nn

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.models.status_aware_head import loss_accepts_partial
from mmdet_dghm.structures.annotation_status import StatusFallbackWarning

SWAP_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'dghmc_swap'
#: family: its swap config and the model paths of the classification losses it makes
#: status-aware, each with the log key (a substring) of its values.
FAMILIES = {
    'retinanet': ('retinanet_r50_fpn_dghmc_1x_coco.py', [('bbox_head', 'loss_cls')]),
    'fcos': ('fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py', [('bbox_head', 'loss_cls')]),
    'atss': ('atss_r50_fpn_dghmc_1x_coco.py', [('bbox_head', 'loss_cls')]),
    'faster-rcnn': ('faster-rcnn_r50_fpn_dghmc_1x_coco.py',
                    [('rpn_head', 'loss_rpn_cls'), ('roi_head.bbox_head', 'loss_cls')]),
    'cascade-rcnn': ('cascade-rcnn_r50_fpn_dghmc_1x_coco.py',
                     [('rpn_head', 'loss_rpn_cls'), ('roi_head', 'loss_cls')]),
    'dino': ('dino-4scale_r50_dghmc_8xb2-12e_coco.py', [('bbox_head', 'loss_cls')]),
    'yolox': ('yolox_s_dghmc_8xb8-300e_coco.py', [('bbox_head', 'loss_obj')]),
    'rtmdet': ('rtmdet_tiny_dghmc_8xb32-300e_coco.py', [('bbox_head', 'loss_cls')]),
}
#: The loss attribute of a path's module: YOLOX's negatives are in its objectness.
LOSS_ATTR = {'yolox': 'loss_obj'}
WIDTH = 32  # neck and dense head channels: a multiple of the 32 GroupNorm groups of FCOS
LABELS = (0, 2)
#: The statuses of the batch: those of ``test_decoupled_heads``, or every image exhaustive.
STATUSES = {'mixed': METAS,
            'exhaustive': [dict(partially_annotated=False, partial_labels=[])] * len(METAS)}


@functools.lru_cache(maxsize=None)
def swap_config(family: str) -> Config:
    return Config.fromfile(str(SWAP_DIR / FAMILIES[family][0]))


def shrink_transformer(model: ConfigDict) -> None:
    """DINO with one encoder and two decoder layers, 20 queries and 8 denoising queries.

    The width stays 256: mmdet's DINO decoder encodes reference points with a fixed 128
    features per coordinate (``coordinate_to_encoding``) into a 2 * embed_dims input.
    """
    model.num_queries = 20
    model.dn_cfg.group_cfg.num_dn_queries = 8
    model.encoder.num_layers = 1
    model.decoder.num_layers = 2
    for part in (model.encoder, model.decoder):
        part.layer_cfg.ffn_cfg.feedforward_channels = 256


def roi_form(path: str, loss: dict) -> ConfigDict:
    """``loss`` for the module at ``path``: in its RoI form on an RoI head's classifier."""
    if path.startswith('roi_head') and loss_accepts_partial(MODELS.get(loss['type'])):
        return ConfigDict(loss, roi_classifier=True)
    return ConfigDict(loss)


def tiny_model(family: str, losses: List[dict]) -> ConfigDict:
    """The family's swap model with ``losses`` (one per status path) and a tiny network."""
    model = copy.deepcopy(swap_config(family).model)
    attr = LOSS_ATTR.get(family, 'loss_cls')
    for (path, _), loss in zip(FAMILIES[family][1], losses):
        node = model
        for key in path.split('.'):
            node = node[key]
        node[attr] = roi_form(path, loss)
    model.data_preprocessor.pop('batch_augments', None)
    if model.backbone.type == 'ResNet':
        model.backbone.update(depth=18, base_channels=8, init_cfg=None)
        model.neck.in_channels = [8 * 2 ** i for i in model.backbone.out_indices]
    else:  # CSPNeXt (RTMDet), CSPDarknet (YOLOX) at an eighth of their width
        model.backbone.update(widen_factor=0.125, deepen_factor=0.33, init_cfg=None)
        model.neck.in_channels = [int(c * 0.125) for c in (256, 512, 1024)]
        model.neck.update(num_csp_blocks=1)
        if family == 'rtmdet':
            model.neck.expand_ratio = 0.5
    classifiers = model.roi_head.bbox_head if 'roi_head' in model else model.bbox_head
    for classifier in classifiers if isinstance(classifiers, list) else [classifiers]:
        classifier.num_classes = NUM_CLASSES
    if family == 'dino':
        shrink_transformer(model)
        return model
    model.neck.out_channels = WIDTH
    dense = model.rpn_head if 'roi_head' in model else model.bbox_head
    dense.update(in_channels=WIDTH, feat_channels=WIDTH)
    if 'roi_head' in model:
        roi = model.roi_head
        roi.bbox_roi_extractor.out_channels = WIDTH
        for head in roi.bbox_head if isinstance(roi.bbox_head, list) else [roi.bbox_head]:
            head.update(in_channels=WIDTH, fc_out_channels=WIDTH)
        model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
        for rcnn in model.train_cfg.rcnn if isinstance(model.train_cfg.rcnn, list) \
                else [model.train_cfg.rcnn]:
            rcnn.sampler.num = 64
    else:
        model.bbox_head.stacked_convs = 1
    return model


def batch(statuses: str, seed: int = 0) -> dict:
    """Three random images with two boxes each and the metainfo of ``STATUSES[statuses]``."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for index, status in enumerate(STATUSES[statuses]):
        inputs.append(torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8, generator=gen))
        sample = DetDataSample(metainfo=dict(img_id=index, img_shape=(IMG, IMG),
                                             ori_shape=(IMG, IMG), scale_factor=(1.0, 1.0),
                                             **status))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(BOXES),
                                           labels=torch.tensor(LABELS))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def classification_grads(head: nn.Module) -> List[torch.Tensor]:
    return [p.grad for name, p in head.named_parameters() if 'cls' in name and p.grad is not None]


@functools.lru_cache(maxsize=None)
def train_cached(family: str, losses_json: str, statuses: str, seed: int) -> tuple:
    losses = json.loads(losses_json)
    log_keys = [key for _, key in FAMILIES[family][1]]
    torch.manual_seed(seed)
    # The data preprocessor is built through mmengine's registry: needs mmdet's scope.
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = revert_sync_batchnorm(MODELS.build(tiny_model(family, losses)))
    model.init_weights()  # DINO allocates some parameters uninitialised
    model.train()
    heads = [model.get_submodule(path) for path, _ in FAMILIES[family][1]]
    owners = [type(model.get_submodule(path.split('.')[0])).__name__
              for path, _ in FAMILIES[family][1]]
    assert all(owner.startswith('Decoupled') for owner in owners), owners
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    values = []
    for step in range(2):
        torch.manual_seed(seed + step)  # samplers and DINO's denoising noise
        optimizer.zero_grad()
        data = model.data_preprocessor(batch(statuses, seed), True)
        with warnings.catch_warnings():
            # The status must come from the metainfo, not from the has-a-box fallback.
            warnings.simplefilter('error', StatusFallbackWarning)
            loss_dict = model(**data, mode='loss')
        loss, log_vars = model.parse_losses(loss_dict)
        cls_total = sum(value for key, value in log_vars.items()
                        if any(log_key in key for log_key in log_keys))
        assert torch.isfinite(loss) and torch.isfinite(cls_total), (family, log_vars)
        loss.backward()
        grads = [grad for head in heads for grad in classification_grads(head)]
        assert grads and all(bool(torch.isfinite(g).all()) for g in grads), family
        assert sum(float(g.abs().sum()) for g in grads) > 0, family
        optimizer.step()
        values.append(float(cls_total.detach()))
    return tuple(values)


def train_two_iterations(family: str, losses: List[dict], statuses: str = 'mixed',
                         seed: int = 0) -> List[float]:
    """Two SGD steps of the family's tiny detector with ``losses`` on its status paths.

    Every step back-propagates the detector's whole loss; the Decoupled heads' classification
    layers must get a finite, non-zero gradient, which the step applies. Runs are cached per
    argument: they are deterministic, and the stock loss is every test's reference.

    Args:
        family (str): A key of :data:`FAMILIES`.
        losses (list[dict]): The loss config of each of the family's status paths (an RoI
            head's status-aware loss is built in its RoI form).
        statuses (str): A key of :data:`STATUSES`. Defaults to ``'mixed'``.
        seed (int): Seed of the weights, the images and the samplers. Defaults to 0.

    Returns:
        list[float]: The classification loss of the swapped heads (all their entries, e.g.
        every decoder layer, stage, the encoder and the denoising queries) before each step.
    """
    return list(train_cached(family, json.dumps(losses, sort_keys=True), statuses, seed))
