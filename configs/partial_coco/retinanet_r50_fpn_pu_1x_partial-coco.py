# RetinaNet R-50 FPN 1x with PU learning (PNU risk) on a COCO-format json whose images declare
# their annotation status (PartialCocoDataset; `tools/mark_partial.py` writes it). The negatives
# of partial classes are unlabeled, those of exhaustively annotated images true negatives; the
# class prior follows each loss call's counts from `missing_rate`, the share of objects left
# unannotated in the partially annotated images: set your data's estimate. The base loss is
# focal, the stock RetinaNet's (the benchmark, benchmarks/analysis.md, measured PU on CE).
# Set `data_root`, `ann_file`, `data_prefix`, `metainfo=dict(classes=...)` and `num_classes`.
_base_ = './retinanet_r50_fpn_dghmc_1x_partial-coco.py'
model = dict(bbox_head=dict(loss_cls=dict(_delete_=True, type='PULoss', use_sigmoid=True, mode='pnu', missing_rate=0.5, base='focal')))  # noqa: E501
