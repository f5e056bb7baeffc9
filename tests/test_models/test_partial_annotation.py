"""The partial annotation mechanism: metainfo parsing, layouts, binding and refusals."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmdet.models.dense_heads import FCOSHead, GFLHead, RetinaHead
from mmdet.registry import MODELS
from mmengine.structures import InstanceData

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.models.partial_annotation import (
    PartialAnnotationMixin,
    image_major_status,
    partial_bound,
)
from mmdet_dghm.structures.annotation_status import (
    compact_status,
    image_class_status,
    image_partial_flags,
)


def boxes(num: int) -> InstanceData:
    return InstanceData(bboxes=torch.zeros(num, 4), labels=torch.zeros(num, dtype=torch.long))


def test_class_status_is_union_of_flag_and_labels_with_fallback_only_without_keys():
    metas = [dict(partially_annotated=True), dict(partial_labels=[2, 0]),
             dict(partially_annotated=False, partial_labels=(1, )), dict(), dict(),
             dict(partial_labels=np.array([3])), dict(partial_labels=torch.tensor([1]))]
    gts = [boxes(0), boxes(2), boxes(1), boxes(3), boxes(0), boxes(1), boxes(0)]
    status = image_class_status(metas, gts, 4, torch.device('cpu'))
    assert status.tolist() == [[True] * 4, [True, False, True, False],
                               [False, True, False, False], [True] * 4, [False] * 4,
                               [False, False, False, True], [False, True, False, False]]
    assert image_partial_flags(metas, gts, 'cpu').tolist() == \
        [True, True, True, True, False, True, True]


@pytest.mark.parametrize('value, error, match', [
    ('1', TypeError, 'sequence of int, got str'),
    (1, TypeError, 'sequence of int, got int'),
    ([1.0], TypeError, 'int labels, got float'),
    ([True], TypeError, 'int labels, got bool'),
    ([3], ValueError, r'label 3 is outside \[0, 2\]'),
    ([-1], ValueError, r'label -1 is outside \[0, 2\]'),
])
def test_malformed_partial_labels_name_key_image_and_problem(value, error, match):
    meta = dict(partial_labels=value, img_path='a/b.png', img_id=7)
    with pytest.raises(error, match=rf"'partial_labels'.*img_path='a/b.png', img_id=7.*{match}"):
        image_class_status([meta], [boxes(0)], 3, 'cpu')


def test_class_agnostic_status_checks_only_that_labels_are_non_negative():
    metas = [dict(partial_labels=[500]), dict(partial_labels=[])]
    assert image_partial_flags(metas, [boxes(0)] * 2, 'cpu').tolist() == [True, False]
    with pytest.raises(ValueError, match=r'img_id=3.*label -2 is outside \[0\]'):
        image_partial_flags([dict(partial_labels=[-2], img_id=3)], [boxes(0)], 'cpu')


def test_non_bool_flag_names_the_image():
    with pytest.raises(TypeError, match=r"'partially_annotated'.*int \(1\).*img_id=4"):
        image_class_status([dict(partially_annotated=1, img_id=4)], [boxes(0)], 2, 'cpu')


def test_compact_status_only_when_every_image_is_uniform():
    uniform = torch.tensor([[True, True], [False, False]])
    assert compact_status(uniform).tolist() == [True, False]
    mixed = torch.tensor([[True, True], [False, True]])
    assert compact_status(mixed) is mixed


def test_image_major_status_repeats_each_image_block():
    status = torch.tensor([[True, False], [False, False]])
    rows = image_major_status(status, 6)
    assert rows.tolist() == [[True, False]] * 3 + [[False, False]] * 3
    with pytest.raises(RuntimeError, match='5 rows cannot hold 2 equal image blocks'):
        image_major_status(status, 5)


class KeywordLoss(nn.Module):

    def forward(self, pred, target, partial=None):
        return partial


def test_partial_bound_passes_the_rows_status_and_restores_the_loss():
    loss = KeywordLoss()
    with pytest.raises(KeyError):
        with partial_bound(loss, lambda n: torch.ones(n, dtype=torch.bool)):
            assert loss(torch.zeros(3, 2), None).tolist() == [True] * 3
            raise KeyError('leaves the block')
    assert 'forward' not in vars(loss)
    assert loss(torch.zeros(3, 2), None) is None


def test_a_head_the_mechanism_does_not_cover_is_refused_naming_it():
    with pytest.raises(TypeError, match=r"MyGFLHead: .*does not cover GFLHead's.*supported "
                                        r'heads: RetinaHead, FCOSHead, ATSSHead, RPNHead, '
                                        r'DINOHead'):

        class MyGFLHead(PartialAnnotationMixin, GFLHead):
            pass

    class MyRetinaHead(PartialAnnotationMixin, RetinaHead):  # a supported stock head
        pass

    assert MyRetinaHead.status_layout.rows == 'image_major'


def test_stock_head_with_dghmc_says_a_status_aware_head_supplies_the_status():
    head = FCOSHead(num_classes=2, in_channels=4, feat_channels=4, stacked_convs=1,
                    norm_cfg=None, strides=[8], regress_ranges=((-1, 1e8), ),
                    loss_cls=dict(type='DGHMCLoss', use_sigmoid=True))
    scores = [torch.zeros(1, 2, 4, 4)]
    with pytest.raises(ValueError, match='required.*status-aware head.*partially_annotated'):
        head.loss_by_feat(scores, [torch.zeros(1, 4, 4, 4)], [torch.zeros(1, 1, 4, 4)],
                          [boxes(0)], [dict(img_shape=(32, 32))])


def test_registered_heads():
    for name in ('DecoupledRetinaHead', 'DecoupledFCOSHead', 'DecoupledATSSHead',
                 'DecoupledRPNHead', 'DecoupledDINOHead'):
        assert issubclass(MODELS.get(name), PartialAnnotationMixin)
