# RetinaNet R-50 FPN 1x with DGHM-C on LVIS v1 boxes: a class is noisy in an image where LVIS
# leaves it unverified or flags it not exhaustive (PartialLVISV1Dataset), 1203 classes,
# class-balanced sampling and 300 detections per image as in mmdet's LVIS configs.
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py',
    '../_base_/datasets/partial_lvis_v1_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
model = dict(
    bbox_head=dict(type='DecoupledRetinaHead', num_classes=1203,
                   loss_cls=dict(_delete_=True, type='DGHMCLoss', use_sigmoid=True,
                                 normalize='mass')),
    test_cfg=dict(score_thr=0.0001, max_per_img=300))
