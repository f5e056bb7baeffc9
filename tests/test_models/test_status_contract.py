"""The contract of every status-aware loss on every family: two training iterations through the
real mmdet detector (``head_training``), and the stock loss wherever the status plays no part.

Each (family, loss) trains the family's tiny swap detector for two SGD steps on three images
(every class partial, class 1 partial, exhaustive), every classification gradient finite and
non-zero, the status reaching each loss from the metainfo (``test_decoupled_heads`` checks it
element by element). The same losses on three exhaustively annotated images must give exactly
their stock counterparts' values at both steps: nothing is noisy there.
"""
import pytest
from head_training import FAMILIES, train_two_iterations

FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)
CE = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
#: The base each family's stock classification loss has (focal, or CE for objectness and the
#: RoI heads); the status-aware losses are built on it.
BASE = {'retinanet': 'focal', 'fcos': 'focal', 'atss': 'focal', 'dino': 'focal',
        'faster-rcnn': 'ce', 'cascade-rcnn': 'ce', 'yolox': 'ce'}
#: YOLOX sums its objectness loss (and divides by the positives itself).
REDUCTION = {'yolox': dict(reduction='sum')}


def stock(family: str, base: str) -> list:
    """mmdet's own loss of ``base`` for each status path of the family: the C-channel sigmoid
    ``*CustomLoss`` for RoI classifiers (mmdet's form of a sigmoid RoI head)."""
    losses = []
    for path, _ in FAMILIES[family][1]:
        loss = dict(FOCAL if base == 'focal' else CE, **REDUCTION.get(family, {}))
        if path.startswith('roi_head'):
            custom = 'FocalCustomLoss' if base == 'focal' else 'CrossEntropyCustomLoss'
            loss = dict(loss, type=custom, num_classes=3)
        losses.append(loss)
    return losses


def ours(family: str, loss: dict) -> list:
    return [dict(loss, use_sigmoid=True, **REDUCTION.get(family, {}))
            for _ in FAMILIES[family][1]]


def lower(values, reference):
    """The noisy negatives' terms are gone, nothing else."""
    return values[0] < reference[0]


def different(values, reference):
    """The second step tells them apart where the first cannot (the RPN at p = 1/2, where
    CE's l+ = l- and PU's correction of the positives vanishes; its gradient does not)."""
    return values != pytest.approx(reference, rel=1e-5)


def recalibrated(values, reference):
    return values[0] != pytest.approx(reference[0], rel=1e-3)


#: name: (config given the base, the base its values are compared with (None: no stock
#: counterpart), how they differ on the mixed batch; on the exhaustive one they are equal)
LOSSES = {
    'dghmc': (lambda base: dict(type='DGHMCLoss', normalize='mass'), None, None),
    'cleanonly': (lambda base: dict(type='CleanOnlyLoss', base=base), 'same', lower),
    'pu': (lambda base: dict(type='PULoss', base=base, prior=0.01), 'same', different),
    'pu-missing-ascent': (lambda base: dict(type='PULoss', base=base, missing_rate=0.5,
                                            mode='pu', correction='ascent'), 'same', different),
    # A threshold above 1 - p at initialisation (p = 0.01 under the focal bias, 1/2 for the
    # RPN): the mirrored branch runs from the first step. Focal loss where nothing is noisy.
    'brl': (lambda base: dict(type='BackgroundRecalibrationLoss', mode='partial', thresh=1.0),
            'focal', recalibrated),
}
CASES = [(family, loss) for family in sorted(BASE) for loss in LOSSES] + [('rtmdet', 'dghmc')]


@pytest.mark.parametrize('family, loss', CASES)
def test_status_loss_trains_every_family_and_is_stock_where_nothing_is_noisy(family, loss):
    config, equivalent, differs = LOSSES[loss]
    base = BASE.get(family, 'focal')
    losses = ours(family, config(base))
    values = train_two_iterations(family, losses)
    assert values[0] > 0 and values[1] != values[0]
    if equivalent is None:
        return
    reference = stock(family, base if equivalent == 'same' else equivalent)
    assert differs(values, train_two_iterations(family, reference))
    assert train_two_iterations(family, losses, 'exhaustive') == \
        pytest.approx(train_two_iterations(family, reference, 'exhaustive'), rel=1e-5)
