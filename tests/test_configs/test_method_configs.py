"""The partial-annotation methods' DigestPath configs: one per CE variant, each a one-line swap.

For every ``retinanet_<variant>_fpn_ce_digestpath.py`` there is a clean-only, a PU and a BRL
(status-aware) config of the same variant; each differs from the CE config by the
classification loss only, in one ``loss_cls`` line, and builds a model through mmdet's registry
whose head feeds that loss the annotation status.
"""
import copy
import functools
import re
from pathlib import Path

import pytest
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

import mmdet_dghm  # noqa: F401  (registration)
from mmdet_dghm.models.losses import BackgroundRecalibrationLoss, CleanOnlyLoss, PULoss

CONFIG_DIR = Path(__file__).resolve().parents[2] / 'configs' / 'digestpath'
VARIANTS = sorted(re.fullmatch(r'retinanet_(.+)_fpn_ce_digestpath\.py', path.name).group(1)
                  for path in CONFIG_DIR.glob('retinanet_*_fpn_ce_digestpath.py'))
#: method: the loss class its config builds, and what it must configure.
METHODS = {
    'cleanonly': (CleanOnlyLoss, dict(base='ce')),
    'pu': (PULoss, dict(mode='pnu')),
    'brl': (BackgroundRecalibrationLoss, dict(mode='partial')),
}
SWAP_LINE = re.compile(r"model = dict\(bbox_head=dict\(loss_cls=dict\(_delete_=True, "
                       r"type='(\w+)', use_sigmoid=True(, \w+=[^,()]+)*\)\)\)  # noqa: E501")


def config_path(variant: str, method: str) -> Path:
    return CONFIG_DIR / f'retinanet_{variant}_fpn_{method}_digestpath.py'


@functools.lru_cache(maxsize=None)
def parse(path: Path) -> Config:
    return Config.fromfile(str(path))


def code_lines(path: Path) -> list:
    return [line for line in path.read_text().splitlines()
            if line.strip() and not line.startswith('#')]


def test_variants_are_found():
    assert VARIANTS == ['r18', 'r18-light']


@pytest.mark.parametrize('method', sorted(METHODS))
@pytest.mark.parametrize('variant', VARIANTS)
def test_config_is_the_ce_config_with_one_loss_line_swapped(variant, method):
    path = config_path(variant, method)
    ce_lines = code_lines(config_path(variant, 'ce'))
    lines = code_lines(path)
    assert len(lines) == len(ce_lines) == 2
    assert lines[0] == ce_lines[0]  # the same base
    assert SWAP_LINE.fullmatch(lines[1]).group(1) == METHODS[method][0].__name__
    cfg, ce = parse(path).to_dict(), copy.deepcopy(parse(config_path(variant, 'ce')).to_dict())
    loss_cfg = cfg['model']['bbox_head'].pop('loss_cls')
    del ce['model']['bbox_head']['loss_cls']
    assert cfg == ce
    # `_delete_=True`: nothing of the base's focal loss (gamma, alpha) leaks into the swap.
    assert loss_cfg['type'] == METHODS[method][0].__name__
    assert loss_cfg['use_sigmoid'] is True
    if method != 'brl':
        assert 'gamma' not in loss_cfg and 'alpha' not in loss_cfg


@pytest.mark.parametrize('method', sorted(METHODS))
@pytest.mark.parametrize('variant', VARIANTS)
def test_config_builds_a_model_feeding_the_loss_its_status(variant, method):
    register_all_modules()
    cfg = copy.deepcopy(parse(config_path(variant, method)))
    cfg.model.backbone.init_cfg = None  # no download
    model = MODELS.build(cfg.model)
    loss_cls, settings = METHODS[method]
    loss = model.bbox_head.loss_cls
    assert type(loss) is loss_cls
    assert {key: getattr(loss, key) for key in settings} == settings
    assert loss.use_sigmoid and model.bbox_head.cls_out_channels == 1
    assert type(model.bbox_head).__name__ == 'DecoupledRetinaHead'
    assert bool(model.bbox_head.status_taking_losses())


@pytest.mark.parametrize('variant', VARIANTS)
def test_pu_config_sets_exactly_one_source_of_the_prior(variant):
    cfg = parse(config_path(variant, 'pu'))
    loss_cfg = cfg.model.bbox_head.loss_cls
    assert ('prior' in loss_cfg) != ('missing_rate' in loss_cfg)
