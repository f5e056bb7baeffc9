"""The status mechanism: metainfo parsing, the rows' images of each loss call, refusals."""
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmdet.models.dense_heads import FCOSHead, GFLHead
from mmdet.registry import MODELS
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from test_decoupled_heads import (
    IMG,
    NUM_CLASSES,
    STATUS,
    check_every_element,
    encoded,
    gt_instances,
    img_metas,
)

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.models.status_aware_head import (
    StatusAwareHeadMixin,
    image_major_index,
    level_major_index,
    rows_status,
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


def test_row_images_of_image_major_and_level_major_flattening():
    assert image_major_index(2, 3, 'cpu').tolist() == [0, 0, 0, 1, 1, 1]
    assert level_major_index(2, [3, 1], 'cpu').tolist() == [0, 0, 0, 1, 1, 1, 0, 1]


def test_rows_status_indexes_each_rows_image_and_compacts_uniform_images():
    mixed = torch.tensor([[True, False], [False, False], [True, True]])
    rows = rows_status(mixed, torch.tensor([2, 0, 0, 1]))
    assert rows.tolist() == [[True, True], [True, False], [True, False], [False, False]]
    uniform = torch.tensor([[True, True], [False, False]])
    assert rows_status(uniform, torch.tensor([1, 0, 1])).tolist() == [False, True, False]


class KeywordLoss(nn.Module):

    def forward(self, pred, target, partial=None):
        return partial


class PlainLoss(nn.Module):

    def forward(self, pred, target, **kwargs):
        return kwargs


class GFLWithStatus(StatusAwareHeadMixin, GFLHead):
    """A head of a family the package does not ship: the mixin alone, no rows named."""


def gfl_head(loss_cls: nn.Module) -> GFLWithStatus:
    head = GFLWithStatus(num_classes=2, in_channels=4, feat_channels=4, stacked_convs=1,
                         norm_cfg=None,
                         anchor_generator=dict(type='AnchorGenerator', ratios=[1.0],
                                               octave_base_scale=8, scales_per_octave=1,
                                               strides=[8]))
    head.loss_cls = loss_cls
    return head


def test_rows_from_images_gives_each_call_its_rows_status_and_leaves_no_hook():
    head = gfl_head(KeywordLoss())
    metas = [dict(partial_labels=[1]), dict(partially_annotated=True), dict()]
    with head.batch_status(metas, [boxes(1), boxes(0), boxes(0)]):
        with pytest.raises(KeyError):
            with head.rows_from_images(torch.tensor([1, 0, 2, 0])):
                got = head.loss_cls(torch.zeros(4, 2), None)
                assert got.tolist() == [[True, True], [False, True], [False, False],
                                        [False, True]]
                raise KeyError('leaves the block')
        with pytest.raises(RuntimeError, match=r'GFLWithStatus: a KeywordLoss call of 3 rows, '
                                               r'but the head named the images of 2 rows'):
            with head.rows_from_images(torch.tensor([0, 1])):
                head.loss_cls(torch.zeros(3, 2), None)
    assert not head.loss_cls._forward_pre_hooks
    assert head.current_status is None
    # Outside a block the loss gets no status (and a status-aware loss raises its own error).
    assert head.loss_cls(torch.zeros(2, 2), None) is None
    with pytest.raises(RuntimeError, match='outside batch_status'):
        with head.rows_from_images(torch.tensor([0])):
            pass


def test_losses_without_partial_run_untouched_and_compute_no_status():
    head = gfl_head(PlainLoss())
    with head.batch_status([dict(partial_labels=[7])], [boxes(0)]):  # 7 >= C: never parsed
        assert head.current_status is None
        with head.rows_from_images(torch.tensor([0, 0])):
            assert head.loss_cls(torch.zeros(2, 2), None) == {}
    assert not head.loss_cls._forward_pre_hooks


def test_a_head_that_names_no_rows_leaves_dghmc_without_status_and_it_says_so():
    head = gfl_head(MODELS.build(dict(type='DGHMCLoss', use_sigmoid=True)))
    with head.batch_status([dict(partially_annotated=True)], [boxes(0)]):
        with pytest.raises(ValueError, match='required.*status-aware head'):
            head.loss_cls(torch.zeros(2, 2), torch.tensor([2, 2]))


def test_stock_head_with_dghmc_says_a_status_aware_head_supplies_the_status():
    head = FCOSHead(num_classes=2, in_channels=4, feat_channels=4, stacked_convs=1,
                    norm_cfg=None, strides=[8], regress_ranges=((-1, 1e8), ),
                    loss_cls=dict(type='DGHMCLoss', use_sigmoid=True))
    scores = [torch.zeros(1, 2, 4, 4)]
    with pytest.raises(ValueError, match='required.*status-aware head.*partially_annotated'):
        head.loss_by_feat(scores, [torch.zeros(1, 4, 4, 4)], [torch.zeros(1, 1, 4, 4)],
                          [boxes(0)], [dict(img_shape=(32, 32))])


def documented_family(repo_root):
    """The class that docs/development.md's "Adding a detector family" defines, run as written
    there (its registration undone afterwards)."""
    text = (repo_root / 'docs' / 'development.md').read_text()
    section = text.split('## Adding a detector family', 1)[1]
    code = section.split('```python\n', 1)[1].split('```', 1)[0]
    namespace = {}
    exec(compile(code, 'docs/development.md', 'exec'), namespace)
    MODELS._module_dict.pop('DecoupledGFLHead')
    return namespace['DecoupledGFLHead']


def test_a_new_family_is_one_subclass_naming_its_rows(repo_root):
    DecoupledGFLHead = documented_family(repo_root)
    assert issubclass(DecoupledGFLHead, (StatusAwareHeadMixin, GFLHead))
    head = DecoupledGFLHead(
        num_classes=NUM_CLASSES, in_channels=8, feat_channels=8, stacked_convs=1, norm_cfg=None,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16]),
        loss_cls=dict(type='RecordingPartialLoss', use_sigmoid=True),
        train_cfg=ConfigDict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                             pos_weight=-1, debug=False))
    sides = [IMG // 8, IMG // 16]
    head.loss_by_feat([encoded(3, NUM_CLASSES, (s, s)) for s in sides],
                      [torch.zeros(3, 4 * (head.reg_max + 1), s, s) for s in sides],
                      gt_instances(), img_metas())
    calls = head.loss_cls.calls
    assert len(calls) == 2
    assert check_every_element(calls, STATUS) == 3 * NUM_CLASSES * sum(s * s for s in sides)


def test_registered_heads():
    for name in ('DecoupledRetinaHead', 'DecoupledFCOSHead', 'DecoupledATSSHead',
                 'DecoupledRPNHead', 'DecoupledDINOHead', 'DecoupledYOLOXHead',
                 'DecoupledRTMDetHead', 'DecoupledRTMDetSepBNHead', 'DecoupledStandardRoIHead',
                 'DecoupledCascadeRoIHead'):
        assert issubclass(MODELS.get(name), StatusAwareHeadMixin)
