"""Two optimiser steps of each Decoupled family's whole detector with a given classification loss.

Each family is its one-line swap config of ``configs/dghmc_swap`` (the stock mmdet detector with
its Decoupled head), the swapped ``loss_cls`` replaced by the loss under test and the network
shrunk (ResNet-18 at 8 base channels, 32-channel neck and dense heads, one encoder and two
decoder layers for DINO) so that a step takes a fraction of a second on one CPU thread. The
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
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData
from test_decoupled_heads import BOXES, IMG, METAS, NUM_CLASSES
from torch import nn

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.structures.annotation_status import StatusFallbackWarning

SWAP_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'dghmc_swap'
#: family: swap config, the model key of its Decoupled head, the key part of its
#: classification losses (the RoI head of Faster R-CNN keeps its own softmax ``loss_cls``).
FAMILIES = {
    'retinanet': ('retinanet_r50_fpn_dghmc_1x_coco.py', 'bbox_head', 'loss_cls'),
    'fcos': ('fcos_r50-caffe_fpn_gn-head_dghmc_1x_coco.py', 'bbox_head', 'loss_cls'),
    'atss': ('atss_r50_fpn_dghmc_1x_coco.py', 'bbox_head', 'loss_cls'),
    'faster-rcnn': ('faster-rcnn_r50_fpn_dghmc-rpn_1x_coco.py', 'rpn_head', 'loss_rpn_cls'),
    'dino': ('dino-4scale_r50_dghmc_8xb2-12e_coco.py', 'bbox_head', 'loss_cls'),
}
#: The stock classification loss each family's swap config replaces.
STOCK_LOSS = {family: dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)
              for family in FAMILIES}
STOCK_LOSS['faster-rcnn'] = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
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


def tiny_model(family: str, loss_cls: dict) -> ConfigDict:
    """The family's swap model with ``loss_cls`` and a tiny network, on ``NUM_CLASSES``."""
    model = copy.deepcopy(swap_config(family).model)
    head_key = FAMILIES[family][1]
    model[head_key].loss_cls = ConfigDict(loss_cls)
    model.backbone.update(depth=18, base_channels=8, init_cfg=None)
    model.neck.in_channels = [8 * 2 ** i for i in model.backbone.out_indices]
    classifier = model.roi_head.bbox_head if family == 'faster-rcnn' else model.bbox_head
    classifier.num_classes = NUM_CLASSES
    if family == 'dino':
        shrink_transformer(model)
        return model
    model.neck.out_channels = WIDTH
    model[head_key].update(in_channels=WIDTH, feat_channels=WIDTH)
    if family == 'faster-rcnn':
        model.roi_head.bbox_roi_extractor.out_channels = WIDTH
        model.roi_head.bbox_head.update(in_channels=WIDTH, fc_out_channels=WIDTH)
        model.train_cfg.rpn_proposal.update(nms_pre=200, max_per_img=100)
        model.train_cfg.rcnn.sampler.num = 64
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
def train_cached(family: str, loss_json: str, statuses: str, seed: int) -> tuple:
    _, head_key, cls_key = FAMILIES[family]
    loss_cls = json.loads(loss_json)
    torch.manual_seed(seed)
    # The data preprocessor is built through mmengine's registry: needs mmdet's scope.
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(tiny_model(family, loss_cls))
    model.init_weights()  # DINO allocates some parameters uninitialised
    model.train()
    head = getattr(model, head_key)
    assert type(head).__name__.startswith('Decoupled'), type(head)
    assert type(head.loss_cls).__name__ == loss_cls['type']
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    values = []
    for step in range(2):
        torch.manual_seed(seed + step)  # samplers and DINO's denoising noise
        optimizer.zero_grad()
        data = model.data_preprocessor(batch(statuses, seed), True)
        with warnings.catch_warnings():
            # The status must come from the metainfo, not from the has-a-box fallback.
            warnings.simplefilter('error', StatusFallbackWarning)
            losses = model(**data, mode='loss')
        loss, log_vars = model.parse_losses(losses)
        cls_total = sum(value for key, value in log_vars.items() if cls_key in key)
        assert torch.isfinite(loss) and torch.isfinite(cls_total), (family, log_vars)
        loss.backward()
        grads = classification_grads(head)
        assert grads and all(bool(torch.isfinite(g).all()) for g in grads), family
        assert sum(float(g.abs().sum()) for g in grads) > 0, family
        optimizer.step()
        values.append(float(cls_total.detach()))
    return tuple(values)


def train_two_iterations(family: str, loss_cls: dict, statuses: str = 'mixed',
                         seed: int = 0) -> List[float]:
    """Two SGD steps of the family's tiny detector with ``loss_cls``.

    Every step back-propagates the detector's whole loss; the Decoupled head's classification
    layers must get a finite, non-zero gradient, which the step applies. Runs are cached per
    argument: they are deterministic, and the stock loss is every test's reference.

    Args:
        family (str): A key of :data:`FAMILIES`.
        loss_cls (dict): Config of the Decoupled head's classification loss.
        statuses (str): A key of :data:`STATUSES`. Defaults to ``'mixed'``.
        seed (int): Seed of the weights, the images and the samplers. Defaults to 0.

    Returns:
        list[float]: The classification loss of the swapped head (all its entries, e.g. every
        decoder layer, the encoder and the denoising queries of DINO) before each step.
    """
    return list(train_cached(family, json.dumps(loss_cls, sort_keys=True), statuses, seed))
