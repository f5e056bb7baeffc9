"""The batch-size measurement of DGHM-C's weights, against closed forms and end to end."""
import numpy as np
import pytest
import torch

from benchmarks import density_scaling
from benchmarks.harness.density_scaling import (
    draw_batches,
    outlier_weight_ratios,
    ratios_by_batch_size,
)
from benchmarks.harness.grad_histogram import GROUPS
from mmdet_dghm.models.losses import DGHMCLoss

AP_P, AP_N, NP_N = (GROUPS.index(name) for name in ('AP_P', 'AP_N', 'NP_N'))


def _batch(copies: int = 1):
    """AP_N: 17 inliers at g = 0.05 (bin 0) and 3 outliers at g = 0.95 (bin 9); clean: 16
    NP_N inliers at g = 0.05 and 4 AP_P outliers at g = 0.95; every element ``copies``
    times."""
    g = np.array([0.05] * 17 + [0.95] * 3 + [0.05] * 16 + [0.95] * 4)
    group = np.array([AP_N] * 20 + [NP_N] * 16 + [AP_P] * 4)
    return np.tile(g, copies), np.tile(group, copies)


def _closed_forms(copies: int):
    """10 bins, mu_n = 2, mu_c = 0.5, M = 2. Paper: a bin of inliers carries 1 / (M * 10) in
    all, R outliers R / (M * (10 R) ** gamma): noisy 1 / (M * 100 R), clean sqrt(R / 10) / M;
    ratios 1 / (10 R) and sqrt(10 R). Normalized (group size N): GD' = 10 R / N and each
    weight divided by N, so the outliers carry N / (M * 100 R) (noisy) and sqrt(R / (10 N))
    / M (clean); ratios N / (10 R) and sqrt(10 R / N)."""
    noisy_r, clean_r, size = 3 * copies, 4 * copies, 20 * copies
    paper = dict(noisy=1 / (10 * noisy_r), clean=np.sqrt(10 * clean_r))
    normalized = dict(noisy=size / (10 * noisy_r), clean=np.sqrt(10 * clean_r / size))
    return paper, normalized


@pytest.mark.parametrize('copies', [1, 2, 5])
def test_paper_ratios_move_with_the_batch_normalized_keep_them(copies):
    g, group = _batch(copies)
    paper, normalized = _closed_forms(copies)
    assert outlier_weight_ratios(g, group, DGHMCLoss(density='paper')) == pytest.approx(
        paper, rel=1e-5)
    assert outlier_weight_ratios(g, group, DGHMCLoss(density='normalized')) == pytest.approx(
        normalized, rel=1e-5)
    # Normalized: those of one copy, 20 / 30 and sqrt(2). Paper: (k copies) ** (1 - gamma).
    assert normalized == pytest.approx(dict(noisy=2 / 3, clean=np.sqrt(2)))
    assert paper['noisy'] == pytest.approx(_closed_forms(1)[0]['noisy'] / copies)
    assert paper['clean'] == pytest.approx(_closed_forms(1)[0]['clean'] * np.sqrt(copies))


def test_ratio_of_a_group_without_inliers_is_nan():
    g, group = np.array([0.2, 0.95]), np.array([NP_N, AP_P])
    ratios = outlier_weight_ratios(g, group, DGHMCLoss())
    # Clean: one inlier in bin 2 weighs 1 / 10, one outlier 1 / sqrt(10).
    assert np.isnan(ratios['noisy']) and ratios['clean'] == pytest.approx(np.sqrt(10),
                                                                          rel=1e-5)


def test_draw_batches_keeps_the_composition():
    positive, negative = [0, 1, 2], [10, 11, 12, 13, 14, 15]
    batches = draw_batches(positive, negative, 8, 0.25, draws=4, seed=3)
    assert len(batches) == 4
    for batch in batches:
        assert len(set(batch.tolist())) == 8
        assert sum(i in positive for i in batch) == 2
    again = draw_batches(positive, negative, 8, 0.25, draws=4, seed=3)
    assert all((a == b).all() for a, b in zip(batches, again))
    with pytest.raises(ValueError, match='needs 1 positive and 7 negative tiles; there are 3 '
                                         'and 6'):
        draw_batches(positive, negative, 8, 0.125, draws=1)


def test_ratios_by_batch_size_on_copies_of_one_tile_pair():
    """Identical positive tiles and identical negative tiles: a batch of 8 holds exactly
    twice the elements of a batch of 4."""
    g, group = _batch()
    pos = (g[group != NP_N], group[group != NP_N])  # AP_N and AP_P
    neg = (np.full(16, 0.05), np.full(16, NP_N))
    tiles = [pos] * 4 + [neg] * 12
    ratios = ratios_by_batch_size(tiles, [4, 8], 0.25, draws=3, loss_kwargs={})
    for density in ('paper', 'normalized', 'rescaled'):
        for name in ('noisy', 'clean'):
            assert len(set(ratios[(density, name)][4].tolist())) == 1  # identical batches
            assert len(set(ratios[(density, name)][8].tolist())) == 1
    # Batch 8 = batch 4 twice over: the paper's ratios move by 2 ** (1 - gamma).
    assert ratios[('paper', 'noisy')][8][0] == pytest.approx(ratios[('paper', 'noisy')][4][0] / 2,
                                                             rel=1e-5)
    assert ratios[('paper', 'clean')][8][0] == pytest.approx(
        ratios[('paper', 'clean')][4][0] * np.sqrt(2), rel=1e-5)
    for name in ('noisy', 'clean'):
        assert ratios[('normalized', name)][8] == pytest.approx(
            ratios[('normalized', name)][4], rel=1e-5)
        # Rescaled to the batch of 4: the paper's ratios there, and at 8 too.
        assert ratios[('rescaled', name)][4] == pytest.approx(ratios[('paper', name)][4],
                                                             rel=1e-5)
        assert ratios[('rescaled', name)][8] == pytest.approx(ratios[('paper', name)][4],
                                                             rel=1e-5)


def test_tool_on_a_trained_smoke_model(smoke_dghmc_run, tmp_path):
    """Two iterations leave every score near the prior 0.01, so no negative is an outlier;
    the classifier's bias is set to logit(0.9) so that about half of them are."""
    run_dir = smoke_dghmc_run
    state = torch.load((run_dir / 'last_checkpoint').read_text().strip(), map_location='cpu',
                       weights_only=False)
    bias = state['state_dict']['bbox_head.retina_cls.bias']
    bias.fill_(float(np.log(0.9 / 0.1)))
    checkpoint = str(tmp_path / 'biased.pth')
    torch.save(state, checkpoint)
    out = tmp_path / 'scaling.md'
    tool = density_scaling
    assert tool.main([str(run_dir / 'config.py'), checkpoint, '--tile-size', '64',
                      '--max-tiles', '24', '--batch-sizes', '4', '8', '--draws', '3',
                      '--out', str(out)]) == 0
    text = out.read_text()
    rows = {tuple(c.strip() for c in line.split('|')[1:4]): line.split('|')[-2].strip()
            for line in text.splitlines() if line.startswith(('| initialised', '| trained'))}
    assert set(rows) == {(state, density, group) for state in ('initialised', 'trained')
                         for density in ('paper', 'normalized', 'rescaled')
                         for group in ('noisy', 'clean')}
    # Initialised at p = 0.01: every positive is a clean outlier, no negative a noisy one.
    assert rows[('initialised', 'paper', 'noisy')] == 'n/a'
    paper, normalized = (float(rows[('trained', d, 'noisy')]) for d in ('paper', 'normalized'))
    # Twice the elements: the paper's noisy ratio about halves, the normalized one stays.
    assert paper < 0.75
    assert abs(np.log(normalized)) < abs(np.log(paper))
    # The clean outliers' ratio grows about as sqrt(2) under the paper's form.
    assert float(rows[('trained', 'paper', 'clean')]) > 1.2
    assert abs(np.log(float(rows[('trained', 'normalized', 'clean')]))) < 0.1
    figure = tmp_path / 'figures' / 'scaling' / 'ratios.png'
    assert figure.stat().st_size > 1000
    assert '![outlier weight ratio vs batch size](figures/scaling/ratios.png)' in text
