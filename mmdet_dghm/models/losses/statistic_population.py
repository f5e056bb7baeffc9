"""Which rows share a loss's batch statistic: one loss call, one feature level, or the batch.

DGHM-C's gradient-density histogram (eq. 9-10, with the mass of its weights) and PU's class
prior, masses and risk are statistics of a set of rows, the *population* they are computed
over. Left to the head, the population is whatever one call of the loss holds: every FPN
level at once for DecoupledRetinaHead and FCOS, one level for ATSS, the RPN and RTMDet, one
decoder layer for DINO. The ``population`` option of those losses names it instead, with the
same meaning on every head:

- ``'call'``: the rows of one loss call, as the head makes them (the default);
- ``'level'``: the rows predicted from one feature level; the head names each row's level
  (dense heads from their per-level maps, RoI heads through their RoI extractor's level
  mapping). DINO's queries have no level, and its head refuses the option;
- ``'batch'``: every row of every call the head makes of the loss in one training step (all
  levels, all decoder layers). A head that calls the loss more than once per step first runs
  its loss computation without gradient to gather the statistic (the random state restored,
  so that samplers draw the same rows), then computes the losses with it: the targets are
  computed twice. A head that calls it once needs no first pass.

Statistics are sums over rows, so a population's is the sum of its rows' (:func:`population_sums`).
"""
from typing import List, Optional, Sequence

import torch
from torch import Tensor

#: The populations a batch statistic can be computed over (module docstring).
POPULATIONS = ('call', 'level', 'batch')


def check_population(population: str, loss_name: str) -> None:
    """Refuse a population outside :data:`POPULATIONS`.

    Raises:
        ValueError: Naming the loss, the value and the choices.
    """
    if population not in POPULATIONS:
        raise ValueError(f'{loss_name}: population must be one of {POPULATIONS}, got '
                         f'{population!r}')


def population_sums(values: Tensor, index: Optional[Tensor], size: int) -> Tensor:
    """Sum per-row values into one sum per population.

    Args:
        values (Tensor): (N, ...) the contribution of each row.
        index (Tensor, optional): (N,) int64 population of each row in [0, size); None puts
            every row in population 0.
        size (int): Number of populations.

    Returns:
        Tensor: (size, ...) sums, zero for a population without rows.
    """
    if index is None:
        return values.sum(0, keepdim=True)
    return values.new_zeros((size, ) + values.shape[1:]).index_add_(0, index, values)


def feature_level_index(level_of_rows: Sequence[int], device: torch.device) -> Tensor:
    """(sum(n_l),) the level l of each of ``n_l`` consecutive rows, levels in order.

    Args:
        level_of_rows (Sequence[int]): n_l, the rows of each level, in the order the rows come.
        device (torch.device): Device of the index.

    Returns:
        Tensor: int64 ``[0] * n_0 + [1] * n_1 + ...``.
    """
    counts = torch.as_tensor(list(level_of_rows), device=device)
    return torch.arange(len(counts), device=device).repeat_interleave(counts)


class BatchStatistic:
    """A ``'batch'`` population's statistic during one step of one head.

    ``gathering``: the head's first pass, each call adds its sums to :attr:`parts` and its
    loss is zero. Otherwise :attr:`value` holds the gathered statistic, or is None where the
    head calls the loss once per step (that call is the batch; a second one raises).

    Attributes:
        gathering (bool): Whether this is the first pass.
        parts (list[Tensor]): Sums of the calls of the first pass.
        value (Tensor, optional): The statistic of the batch.
        calls (int): Calls made without a gathered value.
    """

    def __init__(self, gathering: bool = False) -> None:
        self.gathering = gathering
        self.parts: List[Tensor] = []
        self.value: Optional[Tensor] = None
        self.calls = 0

    def gathered(self) -> Optional[Tensor]:
        """The sum of the gathered parts; None where no call had rows (the next pass's calls
        have none either, and return before using it)."""
        return torch.stack(self.parts).sum(0) if self.parts else None
