# PartialTeacher pieces for a COCO-format json with annotation status (PartialCocoDataset),
# under names of their own so that a config can inherit them beside a detector config:
#   _base_ = ['../dghmc_swap/<family>.py', '../_base_/partial_teacher_coco.py']
# and then wrap its model (see configs/partial_teacher/). Both views share the load and the
# resize; the student's adds a flip. Set `data_root`, `ann_file` and `classes` for your data.
# The detector config brings `custom_imports` (mmengine refuses a key set by two bases).

view_meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                  'flip_direction', 'homography_matrix', 'partially_annotated',
                  'partial_labels')
teacher_train_dataset = dict(
    _delete_=True,
    type='PartialCocoDataset',
    data_root='data/coco/',
    ann_file='annotations/instances_train2017.json',
    data_prefix=dict(img='train2017/'),
    filter_cfg=dict(filter_empty_gt=False, min_size=32),
    pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(1333, 800), keep_ratio=True),
        dict(type='MultiBranch',
             branch_field=['teacher', 'student'],
             teacher=[dict(type='PackDetInputs', meta_keys=view_meta_keys)],
             student=[dict(type='RandomFlip', prob=0.5),
                      dict(type='PackDetInputs', meta_keys=view_meta_keys)]),
    ])
# Pseudo-boxes from a teacher score of 0.7, after 5,000 iterations on the annotations alone.
# An uncertain band (ignore_thr < pos_thr) needs assigners that ignore boxes (ignore_iof_thr
# of MaxIoUAssigner / ATSSAssigner); without one, uncertain detections stay unlabelled.
semi_train_cfg = dict(burn_in_iters=5000, pos_thr=0.7, iou_thr=0.5)
# The teacher's hook replaces the family's own (EMA, pipeline switches: the views are fixed).
teacher_hooks = [dict(type='PartialTeacherHook', momentum=0.001)]
