# Drop-in swap for an existing mmdet YOLOX: the objectness loss, where YOLOX's negatives are,
# sigmoid CE -> DGHM-C (class-agnostic: a negative prior is noisy when its image has any partial
# label); the class, box and L1 losses only see matched priors and are unchanged.
_base_ = 'mmdet::yolox/yolox_s_8xb8-300e_coco.py'
custom_imports = dict(imports=['mmdet_dghm'], allow_failed_imports=False)
model = dict(bbox_head=dict(type='DecoupledYOLOXHead', loss_obj=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True, normalize='mass')))  # noqa: E501
