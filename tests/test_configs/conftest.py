"""Fixtures for the config tests: one optimiser step of a config's model on generated data."""
import copy
from typing import Callable, Dict, List, Optional

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData

import mmdet_dghm  # noqa: F401  (registration)

IMG = 96  # a multiple of the FPN's largest stride divisor 32: no padding


def generated_batch(partial_flags: List[Optional[bool]], boxes_on: List[int],
                    seed: int = 0) -> dict:
    """Random images with metainfo ``partially_annotated`` (omitted where None).

    Images whose index is in ``boxes_on`` get two ground-truth boxes, the others none.
    """
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for index, flag in enumerate(partial_flags):
        inputs.append(torch.randint(0, 256, (3, IMG, IMG), dtype=torch.uint8, generator=gen))
        meta = dict(img_shape=(IMG, IMG), ori_shape=(IMG, IMG), scale_factor=(1.0, 1.0))
        if flag is not None:
            meta['partially_annotated'] = flag
        sample = DetDataSample(metainfo=meta)
        boxes = [[8.0, 10.0, 30.0, 33.0], [50.0, 40.0, 80.0, 72.0]] if index in boxes_on else []
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture
def make_batch() -> Callable[..., dict]:
    """:func:`generated_batch` as a fixture (test modules do not import conftest)."""
    return generated_batch


@pytest.fixture
def train_step() -> Callable[[Config, dict], Dict[str, torch.Tensor]]:
    """Builds ``cfg.model`` without pretrained weights and runs one optimiser step."""

    def run(cfg: Config, data: dict) -> Dict[str, torch.Tensor]:
        model_cfg = copy.deepcopy(cfg.model)
        model_cfg.backbone.init_cfg = None
        torch.manual_seed(0)
        # The data preprocessor is built through mmengine's registry: needs mmdet's scope.
        with DefaultScope.overwrite_default_scope('mmdet'):
            model = MODELS.build(model_cfg)
            model.init_weights()
            model.train()
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
            return model.train_step(data, optim_wrapper)

    return run
