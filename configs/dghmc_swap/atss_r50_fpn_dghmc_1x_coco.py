# Drop-in swap for an existing mmdet ATSS: focal loss -> DGHM-C, nothing else changed.
# `_delete_=True` drops focal's `gamma` / `alpha`; `use_sigmoid=True` keeps the C-channel
# sigmoid output. DecoupledATSSHead keeps ATSS's per-level classification loss.
_base_ = 'mmdet::atss/atss_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='DecoupledATSSHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
