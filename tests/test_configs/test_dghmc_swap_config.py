"""The drop-in swap: a stock mmdet RetinaNet config switched from focal to DGHM-C in one line."""
import copy
import math
from pathlib import Path

import mmdet
from mmengine.config import Config

SWAP = "configs/dghmc_swap/retinanet_r50_fpn_dghmc_1x_coco.py"
# The file `mmdet::retinanet/retinanet_r50_fpn_1x_coco.py` resolves to.
STOCK = Path(mmdet.__file__).parent / ".mim/configs/retinanet/retinanet_r50_fpn_1x_coco.py"


def without_swap(cfg: Config) -> dict:
    """The whole config minus what the swap changes, without mmengine's ``_scope_`` tags."""

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "_scope_"}
        if isinstance(node, (list, tuple)):
            return type(node)(strip(v) for v in node)
        return node

    d = strip(copy.deepcopy(cfg.to_dict()))
    del d["model"]["bbox_head"]["type"], d["model"]["bbox_head"]["loss_cls"]
    d.pop("custom_imports", None)
    return d


def test_swap_replaces_focal_without_leaking_its_arguments(repo_root):
    cfg = Config.fromfile(str(repo_root / SWAP))
    # No gamma / alpha / loss_weight inherited from focal: exactly the one line's dict.
    assert cfg.model.bbox_head.loss_cls.to_dict() == dict(type="DGHMCLoss", use_sigmoid=True)
    assert cfg.model.bbox_head.type == "DecoupledRetinaHead"
    assert cfg.custom_imports.to_dict() == dict(imports=["mmdet_dghm"], allow_failed_imports=False)
    stock = Config.fromfile(str(STOCK))
    assert stock.model.bbox_head.loss_cls.type == "FocalLoss"
    assert without_swap(cfg) == without_swap(stock)


def test_swap_builds_and_trains_a_step(repo_root, train_step, make_batch):
    cfg = Config.fromfile(str(repo_root / SWAP))
    # COCO pipelines carry no `partially_annotated`: the head falls back to "has boxes".
    log_vars = train_step(cfg, make_batch([None, None], boxes_on=[0]))
    for key in ("loss", "loss_cls", "loss_bbox"):
        assert math.isfinite(float(log_vars[key])), (key, log_vars)
    assert float(log_vars["loss_cls"]) > 0
