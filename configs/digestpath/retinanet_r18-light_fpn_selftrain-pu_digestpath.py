# One round of offline self-training over PU: retinanet_r18-light_fpn_selftrain-ce_digestpath.py
# with PU (retinanet_r18-light_fpn_pu_digestpath.py) labelling and training, at the PU
# teacher's settings (retinanet_r18-light_fpn_teacher-pu_digestpath.py): pseudo-cells from 0.6
# (PU restores the scores missing labels deflate under CE), IoU 0.3, at most 2.33 per
# annotated cell; ignore_thr = pos_thr, as VOC XML has no ignored boxes.
_base_ = './retinanet_r18-light_fpn_pu_digestpath.py'
pseudo_label_cfg = dict(pos_thr=0.6, ignore_thr=0.6, iou_thr=0.3, max_per_annotated=2.33)
