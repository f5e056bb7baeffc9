# Benchmark recipe `smoke`: seconds per run (128 px synthetic images, one tile each, a few
# steps), for tests. Fields: benchmarks/harness/profiles.py::Profile.
variant = 'r18-light'
iters = 4
batch_size = 4
pos_fraction = 0.25
crop_size = 96
train_tile = 128
train_stride = 128
val_tile = 128
val_stride = 128
lr = 1e-3
warmup_iters = 2
lr_step = 0.75
grad_clip = 35.0
num_workers = 0
log_interval = 1
syn_num_pos = 4
syn_num_neg = 4
syn_image_size = 128
syn_images_per_slide = 1
