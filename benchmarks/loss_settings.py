"""The committed loss settings the report shows, as a data record: ``loss_settings.json``.

The report (``python -m benchmarks.report``) imports no model code, so what needs the losses
themselves is computed here and committed beside it: the gradient of each element-wise loss
(its committed config, ``loss_weight`` included) at RetinaHead's initial score, by autograd,
and the ``DGHMCLoss`` defaults a recipe's unset ``mu_noisy`` / ``mu_clean`` / ``momentum``
stand for. Rerun after changing a loss or its config::

    python -m benchmarks.loss_settings
"""
import argparse
import inspect
import json
import sys
from pathlib import Path
from typing import List, Optional

BENCH = Path(__file__).resolve().parent
OUT = BENCH / 'loss_settings.json'
#: Losses whose per-element gradient does not depend on the rest of the batch (GHM-C's and
#: DGHM-C's weights depend on the batch's gradient density).
ELEMENTWISE_LOSSES = ('ce', 'focal', 'sce')
#: ``DGHMCLoss`` arguments a benchmark recipe may leave unset (None).
DGHMC_ARGUMENTS = ('mu_noisy', 'mu_clean', 'momentum')


def loss_settings(variant: str = 'r18-light', prior: float = 0.01) -> dict:
    """The record: ``gradient_at_prior`` per element-wise loss (``config``, ``positive``,
    ``negative``: |dL/dx| of a positive and of a negative element scored at ``prior``) and
    ``dghmc_defaults``."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdet_dghm.models.losses import DGHMCLoss

    from .harness.grad_histogram import gradient_at_prior
    from .harness.runs import REPO, loss_config_path
    init_default_scope('mmdet')
    gradients = {}
    for loss in ELEMENTWISE_LOSSES:
        path = loss_config_path(loss, variant)
        pos, neg = gradient_at_prior(Config.fromfile(str(path)).model.bbox_head.loss_cls, prior)
        gradients[loss] = dict(config=str(path.relative_to(REPO)), positive=pos, negative=neg)
    parameters = inspect.signature(DGHMCLoss.__init__).parameters
    return dict(command='python -m benchmarks.loss_settings', variant=variant, prior=prior,
                gradient_at_prior=gradients,
                dghmc_defaults={name: parameters[name].default for name in DGHMC_ARGUMENTS})


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', type=Path, default=OUT)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    args.out.write_text(json.dumps(loss_settings(), indent=2) + '\n')
    print(f'{args.out}')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
