"""DGHMCLoss ``density``: the paper's eq. (10) against counts normalised by the group's size
and counts rescaled to a reference batch."""
import pytest
import torch

import mmdet_dghm  # noqa: F401  (registers the losses)
from mmdet_dghm.models.losses import DGHMCLoss
from mmdet_dghm.models.losses.dghm_loss import normalized_weight_table, rescaled_weight_table


def noisy_batch(copies: int = 1):
    """Negatives of partially annotated images (the noisy group, M = 1): 3 inliers (g = 0.5,
    bin 5) and 2 outliers (g ~ 0.99, bin 9), repeated ``copies`` times."""
    logits = torch.tensor([[0.0], [0.0], [0.0], [5.0], [5.0]]).repeat(copies, 1)
    target = torch.ones(len(logits), dtype=torch.long)  # background of one class
    partial = torch.ones(len(logits), dtype=torch.bool)
    return logits, target, partial


def terms(density: str, copies: int, mu_noisy: float = 2.0, **kwargs) -> torch.Tensor:
    loss = DGHMCLoss(mu_noisy=mu_noisy, density=density, reduction='none', **kwargs)
    return loss(*noisy_batch(copies)[:2], partial=noisy_batch(copies)[2])


def test_normalized_table_closed_form():
    counts = torch.tensor([[0, 4], [2, 6]])  # (K=2, bins=2); group sizes 4 and 8
    table = normalized_weight_table(counts, torch.tensor(2), torch.tensor([0.5, 2.0]), 2)
    # Slot bin * 4 + 2 * group + outlier; w = 1 / (M * N_k * (R * bins / N_k) ** gamma).
    expected = torch.tensor([
        0.0, 0.0, 1 / (2 * 8 * 0.5), 1 / (2 * 8 * 0.5 ** 2.0),  # bin 0
        1 / (2 * 4 * 2.0), 1 / (2 * 4 * 2.0 ** 0.5), 1 / (2 * 8 * 1.5),
        1 / (2 * 8 * 1.5 ** 2.0),  # bin 1
        0.0])
    torch.testing.assert_close(table, expected)


def split_sums(density: str, copies: int):
    """(inlier, outlier) sums of the loss terms."""
    values = terms(density, copies).flatten()
    outlier = noisy_batch(copies)[0].flatten() > 0
    return values[~outlier].sum().item(), values[outlier].sum().item()


def test_doubling_the_batch_leaves_the_normalized_loss_and_changes_the_papers():
    paper_once, paper_twice = split_sums('paper', 1), split_sums('paper', 2)
    norm_once, norm_twice = split_sums('normalized', 1), split_sums('normalized', 2)
    # Inliers (gamma = 1) keep their total in both forms.
    assert paper_twice[0] == pytest.approx(paper_once[0])
    assert norm_twice[0] == pytest.approx(norm_once[0])
    # Outliers: the paper's weight 1 / (R * bins) ** 2 drops by 4 when R doubles, so their
    # total drops by 2 ** (1 - mu_n) = 1/2; normalised, it is unchanged.
    assert paper_twice[1] == pytest.approx(0.5 * paper_once[1])
    assert norm_twice[1] == pytest.approx(norm_once[1])
    # Each normalized weight times the group's size is unchanged: 2 * w(2N) = w(N).
    torch.testing.assert_close(2 * terms('normalized', 2)[:5], terms('normalized', 1))


def test_normalized_equals_the_paper_when_gamma_is_one():
    torch.testing.assert_close(terms('normalized', 3, mu_noisy=1.0),
                               terms('paper', 3, mu_noisy=1.0))


def test_unknown_density_is_refused():
    with pytest.raises(ValueError, match='density'):
        DGHMCLoss(density='count')


def test_rescaled_table_closed_form():
    counts = torch.tensor([[0, 4], [2, 6]])  # 12 elements; reference 6: s = 1 / 2
    table = rescaled_weight_table(counts, torch.tensor(2), torch.tensor([0.5, 2.0]), 2, 6.0)
    # w = s / (M * (R * s * bins) ** gamma): counts 0, 2 / 1, 3 at bins = 2.
    expected = torch.tensor([
        0.0, 0.0, 0.5 / (2 * 2.0), 0.5 / (2 * 2.0 ** 2.0),  # bin 0
        0.5 / (2 * 4.0), 0.5 / (2 * 4.0 ** 0.5), 0.5 / (2 * 6.0), 0.5 / (2 * 6.0 ** 2.0),
        0.0])
    torch.testing.assert_close(table, expected)


def test_rescaled_is_the_paper_at_the_reference_size_and_keeps_it_at_any_other():
    # noisy_batch holds 5 elements per copy: at 5 the rescaled weights are the paper's.
    torch.testing.assert_close(terms('rescaled', 1, reference_size=5.0), terms('paper', 1))
    # Three copies: each element weighs a third, so each element's three copies sum to its
    # one-copy term, inliers and outliers alike.
    once, thrice = (terms('rescaled', k, reference_size=5.0).flatten() for k in (1, 3))
    torch.testing.assert_close(thrice.view(3, 5).sum(0), once)
    # The paper's outliers lose weight as the batch grows: k ** (1 - mu_n) for k copies.
    paper_once, paper_thrice = terms('paper', 1).flatten(), terms('paper', 3).flatten()
    assert paper_thrice.view(3, 5)[:, 3:].sum().item() == pytest.approx(
        paper_once[3:].sum().item() / 3)


def test_rescaled_needs_its_reference_size():
    with pytest.raises(ValueError, match="reference_size is required by, and only used with, "
                                         "density='rescaled'"):
        DGHMCLoss(density='rescaled')
    with pytest.raises(ValueError, match='only used with'):
        DGHMCLoss(density='paper', reference_size=100.0)
    with pytest.raises(ValueError, match='reference_size must be > 0'):
        DGHMCLoss(density='rescaled', reference_size=0.0)
