# PartialTeacher over CE: the CE model of retinanet_r18-light_fpn_ce_digestpath.py as the
# student, its EMA as the teacher. The teacher sees the plain crop, the student the crop
# flipped and turned as every other config trains; the teacher's detections on partially
# annotated images (the positive ones: negative images are exhaustive) that overlap no
# annotated cell become cells from 0.4 and ignored boxes from 0.2 (the base model's assigner
# ignores anchors on them, ignore_iof_thr=0.5). Scores are low where most cells are missing:
# a model trained on labels that miss 70% of the cells scores a cell about 0.3. At most 2.33
# pseudo-cells per annotated cell of a crop (0.7 / 0.3 at a 70% missing rate): unbounded, the
# teacher's pseudo-cells grew from 7 to 150 per iteration after the step at 4,000 while their
# share on removed cells fell from 0.5 to 0.1. 2,000 iterations on the annotations alone,
# then an EMA of momentum 0.01.
_base_ = './retinanet_r18-light_fpn_ce_digestpath.py'

detector = _base_.model
model = dict(
    _delete_=True,
    type='PartialTeacher',
    detector=detector,
    data_preprocessor=dict(type='MultiBranchDataPreprocessor',
                           data_preprocessor=detector.data_preprocessor),
    semi_train_cfg=dict(burn_in_iters=2000, pos_thr=0.4, ignore_thr=0.2, iou_thr=0.3,
                        max_per_annotated=2.33),
    semi_test_cfg=dict(predict_on='student'))

view_meta_keys = _base_.meta_keys + ('partial_labels', 'homography_matrix')
train_pipeline = [
    dict(type='LoadDigestPathTile', cache_size=4, decoded_dir=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomTileCrop', crop_size=600, min_visible=0.5),
    dict(type='MultiBranch',
         branch_field=['teacher', 'student'],
         teacher=[dict(type='PackDetInputs', meta_keys=view_meta_keys)],
         student=[
             dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
             dict(type='RandomRot90'),
             dict(type='PackDetInputs', meta_keys=view_meta_keys)]),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='PixelSizeHook'), dict(type='PartialTeacherHook', momentum=0.01)]
