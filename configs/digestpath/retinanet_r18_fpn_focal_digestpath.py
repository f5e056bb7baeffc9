# The reference of the loss comparison (paper Table 3): RetinaNet R-18 FPN with focal loss
# (from the model base) on DigestPath2019, Adam 1e-4, lr x0.1 at epochs 9 and 12, batch 8.
# Every other retinanet_r18_fpn_<loss>_digestpath.py inherits this file and changes only the
# classification loss line.
_base_ = [
    '../_base_/models/retinanet_r18_fpn_digestpath.py',
    '../_base_/datasets/digestpath.py',
    '../_base_/schedules/adam_14e.py',
    'mmdet::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
