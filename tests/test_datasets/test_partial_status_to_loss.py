"""A batch of ClassUnionConcatDataset reaches RetinaNet's DGHM-C loss with the right mask."""
import functools

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from partial_json import PIPELINE, union_sources

from mmdet_dghm.datasets import ClassUnionConcatDataset
from mmdet_dghm.models.losses import DGHMCLoss

CLASSES = ('bird', 'cat', 'dog')


@pytest.fixture
def captured(monkeypatch) -> list:
    """Every ``partial`` DGHMCLoss receives; the spy keeps the loss's signature."""
    calls = []
    stock = DGHMCLoss.forward

    @functools.wraps(stock)
    def spy(self, *args, **kwargs):
        calls.append(kwargs['partial'])
        return stock(self, *args, **kwargs)

    monkeypatch.setattr(DGHMCLoss, 'forward', spy)
    return calls


def test_union_batch_gives_retinanet_the_per_class_mask(tmp_path, repo_root, captured):
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        str(repo_root / 'configs/digestpath/retinanet_r18-light_fpn_dghmc_digestpath.py'))
    cfg.model.backbone.init_cfg = None
    cfg.model.bbox_head.num_classes = len(CLASSES)
    model = MODELS.build(cfg.model)
    dataset = ClassUnionConcatDataset(union_sources(tmp_path), pipeline=PIPELINE,
                                      classes=CLASSES)
    data = model.data_preprocessor(pseudo_collate([dataset[i] for i in range(3)]), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert len(losses['loss_cls']) == 1 and torch.isfinite(losses['loss_cls'][0])

    # a1: bird and dog unannotated by its source; a2: a partially annotated image;
    # b1: bird partial by its own field, cat unannotated by its source.
    status = torch.tensor([[True, False, True], [True, True, True], [True, True, False]])
    with torch.no_grad():
        cls_scores, _ = model.bbox_head(model.extract_feat(data['inputs']))
    per_image = [s.shape[-2] * s.shape[-1] * model.bbox_head.num_base_priors
                 for s in cls_scores]
    # One call over all levels, image-major within each level.
    expected = torch.cat([status.repeat_interleave(n, dim=0) for n in per_image])
    assert len(captured) == 1
    assert captured[0].shape == expected.shape == (3 * sum(per_image), len(CLASSES))
    assert torch.equal(captured[0], expected)
