# Benchmark recipe `cpu`: 2 CPU cores, light model, 256 px crops of 512 px tiles, batch 4
# (about 1.3 s per step), Adam 1e-3 with warm-up: from scratch, 1e-4 barely moves in a few
# hundred steps. Fields: benchmarks/harness/profiles.py::Profile.
variant = 'r18-light'
iters = 300
batch_size = 4
pos_fraction = 0.25
crop_size = 256
train_tile = 512
train_stride = 512
val_tile = 512
val_stride = 512
lr = 1e-3
warmup_iters = 50
lr_step = 0.8
grad_clip = 35.0
num_workers = 0
log_interval = 10
train_eval_max_images = 16
