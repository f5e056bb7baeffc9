"""The losses the benchmark compares: their keys, the report's order and labels.

Plain names, no recipe and no model, so that the report (a function of the result records)
and the run tools share them.
"""
from typing import Dict, Tuple

__all__ = ['LOSSES', 'METHODS', 'TEACHERS', 'SELF_TRAINING', 'BASELINE_VARIANTS',
           'TWO_STAGE_LOSSES', 'ALL_LOSSES', 'LOSS_LABELS', 'loss_label', 'loss_order']

#: Loss name -> config stem; ``<detector>_<variant>_fpn_<stem>_digestpath.py``.
LOSSES: Tuple[str, ...] = ('ce', 'focal', 'ghmc', 'sce', 'dghmc', 'dghmc-star')
#: The other partial-annotation methods (``--losses`` takes them; not run by default): noisy
#: negatives without loss, PU learning (a PNU risk), BRL on the noisy negatives.
METHODS: Tuple[str, ...] = ('cleanonly', 'pu', 'brl')
#: Pseudo-label mining: a PartialTeacher over CE and over PU (not run by default).
TEACHERS: Tuple[str, ...] = ('teacher-ce', 'teacher-pu')
#: One round of offline self-training -> the loss of its round one (not run by default): the
#: finished run of that loss with the same seed, fold and protocol labels its training images
#: (``tools/pseudo_label.py`` at the arm's ``pseudo_label_cfg``), and a run of that loss trains
#: from scratch on them (``benchmarks.harness.self_training``).
SELF_TRAINING: Dict[str, str] = {'selftrain-ce': 'ce', 'selftrain-pu': 'pu'}
#: Baselines in the form users know from elsewhere: GHM-C as mmdet's GHM RetinaNet config sets
#: it (per FPN level, 30 bins, momentum 0.75), where ``ghmc`` is DGHM-C's setting of GHM-C.
BASELINE_VARIANTS: Tuple[str, ...] = ('ghmc-mmdet', )
#: Arms of a two-stage detector (``--detector faster-rcnn``): DGHM-C on the RPN only, the RoI
#: head keeping its CE (``dghmc`` and ``pu`` there put the loss on both stages).
TWO_STAGE_LOSSES: Tuple[str, ...] = ('dghmc-rpn', )
#: Every loss the benchmark runs, in the report's order.
ALL_LOSSES: Tuple[str, ...] = (LOSSES[:3] + BASELINE_VARIANTS + LOSSES[3:4] + TWO_STAGE_LOSSES
                                + LOSSES[4:] + METHODS + TEACHERS + tuple(SELF_TRAINING))
LOSS_LABELS: Dict[str, str] = {
    'ce': 'CE', 'focal': 'Focal', 'ghmc': 'GHM-C', 'ghmc-mmdet': 'GHM-C (mmdet)', 'sce': 'SCE',
    'dghmc': 'DGHM-C', 'dghmc-star': 'DGHM-C*', 'cleanonly': 'Clean-only', 'pu': 'PU (PNU)',
    'brl': 'BRL', 'teacher-ce': 'Teacher (CE)', 'teacher-pu': 'Teacher (PU)',
    'dghmc-rpn': 'DGHM-C (RPN only)', 'selftrain-ce': 'Self-training (CE)',
    'selftrain-pu': 'Self-training (PU)'}


def loss_label(loss: str) -> str:
    """The report's label of a loss key (the key itself when it has none)."""
    return LOSS_LABELS.get(loss, loss)


def loss_order(loss: str) -> int:
    """Position of a loss in :data:`ALL_LOSSES` (unknown keys last)."""
    return ALL_LOSSES.index(loss) if loss in ALL_LOSSES else len(ALL_LOSSES)
