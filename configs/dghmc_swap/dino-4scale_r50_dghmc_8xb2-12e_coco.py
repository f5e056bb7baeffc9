# Drop-in swap for an existing mmdet DINO: focal loss -> DGHM-C, nothing else changed.
# `_delete_=True` drops focal's `gamma` / `alpha`; `use_sigmoid=True` keeps the C-channel
# sigmoid output. Every classification loss call (matching queries of each decoder layer,
# the encoder's proposals, denoising queries) gets each query its image's status; the
# Hungarian matching keeps its focal cost.
_base_ = 'mmdet::dino/dino-4scale_r50_8xb2-12e_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='DecoupledDINOHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
