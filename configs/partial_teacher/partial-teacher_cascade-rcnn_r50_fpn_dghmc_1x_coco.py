# PartialTeacher around its ../dghmc_swap config (pieces: ../_base_/partial_teacher_coco.py).
_base_ = ['../dghmc_swap/cascade-rcnn_r50_fpn_dghmc_1x_coco.py', '../_base_/partial_teacher_coco.py']  # noqa: E501
model = dict(_delete_=True, type='PartialTeacher', detector=_base_.model, data_preprocessor=dict(type='MultiBranchDataPreprocessor', data_preprocessor=dict(_base_.model.data_preprocessor, batch_augments=None)), semi_train_cfg=_base_.semi_train_cfg)  # noqa: E501
train_dataloader = dict(dataset=_base_.teacher_train_dataset)
custom_hooks = _base_.teacher_hooks
