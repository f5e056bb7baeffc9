"""How DGHM-C's weights move with the batch size, for the paper's density and the normalized one.

Eq. (10) weights an element of bin b of group k by 1 / (M * GD ** gamma) with GD = R[k, b] *
bins. The inliers of a bin (gamma = 1) share 1 / (M * bins) of weight whatever their number R,
but the outliers (g >= lambda) share R / (M * (R * bins) ** gamma): for the noisy group
(gamma = mu_n = 2) that is 1 / (M * R * bins ** 2), falling as the batch grows, and for the
clean group (gamma = mu_c = 0.5) sqrt(R / bins) / M, growing with it. The measure here is the
*outlier weight ratio* of each group: the harmonizing weight of its outliers over that of its
inliers, which for the paper's form scales as R ** (1 - gamma) when the batch grows and for the
normalized form does not when the batch's make-up stays the same; on batches drawn from a
model's training tiles in the batch composition of training (one positive tile for three
negatives). Noisy outliers are negatives of partially
annotated images scored high (suspected missed objects); clean outliers are mostly positives
the model scores low, which at initialisation (every score 0.01) is every positive.

The tiles are run once each through the model's head (its own assigner and flattening, as for
the gradient histograms); a batch of B tiles is the union of its tiles' elements, which is what
the loss receives for B same-sized tiles.
"""
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import mmengine.utils
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from mmengine.dataset import pseudo_collate

from mmdet_dghm.datasets.samplers.pos_neg_batch_sampler import positives_per_batch
from mmdet_dghm.models.losses import DGHMCLoss

from .grad_histogram import GROUPS, collect_gradient_norms, model_and_tiles

#: The density options compared; ``'rescaled'`` takes the smallest batch size as reference.
DENSITIES: Tuple[str, ...] = ('paper', 'normalized', 'rescaled')


#: The groups of DGHM-C (``decouple='noisy_clean'``) whose outlier weight ratio is measured.
RATIO_GROUPS: Tuple[str, ...] = ('noisy', 'clean')


def outlier_weight_ratios(g: np.ndarray, group: np.ndarray, loss: DGHMCLoss) -> Dict[str, float]:
    """Harmonizing weight of each DGHM-C group's outliers over that of its inliers.

    Args:
        g (np.ndarray): (M,) gradient norms of a batch's valid elements.
        group (np.ndarray): (M,) index into :data:`GROUPS` (AP_P, AP_N, NP_N) of each.
        loss (DGHMCLoss): The loss whose weights (density, mu_n, mu_c, lambda) are measured;
            its ``decouple`` must be ``'noisy_clean'`` (noisy = AP_N, clean = AP_P + NP_N).

    Returns:
        dict: ``'noisy'`` and ``'clean'``: sum of w over the group's elements with g >=
        lambda / sum of w over its elements with g < lambda; NaN for a group without inliers
        in the batch.
    """
    g_t = torch.as_tensor(g, dtype=torch.float32).view(-1, 1)
    group_t = torch.as_tensor(group).view(-1, 1)
    noisy = group_t == GROUPS.index('AP_N')
    target = (group_t == GROUPS.index('AP_P')).float()
    outlier = g_t >= loss.outlier_thr
    weights = loss.weights_of_gradient_norms(g_t.clone(), target, torch.ones_like(noisy),
                                             noisy.view(-1))
    ratios = {}
    for name, members in (('noisy', noisy), ('clean', ~noisy)):
        inliers = weights[members & ~outlier].sum()
        ratios[name] = (float(weights[members & outlier].sum() / inliers) if inliers > 0
                        else float('nan'))
    return ratios


def draw_batches(positive: Sequence[int], negative: Sequence[int], batch_size: int,
                 pos_fraction: float, draws: int, seed: int = 0) -> List[np.ndarray]:
    """Tile indices of ``draws`` batches, ``round(batch_size * pos_fraction)`` positive tiles
    and the rest negative, each drawn without replacement (seeded).

    Raises:
        ValueError: When the composition needs more tiles of a kind than there are.
    """
    num_pos = positives_per_batch(batch_size, pos_fraction)
    num_neg = batch_size - num_pos
    if num_pos > len(positive) or num_neg > len(negative):
        raise ValueError(f'draw_batches: a batch of {batch_size} needs {num_pos} positive and '
                         f'{num_neg} negative tiles; there are {len(positive)} and '
                         f'{len(negative)}')
    rng = np.random.default_rng(seed)
    return [np.concatenate([rng.choice(positive, num_pos, replace=False),
                            rng.choice(negative, num_neg, replace=False)]).astype(np.int64)
            for _ in range(draws)]


def ratios_by_batch_size(tiles: Sequence[Tuple[np.ndarray, np.ndarray]],
                        batch_sizes: Sequence[int], pos_fraction: float, draws: int,
                        loss_kwargs: dict, seed: int = 0
                        ) -> Dict[Tuple[str, str], Dict[int, np.ndarray]]:
    """The outlier weight ratios of ``draws`` batches per batch size, density and group.

    Args:
        tiles (Sequence[Tuple[np.ndarray, np.ndarray]]): Per tile, its elements' gradient
            norms and groups (:func:`collect_gradient_norms` of that tile alone). A tile with
            a positive element (AP_P or AP_N) is a positive tile.
        batch_sizes (Sequence[int]): Batch sizes B.
        pos_fraction (float): Share of positive tiles per batch.
        draws (int): Batches per batch size (the same draws for every density).
        loss_kwargs (dict): ``DGHMCLoss`` arguments besides ``density`` (mu_n, mu_c, ...).
        seed (int): Seed of the draws.

    Returns:
        dict: (density, group of :data:`RATIO_GROUPS`) -> B -> (draws,) ratios.
    """
    positive = [i for i, (_, group) in enumerate(tiles)
                if (group != GROUPS.index('NP_N')).any()]
    negative = sorted(set(range(len(tiles))) - set(positive))
    draws_by_size = {size: draw_batches(positive, negative, size, pos_fraction, draws,
                                        seed + size) for size in batch_sizes}
    # The rescaled form's reference: the mean element count of the smallest batches.
    reference = float(np.mean([sum(len(tiles[i][0]) for i in batch)
                               for batch in draws_by_size[min(batch_sizes)]]))
    losses = {d: DGHMCLoss(density=d, reference_size=reference if d == 'rescaled' else None,
                           **loss_kwargs).eval() for d in DENSITIES}
    ratios: Dict[Tuple[str, str], Dict[int, np.ndarray]] = {
        (d, name): {} for d in DENSITIES for name in RATIO_GROUPS}
    for size, batches in draws_by_size.items():
        elements = [(np.concatenate([tiles[i][0] for i in batch]),
                     np.concatenate([tiles[i][1] for i in batch])) for batch in batches]
        for density, loss in losses.items():
            per_batch = [outlier_weight_ratios(g, group, loss) for g, group in elements]
            for name in RATIO_GROUPS:
                ratios[(density, name)][size] = np.asarray([s[name] for s in per_batch])
    return ratios


def tile_elements(config: str, checkpoint: Optional[str], tile_size: int, max_tiles: int,
                  seed: int = 0) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Gradient norms and groups of each of ``max_tiles`` training tiles of a model (trained,
    or as initialised for training when ``checkpoint`` is None)."""
    model, dataset, chosen = model_and_tiles(config, checkpoint, tile_size=tile_size,
                                             max_tiles=max_tiles, seed=seed)
    tiles = []
    for index in mmengine.utils.track_iter_progress(chosen.tolist()):
        g, group, _ = collect_gradient_norms(model, [pseudo_collate([dataset[int(index)]])])
        tiles.append((g, group))
    return tiles


def plot_ratios(ratios: Dict[str, Dict[Tuple[str, str], Dict[int, np.ndarray]]], title: str,
                path: Path) -> None:
    """Median outlier weight ratio against the batch size: a panel per model state, a line per
    density and group (groups whose ratio is 0 at every size are left out of the log scale)."""
    fig = Figure(figsize=(5.0 * len(ratios), 3.8), dpi=90)
    FigureCanvasAgg(fig)
    for index, (state, by_key) in enumerate(ratios.items()):
        ax = fig.add_subplot(1, len(ratios), index + 1)
        for (density, name), by_size in by_key.items():
            sizes = sorted(by_size)
            means = np.array([np.nanmedian(by_size[s]) for s in sizes])
            if not (means > 0).any():
                continue
            ax.plot(sizes, means, marker='o',
                    linestyle={'paper': '-', 'normalized': '--'}.get(density, ':'),
                    label=f'{name} outliers, {density} density')
        ax.set_xscale('log', base=2)
        ax.set_yscale('log')
        ax.set_xlabel('tiles per batch (1 positive : 3 negative)')
        ax.set_ylabel('outlier / inlier weight of the group')
        ax.set_title(f'{title}: {state}', fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def ratios_table(ratios: Dict[str, Dict[Tuple[str, str], Dict[int, np.ndarray]]]) -> List[str]:
    """Markdown rows: per model state, density and group the median ratio at each batch size,
    and the ratio of the largest batch's to the smallest's (1 for a scale-free weight; n/a
    when the smallest is 0: no outliers of that group)."""
    sizes = sorted(next(iter(next(iter(ratios.values())).values())))
    lines = ['| Model | Density | Group | ' + ' | '.join(f'B = {s}' for s in sizes)
             + f' | B = {sizes[-1]} / B = {sizes[0]} |',
             '|---|---|---|' + '---|' * (len(sizes) + 1)]
    for state, by_key in ratios.items():
        for (density, name), by_size in by_key.items():
            means = [float(np.nanmedian(by_size[s])) for s in sizes]
            ratio = f'{means[-1] / means[0]:.3f}' if means[0] > 0 else 'n/a'
            lines.append(f'| {state} | {density} | {name} | '
                         + ' | '.join(f'{m:.2e}' for m in means) + f' | {ratio} |')
    return lines
