"""The population of a loss's batch statistic (``population='call' | 'level' | 'batch'``).

The same rows give the same loss whichever way a head splits them into calls: a loss over one
call with each row's level equals the sum of per-level calls; a head calling the loss once per
level with ``'batch'`` equals one call over every level.
"""
import pytest
import torch
from head_training import train_two_iterations
from test_decoupled_heads import gt_instances, img_metas, rpn_head
from test_decoupled_retina_head import build_head, features, mixed_batch

from mmdet_dghm.models.losses import CleanOnlyLoss, DGHMCLoss, PULoss

#: Each loss with a statistic, in the settings whose statistic matters.
LOSSES = {
    'dghmc': dict(type='DGHMCLoss', use_sigmoid=True),
    'dghmc-mass': dict(type='DGHMCLoss', use_sigmoid=True, normalize='mass'),
    'dghmc-star-normalized': dict(type='DGHMCLoss', use_sigmoid=True, decouple='full',
                                  density='normalized'),
    'pu-missing': dict(type='PULoss', use_sigmoid=True, missing_rate=0.7, base='ce'),
    'pu-ascent': dict(type='PULoss', use_sigmoid=True, missing_rate=0.5, mode='pu',
                      correction='ascent', nn_beta=0.1),
    # k = pi W_U / W_P with a fixed prior: the unlabeled-to-positive mass of the population.
    'pu-prior': dict(type='PULoss', use_sigmoid=True, prior=0.01),
}
BUILD = {'DGHMCLoss': DGHMCLoss, 'PULoss': PULoss}


def build_loss(name: str, **extra):
    cfg = dict(LOSSES[name], **extra)
    return BUILD[cfg.pop('type')](**cfg)


def rows(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(90, 3, generator=gen) * 3
    labels = torch.randint(0, 4, (90, ), generator=gen)
    partial = torch.rand(90, 3, generator=gen) > 0.4
    levels = torch.randint(0, 3, (90, ), generator=gen)
    return logits, labels, partial, levels


@pytest.mark.parametrize('name', sorted(LOSSES))
def test_level_population_equals_one_call_per_level(name):
    logits, labels, partial, levels = rows()
    per_call, per_level = build_loss(name, reduction='sum'), build_loss(
        name, reduction='sum', population='level')
    expected = sum(per_call(logits[levels == level], labels[levels == level],
                            partial=partial[levels == level]) for level in range(3))
    got = per_level(logits, labels, partial=partial, population_index=levels)
    torch.testing.assert_close(got, expected)
    # One level is the call: the statistic of every row.
    one = per_level(logits, labels, partial=partial, population_index=torch.zeros_like(levels))
    torch.testing.assert_close(one, per_call(logits, labels, partial=partial))
    assert not torch.allclose(one, got)


def test_options_that_name_no_statistic_are_refused():
    with pytest.raises(ValueError, match=r"population must be one of \('call', 'level', "
                                         r"'batch'\), got 'image'"):
        DGHMCLoss(population='image')
    with pytest.raises(TypeError, match='population'):  # no statistic, no option
        CleanOnlyLoss(population='level')
    with pytest.raises(ValueError, match='momentum averages the counts of each call'):
        DGHMCLoss(momentum=0.75, population='batch')
    logits, labels, partial, _ = rows()
    with pytest.raises(ValueError, match='needs the feature level of each row'):
        build_loss('dghmc', population='level')(logits, labels, partial=partial)
    with pytest.raises(RuntimeError, match='this call came from outside one'):
        build_loss('pu-missing', population='batch')(logits, labels, partial=partial)


def retina_cls_loss(name: str, mode: str, population: str) -> torch.Tensor:
    torch.manual_seed(0)
    head = build_head(dict(LOSSES[name], population=population), cls_loss_mode=mode)
    return sum(head.loss(features(3), mixed_batch())['loss_cls'])


@pytest.mark.parametrize('name', ['dghmc-mass', 'pu-prior'])
def test_a_population_means_the_same_however_the_head_calls_the_loss(name):
    one_call = retina_cls_loss(name, 'all_levels', 'call')
    per_level_call = retina_cls_loss(name, 'per_level', 'call')
    assert not torch.allclose(one_call, per_level_call)
    torch.testing.assert_close(retina_cls_loss(name, 'per_level', 'batch'), one_call)
    torch.testing.assert_close(retina_cls_loss(name, 'all_levels', 'batch'), one_call)
    torch.testing.assert_close(retina_cls_loss(name, 'all_levels', 'level'), per_level_call)
    torch.testing.assert_close(retina_cls_loss(name, 'per_level', 'level'), per_level_call)


def rpn_loss(population: str) -> float:
    """The RPN's objectness loss; its sampler draws anchors at random."""
    from mmdet.registry import MODELS
    torch.manual_seed(0)
    head = MODELS.build(rpn_head(dict(type='PULoss', use_sigmoid=True, prior=0.0, base='ce',
                                      population=population)))
    gen = torch.Generator().manual_seed(1)
    sides = [16, 8, 4, 2, 1]
    scores = [torch.randn(3, 3, s, s, generator=gen) for s in sides]
    deltas = [torch.zeros(3, 12, s, s) for s in sides]
    torch.manual_seed(2)
    losses = head.loss_by_feat(scores, deltas, gt_instances((0, 0)), img_metas())
    return float(sum(losses['loss_rpn_cls']))


def test_the_first_pass_leaves_the_samplers_random_state_as_it_found_it():
    # With prior 0 PU is its base loss whatever its statistic: 'batch' differs from 'call'
    # only if the second pass sampled other anchors than one pass does.
    assert rpn_loss('batch') == rpn_loss('call')


@pytest.mark.parametrize('family, population, same', [
    ('yolox', 'level', False), ('dino', 'batch', False),
    # The RPN calls per level, and every RoI of the 64 px images maps to the finest level.
    ('cascade-rcnn', 'level', True)])
def test_populations_train_through_the_families_detectors(family, population, same):
    loss = dict(type='DGHMCLoss', normalize='mass', use_sigmoid=True,
                **({'reduction': 'sum'} if family == 'yolox' else {}))
    paths = 2 if family.endswith('rcnn') else 1
    by_call = train_two_iterations(family, [loss] * paths)
    by_population = train_two_iterations(family, [dict(loss, population=population)] * paths)
    assert (by_population == pytest.approx(by_call, rel=1e-6)) is same


def test_dino_queries_have_no_level():
    loss = dict(type='DGHMCLoss', normalize='mass', use_sigmoid=True, population='level')
    with pytest.raises(ValueError, match=r"DecoupledDINOHead: DGHMCLoss\(population='level'\) "
                                         r'needs the feature level of each row'):
        train_two_iterations('dino', [loss])
