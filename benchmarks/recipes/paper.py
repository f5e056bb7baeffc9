# Benchmark recipe `paper`: paper section 4.2 geometry on the real half-scale split (tiles
# 800/300, crops 600, batch 8 with 2 positives, Adam 1e-4); whole images (about 1000 px)
# evaluated as 800 px tiles. Fields: benchmarks/harness/profiles.py::Profile.
variant = 'r18'
iters = 1000
batch_size = 8
pos_fraction = 0.25
crop_size = 600
train_tile = 800
train_stride = 300
val_tile = 800
val_stride = 600
lr = 1e-4
warmup_iters = 100
lr_step = 0.8
grad_clip = 35.0
num_workers = 2
log_interval = 20
syn_num_pos = 64
syn_num_neg = 96
syn_image_size = 1024
