"""DGHM-C loss against closed forms of eq. (9)-(12): w = 1 / (M * (R * bins) ** gamma)."""
import math
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmdet.registry import MODELS

import mmdet_dghm  # noqa: F401  (registers the losses)
from mmdet_dghm.models.losses import DGHMCLoss, dghmc_loss
from mmdet_dghm.models.losses.dghm_loss import gradient_bins_, group_codes

BG = 1  # background index for one class


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def make_batch(probs, labels, partial, num_classes=1, requires_grad=True):
    """Logits realising the given sigmoid probabilities, (N,) labels and a partial mask."""
    pred = torch.tensor([[logit(p)] * num_classes for p in probs], dtype=torch.float32,
                        requires_grad=requires_grad)
    return pred, torch.tensor(labels), torch.tensor(partial, dtype=torch.bool)


def bce(p: float, t: int) -> float:
    return -math.log(p) if t == 1 else -math.log(1 - p)


def test_one_group_one_bin_is_mean_bce_over_bins():
    # Four clean negatives, every g = p in [0.3, 0.4): bin 3, R = 4, M = 1, w = 1 / 40.
    probs = [0.31, 0.33, 0.35, 0.39]
    pred, target, partial = make_batch(probs, [BG] * 4, [False] * 4)
    loss = DGHMCLoss()(pred, target, partial=partial)
    expected = sum(bce(p, 0) for p in probs) / 4 / 10
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_lone_clean_and_noisy_outliers():
    # Clean: positive with g = 0.98 (bin 9, outlier) + 3 negatives in bin 0.
    # Noisy: 2 partial negatives in bin 2 + one partial negative with g = 0.95 (outlier).
    probs = [0.02, 0.05, 0.06, 0.07, 0.25, 0.26, 0.95]
    labels = [0, BG, BG, BG, BG, BG, BG]
    partial = [False, False, False, False, True, True, True]
    pred, target, part = make_batch(probs, labels, partial)
    loss = DGHMCLoss(reduction='none')(pred, target, partial=part)
    weights = (loss / torch.tensor([[bce(p, int(t == 0))] for p, t in zip(probs, labels)]))
    expected = [1 / (2 * 10 ** 0.5)] + [1 / (2 * 30)] * 3 + [1 / (2 * 20)] * 2 + [1 / (2 * 10 ** 2)]
    assert weights.flatten().tolist() == pytest.approx(expected, rel=1e-5)


def test_mass_normalization_is_the_weighted_mean_of_the_lone_outlier_example():
    # The weights of test_lone_clean_and_noisy_outliers, divided by their total.
    probs = [0.02, 0.05, 0.06, 0.07, 0.25, 0.26, 0.95]
    labels = [0, BG, BG, BG, BG, BG, BG]
    pred, target, part = make_batch(probs, labels, [False] * 4 + [True] * 3)
    paper = [1 / (2 * 10 ** 0.5)] + [1 / (2 * 30)] * 3 + [1 / (2 * 20)] * 2 + [1 / (2 * 10 ** 2)]
    terms = [bce(p, int(t == 0)) for p, t in zip(probs, labels)]
    loss = DGHMCLoss(normalize='mass')(pred, target, partial=part)
    expected = sum(w * b for w, b in zip(paper, terms)) / sum(paper)
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_mass_normalization_bounds_what_clean_outliers_make_of_eq_12():
    # n positives at p = 0.01 (outliers, mu_c = 0.5) and 1000 clean negatives at p = 0.01:
    # one group (M = 1): eq. (12) gives the positives sqrt(n) / sqrt(10) of weight, growing
    # with n, the negatives 1 / 10; the weighted mean stays between the two BCE terms.
    for num_pos in (10, 1000):
        probs = [0.01] * (num_pos + 1000)
        labels = [0] * num_pos + [BG] * 1000
        pred, target, part = make_batch(probs, labels, [False] * len(probs))
        paper = DGHMCLoss()(pred, target, partial=part).item()
        mass = DGHMCLoss(normalize='mass')(pred, target, partial=part).item()
        pos_weight = num_pos ** 0.5 / 10 ** 0.5
        neg_weight = 1 / 10
        paper_expected = pos_weight * bce(0.01, 1) + neg_weight * bce(0.01, 0)
        assert paper == pytest.approx(paper_expected, rel=1e-4)
        assert mass == pytest.approx(paper_expected / (pos_weight + neg_weight), rel=1e-4)
        assert bce(0.01, 0) < mass < bce(0.01, 1)


def test_mass_normalization_keeps_the_relative_weights_and_label_weights():
    gen = torch.Generator().manual_seed(3)
    pred = torch.randn(40, 3, generator=gen) * 3
    target = torch.randint(0, 4, (40, ), generator=gen)
    partial = torch.rand(40, 3, generator=gen) > 0.5
    weight = torch.rand(40, generator=gen)
    paper = dghmc_loss(pred, target, partial, weight, reduction='none')
    mass = dghmc_loss(pred, target, partial, weight, normalize='mass', reduction='none')
    ratio = mass[paper > 0] / paper[paper > 0]
    assert torch.allclose(ratio, ratio[0].expand_as(ratio), rtol=1e-5)
    assert not torch.allclose(ratio[0], torch.tensor(1.0))


def test_outlier_threshold_inside_a_bin_shares_the_bin_count():
    # lambda = 0.85 cuts bin 8: g = 0.82 and g = 0.87 share R = 2 but only 0.87 is an outlier.
    pred, target, part = make_batch([0.82, 0.87], [BG, BG], [False, False])
    loss = DGHMCLoss(outlier_thr=0.85, mu_clean=0.5, reduction='none')(pred, target,
                                                                        partial=part)
    weights = loss.flatten() / torch.tensor([bce(0.82, 0), bce(0.87, 0)])
    assert weights.tolist() == pytest.approx([1 / 20, 1 / 20 ** 0.5], rel=1e-5)


def test_gradient_bins_floor_and_clamp():
    g = torch.tensor([0.0, 0.0999, 0.1, 0.55, 0.9999, 1.0, float('nan')])
    assert gradient_bins_(g.clone(), 10).tolist() == [0, 0, 1, 5, 9, 9, 0]
    assert gradient_bins_(g.clone(), 1).tolist() == [0] * 7


def test_group_codes_both_decouplings():
    target = torch.tensor([[1.0], [0.0], [0.0], [1.0]])
    partial = torch.tensor([False, False, True, True])
    outlier = torch.tensor([[False], [True], [True], [True]])
    # 2 * group + outlier: noisy = partial negative only; 'full' splits the clean negatives.
    assert group_codes(target, partial, outlier, 'noisy_clean').flatten().tolist() == \
        [0, 1, 3, 1]
    assert group_codes(target, partial, outlier, 'full').flatten().tolist() == [0, 3, 5, 1]


def test_none_sums_to_mean_and_sum_and_avg_factor_ignored():
    torch.manual_seed(0)
    pred = torch.randn(50, 3)
    target = torch.randint(0, 4, (50,))
    partial = torch.rand(50) < 0.5
    loss = DGHMCLoss(loss_weight=2.5)
    terms = loss(pred, target, partial=partial, reduction_override='none')
    assert terms.shape == (50, 3)
    mean = loss(pred, target, partial=partial)
    assert mean.item() == pytest.approx(terms.sum().item(), rel=1e-6)
    assert loss(pred, target, partial=partial, reduction_override='sum').item() == \
        pytest.approx(mean.item(), rel=1e-6)
    assert loss(pred, target, partial=partial, avg_factor=123.0).item() == mean.item()


def test_gradient_is_weight_times_p_minus_t():
    torch.manual_seed(1)
    pred = (torch.randn(40, 2) * 3).requires_grad_()
    target = torch.randint(0, 3, (40,))
    partial = torch.rand(40) < 0.5
    label_weight = torch.rand(40) + 0.5
    loss = DGHMCLoss(loss_weight=0.7)
    loss(pred, target, label_weight, partial=partial).backward()
    onehot = F.one_hot(target, 3)[:, :2].float()
    w = loss.harmonizing_weights(pred.detach(), onehot, torch.ones(40, 1, dtype=torch.bool),
                                 partial)
    expected = w * label_weight.view(-1, 1) * (pred.detach().sigmoid() - onehot) * 0.7
    torch.testing.assert_close(pred.grad, expected)
    assert not w.requires_grad


def test_ignored_elements_change_nothing():
    probs = [0.05, 0.07, 0.25, 0.95]
    pred, target, part = make_batch(probs, [BG, BG, BG, BG], [False, False, True, True])
    loss = DGHMCLoss(reduction='none')
    base = loss(pred, target, partial=part)
    # Extra anchors in the same bins and groups, all with label weight 0.
    extra, extra_t, extra_p = make_batch([0.06, 0.26, 0.3, 0.96], [BG, 0, BG, BG],
                                         [False, True, True, True])
    weight = torch.tensor([1.0] * 4 + [0.0] * 4)
    full = loss(torch.cat([pred, extra]), torch.cat([target, extra_t]), weight,
                partial=torch.cat([part, extra_p]))
    torch.testing.assert_close(full[:4], base)
    assert full[4:].abs().sum().item() == 0.0
    # (N, C) weights ignore single elements the same way.
    elementwise = loss(torch.cat([pred, extra]), torch.cat([target, extra_t]),
                       weight.view(-1, 1), partial=torch.cat([part, extra_p]))
    torch.testing.assert_close(elementwise, full)


def test_m_counts_only_non_empty_groups():
    probs = [0.05, 0.06]
    pred, target, part = make_batch(probs, [BG, BG], [False, False])
    loss = DGHMCLoss(reduction='none')
    clean_only = loss(pred, target, partial=part)
    # Only the clean group: M = 1, R = 2, w = 1 / 20.
    assert (clean_only.flatten() / torch.tensor([bce(p, 0) for p in probs])).tolist() == \
        pytest.approx([1 / 20] * 2, rel=1e-5)
    # A noisy anchor fills the second group: M = 2 halves the clean weights.
    pred2, target2, part2 = make_batch(probs + [0.5], [BG] * 3, [False, False, True])
    both = loss(pred2, target2, partial=part2)
    torch.testing.assert_close(both[:2], clean_only / 2)
    # An ignored noisy anchor does not make its group present.
    ignored = loss(pred2, target2, torch.tensor([1.0, 1.0, 0.0]), partial=part2)
    torch.testing.assert_close(ignored[:2], clean_only)


def test_full_vs_noisy_clean():
    # Positive (g = 0.05), exhaustive negative (g = 0.05), partial negative (g = 0.05): bin 0.
    probs = [0.95, 0.05, 0.05]
    pred, target, part = make_batch(probs, [0, BG, BG], [False, False, True])
    ce = torch.tensor([[bce(0.95, 1)], [bce(0.05, 0)], [bce(0.05, 0)]])
    two = DGHMCLoss(reduction='none')(pred, target, partial=part) / ce
    three = DGHMCLoss(decouple='full', reduction='none')(pred, target, partial=part) / ce
    assert two.flatten().tolist() == pytest.approx([1 / 40, 1 / 40, 1 / 20], rel=1e-5)
    assert three.flatten().tolist() == pytest.approx([1 / 30] * 3, rel=1e-5)
    # 'full' gives positive outliers mu_clean, like exhaustive negatives.
    pred, target, part = make_batch([0.02, 0.95], [0, BG], [True, True])
    out = DGHMCLoss(decouple='full', reduction='none')(pred, target, partial=part)
    ratio = out.flatten() / torch.tensor([bce(0.02, 1), bce(0.95, 0)])
    assert ratio.tolist() == pytest.approx([1 / (2 * 10 ** 0.5), 1 / (2 * 10 ** 2)], rel=1e-5)


def test_momentum_over_three_steps():
    loss = DGHMCLoss(momentum=0.25, reduction='none')
    loss.train()
    assert 'acc_counts' in loss.state_dict()

    def step(probs):
        pred, target, part = make_batch(probs, [BG] * len(probs), [False] * len(probs))
        out = loss(pred, target, partial=part).flatten()
        return (out / torch.tensor([bce(p, 0) for p in probs])).tolist()

    # Step 1: bin 1 gets 4 -> acc = 0.75 * 4 = 3.
    assert step([0.15] * 4) == pytest.approx([1 / 30] * 4, rel=1e-5)
    assert loss.acc_counts[0, 1].item() == pytest.approx(3.0)
    # Step 2: bin 1 gets 2 -> 0.25 * 3 + 0.75 * 2 = 2.25; bin 3 gets 2 -> 1.5.
    assert step([0.15, 0.15, 0.35, 0.35]) == pytest.approx([1 / 22.5] * 2 + [1 / 15] * 2,
                                                           rel=1e-5)
    # Step 3: bin 3 gets 4 -> 0.25 * 1.5 + 0.75 * 4 = 3.375; empty bin 1 keeps 2.25.
    assert step([0.35] * 4) == pytest.approx([1 / 33.75] * 4, rel=1e-5)
    expected = torch.zeros(2, 10)
    expected[0, 1], expected[0, 3] = 2.25, 3.375
    torch.testing.assert_close(loss.acc_counts, expected)
    # Eval mode neither reads nor updates the average: the batch's own counts are used.
    loss.eval()
    assert step([0.35] * 4) == pytest.approx([1 / 40] * 4, rel=1e-5)
    torch.testing.assert_close(loss.acc_counts, expected)
    # The average travels with the state dict.
    restored = DGHMCLoss(momentum=0.25)
    restored.load_state_dict(loss.state_dict())
    torch.testing.assert_close(restored.acc_counts, expected)
    assert 'gammas' not in loss.state_dict()


def test_class_index_and_one_hot_targets_agree():
    torch.manual_seed(2)
    pred = torch.randn(30, 4)
    target = torch.randint(0, 5, (30,))
    partial = torch.rand(30) < 0.5
    loss = DGHMCLoss(reduction='none')
    onehot = F.one_hot(target, 5)[:, :4]
    torch.testing.assert_close(loss(pred, target, partial=partial),
                               loss(pred, onehot, partial=partial))
    torch.testing.assert_close(loss(pred, target, partial=partial),
                               loss(pred, onehot.bool(), partial=partial))


def test_half_input_is_computed_in_float32():
    torch.manual_seed(3)
    pred = torch.randn(64, 2).half().requires_grad_()
    target = torch.randint(0, 3, (64,))
    partial = torch.rand(64) < 0.5
    loss = DGHMCLoss()
    half = loss(pred, target, partial=partial)
    half.backward()
    ref_pred = pred.detach().float().requires_grad_()
    ref = loss(ref_pred, target, partial=partial)
    ref.backward()
    assert half.dtype == torch.float32
    assert half.item() == ref.item()
    assert pred.grad.dtype == torch.float16
    torch.testing.assert_close(pred.grad.float(), ref_pred.grad.half().float())


def test_nan_logits_give_nan_loss():
    pred = torch.tensor([[float('nan')], [0.3], [float('nan')]], requires_grad=True)
    loss = DGHMCLoss()(pred, torch.tensor([0, BG, BG]),
                       partial=torch.tensor([True, False, True]))
    assert torch.isnan(loss)


def test_zero_valid_elements_give_zero_loss_that_backpropagates():
    pred = torch.randn(5, 2, requires_grad=True)
    loss = DGHMCLoss()(pred, torch.full((5,), 2), torch.zeros(5),
                       partial=torch.ones(5, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert pred.grad.abs().sum().item() == 0.0
    empty = torch.zeros(0, 2, requires_grad=True)
    loss = DGHMCLoss()(empty, torch.zeros(0, dtype=torch.long),
                       partial=torch.zeros(0, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()
    assert empty.grad.shape == (0, 2)


@pytest.mark.parametrize('kwargs, match', [
    (dict(bins=0), 'bins'),
    (dict(bins=2.5), 'bins'),
    (dict(outlier_thr=1.2), 'outlier_thr'),
    (dict(outlier_thr=-0.1), 'outlier_thr'),
    (dict(mu_noisy=-1.0), 'mu_noisy'),
    (dict(mu_clean=-0.5), 'mu_clean'),
    (dict(momentum=1.0), 'momentum'),
    (dict(momentum=-0.1), 'momentum'),
    (dict(decouple='ap_np'), 'decouple'),
    (dict(normalize='avg_factor'), 'normalize'),
    (dict(reduction='avg'), 'reduction'),
])
def test_bad_construction_raises(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DGHMCLoss(**kwargs)


def test_use_sigmoid_false_is_not_implemented():
    with pytest.raises(NotImplementedError, match='use_sigmoid'):
        DGHMCLoss(use_sigmoid=False)


def test_bad_forward_input_raises():
    loss = DGHMCLoss()
    pred = torch.randn(4, 2)
    target = torch.tensor([0, 1, 2, 2])
    partial = torch.ones(4, dtype=torch.bool)
    with pytest.raises(ValueError, match='required.*status-aware head'):
        loss(pred, target)
    with pytest.raises(ValueError, match='partial'):
        loss(pred, target, partial=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match='partial'):
        loss(pred, target, partial=torch.ones(4))
    with pytest.raises(ValueError, match='target'):
        loss(pred, torch.tensor([0, 1, 3, 2]), partial=partial)
    with pytest.raises(ValueError, match='target'):
        loss(pred, torch.tensor([0, -1, 2, 2]), partial=partial)
    with pytest.raises(ValueError, match='target'):
        loss(pred, target[:3], partial=partial)
    with pytest.raises(ValueError, match='target'):
        loss(pred, torch.full((4, 2), 0.5), partial=partial)
    with pytest.raises(ValueError, match='target'):
        loss(pred, torch.zeros(4, 3), partial=partial)
    with pytest.raises(ValueError, match='weight'):
        loss(pred, target, torch.ones(3), partial=partial)
    with pytest.raises(ValueError, match='pred'):
        loss(pred.flatten(), target, partial=partial)
    with pytest.raises(ValueError, match='reduction'):
        loss(pred, target, partial=partial, reduction_override='mena')


def test_registry_build_uses_paper_defaults():
    loss = MODELS.build(dict(type='DGHMCLoss'))
    assert isinstance(loss, DGHMCLoss)
    assert (loss.bins, loss.mu_noisy, loss.mu_clean, loss.outlier_thr, loss.momentum,
            loss.decouple, loss.loss_weight) == (10, 2.0, 0.5, 0.9, 0.0, 'noisy_clean', 1.0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _sync_worker(rank: int, port: int, batch: dict, out_dir: str) -> None:
    import torch.distributed as dist
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=2)
    try:
        half = slice(rank * 30, (rank + 1) * 30)
        loss = DGHMCLoss(sync=True, reduction='none')
        terms = loss(batch['pred'][half], batch['target'][half], batch['weight'][half],
                     partial=batch['partial'][half])
        torch.save(terms, Path(out_dir) / f'rank{rank}.pt')
    finally:
        dist.destroy_process_group()


@pytest.mark.timeout(180)
def test_sync_on_two_halves_equals_one_process_on_whole_batch(tmp_path):
    torch.manual_seed(4)
    # Halves with different group make-ups, so local and global densities differ.
    batch = dict(pred=torch.randn(60, 2) * 2, target=torch.randint(0, 3, (60,)),
                 weight=(torch.rand(60) > 0.1).float(),
                 partial=torch.cat([torch.ones(30), torch.rand(30) < 0.2]).bool())
    mp.spawn(_sync_worker, args=(_free_port(), batch, str(tmp_path)), nprocs=2, join=True)
    halves = torch.cat([torch.load(tmp_path / f'rank{r}.pt') for r in range(2)])
    whole = DGHMCLoss(reduction='none')(batch['pred'], batch['target'], batch['weight'],
                                        partial=batch['partial'])
    torch.testing.assert_close(halves, whole)
    local = DGHMCLoss(reduction='none')(batch['pred'][:30], batch['target'][:30],
                                        batch['weight'][:30], partial=batch['partial'][:30])
    assert not torch.allclose(local, whole[:30])


@pytest.mark.parametrize('decouple', ['noisy_clean', 'full'])
def test_element_mask_equal_to_broadcast_row_mask_gives_same_loss_and_gradient(decouple):
    gen = torch.Generator().manual_seed(3)
    logits = torch.randn(60, 4, generator=gen) * 3
    target = torch.randint(0, 5, (60, ), generator=gen)
    rows = torch.rand(60, generator=gen) < 0.5
    weight = (torch.rand(60, generator=gen) > 0.1).float()
    results = []
    for partial in (rows, rows.view(-1, 1).expand(60, 4).contiguous()):
        pred = logits.clone().requires_grad_()
        loss = DGHMCLoss(decouple=decouple)(pred, target, weight, partial=partial)
        loss.backward()
        results.append((loss.detach(), pred.grad))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


def test_single_partial_column_gives_the_closed_form_weights():
    # Two classes, every element negative. Column 0 clean: g = 0.05, 0.05, 0.15, 0.15 (bins
    # 0, 0, 1, 1: R = 2, 2). Column 1 partial only in rows 0-2 (an image with
    # partial_labels=[1]) and clean in row 3: noisy g = 0.05, 0.35, 0.35 (bins 0, 3, 3:
    # R = 1, 2); row 3's g = 0.35 joins the clean group in bin 3 (R = 1). M = 2.
    probs = torch.tensor([[0.05, 0.05], [0.05, 0.35], [0.15, 0.35], [0.15, 0.35]])
    pred = torch.log(probs / (1 - probs))
    partial = torch.tensor([[False, True], [False, True], [False, True], [False, False]])
    terms = DGHMCLoss(reduction='none')(pred, torch.full((4, ), 2), partial=partial)
    weights = terms / -torch.log(1 - probs)
    expected = torch.tensor([[1 / 40, 1 / 20], [1 / 40, 1 / 40], [1 / 40, 1 / 40],
                             [1 / 40, 1 / 20]])
    torch.testing.assert_close(weights, expected, rtol=1e-5, atol=0)


def test_element_mask_of_wrong_shape_raises():
    loss = DGHMCLoss()
    pred = torch.randn(4, 2)
    with pytest.raises(ValueError, match=r'partial must have shape \(4,\) or \(4, 2\)'):
        loss(pred, torch.tensor([0, 1, 2, 2]), partial=torch.ones(4, 3, dtype=torch.bool))


def test_functional_gives_the_closed_form_weights():
    """dghmc_loss, torchvision-style: the lone-outlier case of the module, without a module."""
    probs = [0.02, 0.05, 0.06, 0.07, 0.25, 0.26, 0.95]
    labels = [0, BG, BG, BG, BG, BG, BG]
    pred, target, part = make_batch(probs, labels, [False] * 4 + [True] * 3)
    terms = dghmc_loss(pred, target, part, reduction='none')
    weights = terms / torch.tensor([[bce(p, int(t == 0))] for p, t in zip(probs, labels)])
    expected = [1 / (2 * 10 ** 0.5)] + [1 / (2 * 30)] * 3 + [1 / (2 * 20)] * 2 + [1 / (2 * 10 ** 2)]
    assert weights.flatten().tolist() == pytest.approx(expected, rel=1e-5)
    assert dghmc_loss(pred, target, part).item() == pytest.approx(terms.sum().item(), rel=1e-6)


@pytest.mark.parametrize('options', [dict(), dict(decouple='full', mu_noisy=3.0),
                                     dict(density='rescaled', reference_size=50.0)])
def test_module_is_loss_weight_times_functional(options):
    torch.manual_seed(0)
    pred = torch.randn(30, 3, requires_grad=True)
    target = torch.randint(0, 4, (30, ))
    weight = (torch.rand(30) > 0.2).float()
    partial = torch.rand(30, 3) > 0.5
    module = DGHMCLoss(loss_weight=2.5, **options)(pred, target, weight, partial=partial)
    functional = dghmc_loss(pred, target, partial, weight, **options)
    torch.testing.assert_close(module, 2.5 * functional)


def test_functional_moving_counts_match_the_module_momentum():
    torch.manual_seed(1)
    module = DGHMCLoss(momentum=0.25, reduction='none')
    moving = torch.zeros(2, 10)
    for _ in range(3):
        pred, target = torch.randn(40, 1), torch.randint(0, 2, (40, ))
        partial = torch.rand(40) > 0.5
        want = module(pred, target, partial=partial)
        got = dghmc_loss(pred, target, partial, moving_counts=moving, momentum=0.25,
                         reduction='none')
        torch.testing.assert_close(got, want)
    torch.testing.assert_close(moving, module.acc_counts)
    assert moving.sum() > 0


@pytest.mark.parametrize('kwargs, match', [(dict(bins=0), 'dghmc_loss: bins'),
                                           (dict(decouple='three'), 'dghmc_loss: decouple'),
                                           (dict(reduction='avg'), 'dghmc_loss: reduction')])
def test_functional_refuses_bad_options(kwargs, match):
    pred, target, part = make_batch([0.3], [BG], [True])
    with pytest.raises(ValueError, match=match):
        dghmc_loss(pred, target, part, **kwargs)


def test_soft_targets_use_the_soft_t_in_the_gradient_norm_and_bce():
    # RTMDet's (labels, IoU scores): row 0 is class 0 at t = 0.6, row 1 background. The
    # positive has p = t (g = 0), the three negatives p = 0.05 (g = 0.05): four elements in
    # bin 0 of the clean group, M = 1, w = 1 / 40; BCE takes the soft t.
    pred = torch.tensor([[logit(0.6), logit(0.05)], [logit(0.05), logit(0.05)]])
    target = (torch.tensor([0, 2]), torch.tensor([0.6, 0.0]))
    partial = torch.zeros(2, dtype=torch.bool)
    loss = DGHMCLoss()(pred, target, partial=partial)
    soft_bce = -(0.6 * math.log(0.6) + 0.4 * math.log(0.4))
    assert loss.item() == pytest.approx((soft_bce + 3 * bce(0.05, 0)) / 40, rel=1e-5)
    with pytest.raises(ValueError, match='scores must lie in'):
        DGHMCLoss()(pred, (torch.tensor([0, 2]), torch.tensor([1.5, 0.0])), partial=partial)
