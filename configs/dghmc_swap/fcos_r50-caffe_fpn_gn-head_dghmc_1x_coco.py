# Drop-in swap for an existing mmdet FCOS: focal loss -> DGHM-C, nothing else changed.
# `_delete_=True` drops focal's `gamma` / `alpha`; `use_sigmoid=True` keeps the C-channel
# sigmoid output. DecoupledFCOSHead calls the loss once over all levels of the batch.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='DecoupledFCOSHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
