# One round of offline self-training over CE: a trained CE model
# (retinanet_r18-light_fpn_ce_digestpath.py) labels the missing cells of its training images
# with tools/pseudo_label.py, and this model, the same CE detector, trains from scratch on the
# result (train_dataloader.dataset.data_root=OUT; drop_rate=0 when the labelling wrote a
# missing rate out, --materialise-drop). `pseudo_label_cfg` holds the tool's settings, the CE
# teacher's (retinanet_r18-light_fpn_teacher-ce_digestpath.py): pseudo-cells from 0.4, a
# detection with IoU 0.3 on an annotated cell is that cell, at most 2.33 per annotated cell.
# VOC XML has no ignored boxes, so ignore_thr = pos_thr: the teacher's uncertain band
# (0.2-0.4) stays unlabelled here, a negative under CE.
_base_ = './retinanet_r18-light_fpn_ce_digestpath.py'
pseudo_label_cfg = dict(pos_thr=0.4, ignore_thr=0.4, iou_thr=0.3, max_per_annotated=2.33)
