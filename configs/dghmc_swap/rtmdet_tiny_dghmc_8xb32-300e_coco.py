# Drop-in swap for an existing mmdet RTMDet: QualityFocalLoss -> DGHM-C on RTMDet's IoU-aware
# soft targets (g = |p - t| and BCE with the soft t; an element with t > 0 is a positive).
# RTMDet's configs build RTMDetSepBNHead; its AdamW and schedule are unchanged.
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='DecoupledRTMDetSepBNHead', loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
